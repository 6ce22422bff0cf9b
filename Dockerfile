# cedana-operator image. Node 24 runs the TypeScript sources directly (type stripping): there is no
# compile step, so the build stage installs the full toolchain to type-check them, then keeps only the
# production dependencies for the runtime stage.
#   docker build --build-arg VERSION=0.1.0 -t ghcr.io/cedana/cedana-operator:0.1.0 .
# Only the built-in frontend's syntax: no `# syntax=` line, whose frontend image would be pulled.
# The tests (test/image/) build this very file with docker build and run the image with
# testcontainers; where no registry can be reached, the base comes from scripts/base-image.sh
# (Debian trixie and Node 24, the same layout) through --build-arg NODE_IMAGE=<that image>.

ARG NODE_IMAGE=node:24-trixie-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY bin ./bin
COPY scripts/with-node.sh ./scripts/with-node.sh
COPY src ./src
# The sources must type-check; then drop the dev dependencies, and the type declarations and source
# maps of the production ones (nothing reads them at run time: 40 of their 90 MB).
RUN npx tsc -p tsconfig.json && npm prune --omit=dev --no-audit --no-fund \
    && find node_modules -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \) -delete

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
RUN ln -s /app/bin/cedana-operator /usr/local/bin/cedana-operator \
    && mkdir /app/compile-cache && chown 1000:1000 /app/compile-cache
# The image's `node` user, by number so that runAsNonRoot can check it.
USER 1000:1000
# Node's compile cache of the operator's modules (stripped TypeScript and V8 code), made here by the
# user and with the flags that run it (Node keys it by both): the operator starts in half the time,
# 20 MiB smaller, and writes nothing at run time (the root filesystem is read-only).
ENV NODE_COMPILE_CACHE=/app/compile-cache
RUN cedana-operator run --help >/dev/null && test -n "$(ls -A /app/compile-cache)"
EXPOSE 8081
ENTRYPOINT ["cedana-operator"]
CMD ["run"]
