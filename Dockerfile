# syntax=docker/dockerfile:1
# cedana-operator image. Node 24 runs the TypeScript sources directly (type stripping): there is no
# compile step, so the build stage installs the full toolchain to type-check them, then keeps only the
# production dependencies for the runtime stage.
#   docker build --build-arg VERSION=0.1.0 -t ghcr.io/cedana/cedana-operator:0.1.0 .
# test/integration/chart.test.ts installs and starts exactly what the runtime stage copies.

ARG NODE_IMAGE=node:24-trixie-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY bin ./bin
COPY scripts/with-node.sh ./scripts/with-node.sh
COPY src ./src
# The sources must type-check; then drop the dev dependencies.
RUN npx tsc -p tsconfig.json && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="cedana-operator" \
      org.opencontainers.image.description="Kubernetes operator that drives pod checkpoint/restore through the Cedana API" \
      org.opencontainers.image.source="https://github.com/cedana/cedana-operator" \
      org.opencontainers.image.url="https://cedana.ai" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="Cedana"
ENV NODE_ENV=production \
    HTTP_BIND_ADDRESS=:8081
WORKDIR /app
# Owned by root, read-only for the operator's user: the operator writes nothing to disk.
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/bin ./bin
# bin/cedana-operator finds Node through it (the image's own Node 24; nothing is fetched).
COPY --from=build /src/scripts/with-node.sh ./scripts/with-node.sh
COPY --from=build /src/src ./src
RUN ln -s /app/bin/cedana-operator /usr/local/bin/cedana-operator
# The image's `node` user, by number so that runAsNonRoot can check it.
USER 1000:1000
EXPOSE 8081
ENTRYPOINT ["cedana-operator"]
CMD ["run"]
