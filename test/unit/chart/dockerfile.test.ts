// The Dockerfile's shape, checked without a Docker engine: a build stage with the full toolchain, a
// slim Node 24 runtime stage as a non-root user with production dependencies only, the required
// ENTRYPOINT/CMD and labels, pinned base images given as one build argument, and a .dockerignore that
// lets in exactly what the build copies and leaves out only sources the entry point never reaches.
// (hadolint runs in test/integration/chart.test.ts; the real build and run, in test/image/.)
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dockerignore, execForm, filesUnder, last, parseCopy, parseDockerfile, reachableFrom, readDockerfile, relativeImports, substitute } from './dockerfile.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const { dockerfile, included } = readDockerfile(root);
const text = readFileSync(join(root, 'Dockerfile'), 'utf8');
const build = dockerfile.stages[0];
const runtime = dockerfile.stages.at(-1);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };

describe('Dockerfile', () => {
  it('is multi-stage: a named build stage, then the runtime stage', () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    expect(build?.name).toBe('build');
    expect(runtime?.name).toBeUndefined();
  });

  it('pins every base image to a Node 24 slim tag, never latest', () => {
    for (const stage of dockerfile.stages) {
      expect(stage.image, 'a FROM whose ARG has no default').not.toContain('$');
      expect(stage.image).toMatch(/^node:24(\.\d+){0,2}-[a-z]+-slim(@sha256:[a-f0-9]{64})?$/);
      expect(stage.image).not.toMatch(/:latest\b/);
    }
  });

  it('takes its base as one build argument, NODE_IMAGE, whose default is the public node:24-trixie-slim', () => {
    // Users build with the default; the image tier passes its locally built base (scripts/base-image.sh).
    expect(dockerfile.globalArgs.NODE_IMAGE).toBe('node:24-trixie-slim');
    const froms = text.split('\n').filter((l) => /^\s*FROM\s/i.test(l));
    expect(froms).toHaveLength(dockerfile.stages.length);
    for (const f of froms) expect(f).toMatch(/^FROM \$\{NODE_IMAGE\}( AS \w+)?$/);
  });

  it('has no `# syntax=` directive: BuildKit would pull its frontend image, and no registry may be needed', () => {
    expect(text).not.toMatch(/^#\s*syntax\s*=/im);
  });

  it('builds with the full toolchain: npm ci with dev dependencies, a type check, then only production dependencies', () => {
    const runs = (build?.instructions ?? []).filter((i) => i.cmd === 'RUN').map((i) => i.args);
    const ci = runs.findIndex((r) => /\bnpm ci\b/.test(r));
    expect(ci, 'npm ci in the build stage').toBeGreaterThanOrEqual(0);
    expect(runs[ci]).not.toMatch(/--omit=dev|--production/);
    const typecheck = runs.findIndex((r) => /\btsc\b/.test(r));
    expect(typecheck).toBeGreaterThanOrEqual(ci);
    expect(runs.slice(typecheck).join('\n')).toMatch(/npm prune --omit=dev/);
  });

  it('runs as a non-root numeric user, with ENTRYPOINT ["cedana-operator"] and CMD ["run"]', () => {
    if (runtime === undefined) throw new Error('no runtime stage');
    const user = last(runtime, 'USER') ?? '';
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(user.split(':')[0])).toBeGreaterThan(0);
    expect(execForm(last(runtime, 'ENTRYPOINT'))).toEqual(['cedana-operator']);
    expect(execForm(last(runtime, 'CMD'))).toEqual(['run']);
    expect(runtime.instructions.some((i) => i.cmd === 'HEALTHCHECK')).toBe(false); // Kubernetes probes do that
  });

  it('copies into the runtime stage only from the build stage: production node_modules, bin/, src/, package files', () => {
    if (runtime === undefined) throw new Error('no runtime stage');
    const copies = runtime.instructions.filter((i) => i.cmd === 'COPY').map((i) => parseCopy(i.args));
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) expect(c.from).toBe('build');
    const sources = copies.flatMap((c) => c.sources.map((s) => s.replace(/^\/src\//, '')));
    expect(sources).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'node_modules', 'bin', 'src', 'scripts/with-node.sh']));
    // nothing only the tests, the demo or the generators need
    for (const s of sources) expect(s).not.toMatch(/^(test|crds|openapi|charts|deploy|docs)\b/);
  });

  it('labels the image with its OCI source and version, the version defaulting to package.json', () => {
    if (runtime === undefined) throw new Error('no runtime stage');
    const args = Object.fromEntries(
      runtime.instructions
        .filter((i) => i.cmd === 'ARG')
        .map((i) => {
          const [k = '', v = ''] = i.args.split('=', 2);
          return [k, v];
        }),
    );
    const labels = runtime.instructions
      .filter((i) => i.cmd === 'LABEL')
      .map((i) => substitute(i.args, args))
      .join(' ');
    expect(labels).toMatch(/org\.opencontainers\.image\.source="https:\/\/github\.com\/cedana\/cedana-operator"/);
    expect(labels).toContain(`org.opencontainers.image.version="${pkg.version}"`);
  });

  it('.dockerignore lets in what the build stage copies from the context, and keeps out node_modules and the rest', () => {
    const fromContext = (build?.instructions ?? [])
      .filter((i) => i.cmd === 'COPY')
      .map((i) => parseCopy(i.args))
      .filter((c) => c.from === undefined);
    for (const c of fromContext) for (const s of c.sources) expect(included(s), `${s} is ignored but COPYed`).toBe(true);
    expect(included('src/operator.ts')).toBe(true);
    for (const p of ['node_modules/zod/package.json', '.git/HEAD', 'test/unit/api/crds.test.ts', 'scripts/local-cluster.sh', '.tmp/x', 'charts/cedana-operator/Chart.yaml', 'src/api/crds.ts']) {
      expect(included(p), p).toBe(false);
    }
  });

  it('.dockerignore leaves out of src/ only what src/cli.ts never reaches through its imports', () => {
    const reached = reachableFrom(root, 'src/cli.ts');
    expect(reached.has('src/operator.ts')).toBe(true);
    const left = filesUnder(root, 'src').filter((f) => !included(f));
    expect(left.length).toBeGreaterThan(0);
    for (const f of left) expect(reached.has(f), `${f} is imported (from src/cli.ts on) but .dockerignore leaves it out of the image`).toBe(false);
  });

  it('the reader itself: continuation lines, comments, ARG defaults, .dockerignore negation', () => {
    const d = parseDockerfile('# syntax=docker/dockerfile:1\nARG BASE=node:24-trixie-slim\nFROM ${BASE} AS build\nRUN a \\\n  # inside\n  && b\nFROM $BASE\nCMD ["run"]\n');
    expect(d.stages.map((s) => [s.image, s.name])).toEqual([
      ['node:24-trixie-slim', 'build'],
      ['node:24-trixie-slim', undefined],
    ]);
    expect(d.stages[0]?.instructions[0]).toMatchObject({ cmd: 'RUN', args: 'a && b', line: 4 });
    const ignore = dockerignore('*\n!src/\nsrc/**/*.test.ts\n');
    expect([ignore('src/a.ts'), ignore('src/x/a.test.ts'), ignore('README.md')]).toEqual([true, false, false]);
    expect(parseCopy('--from=build --chown=1:1 /src/a /src/b ./')).toEqual({ from: 'build', sources: ['/src/a', '/src/b'], dest: './' });
    expect(Object.keys(pkg.devDependencies)).toContain('typescript');
    const src =
      "import { a } from './a.ts';\nimport type { B } from '../b.ts';\nexport * from './c.ts';\nimport './d.ts';\n// import { x } from './commented.ts';\nconst e = await import('./e.ts');\nimport { z } from 'zod';\nimport {\n  f,\n} from './f.ts';\n";
    expect(relativeImports(src)).toEqual(['./a.ts', '../b.ts', './c.ts', './d.ts', './e.ts', './f.ts']);
  });
});
