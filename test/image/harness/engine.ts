// The Docker engine and the images of the image tier: scripts/docker-engine.sh starts (or finds) the
// engine, scripts/base-image.sh builds and imports the base, and `docker build` builds the repo's
// Dockerfile on it. Free of vitest imports: the global setup runs outside the test workers.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../../../src/dev/local-cluster.ts';

export const ENGINE_SCRIPT = join(repoRoot, 'scripts/docker-engine.sh');
export const BASE_SCRIPT = join(repoRoot, 'scripts/base-image.sh');
/** The tag the tier builds the repo's Dockerfile into. */
export const IMAGE_TAG = 'cedana-operator:tier-test';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; stderr also goes to `log` when given. Never throws for a non-zero exit. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; log?: string; passStderr?: boolean } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = opts.log === undefined ? undefined : createWriteStream(opts.log, { flags: 'a' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
      log?.write(s);
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      log?.write(s);
      if (opts.passStderr === true) process.stderr.write(s);
    });
    child.on('error', (err) => {
      log?.end();
      resolve({ code: 127, stdout, stderr: `${stderr}${err.message}\n` });
    });
    child.on('close', (code) => {
      log?.end();
      resolve({ code, stdout, stderr });
    });
  });
}

/** The last line a script wrote that starts with its own `name: ` prefix, without it: its verdict. */
export function lastSay(stderr: string, name: string): string {
  const lines = stderr.split('\n').filter((l) => l.startsWith(`${name}: `));
  return (lines.at(-1) ?? stderr.trim().split('\n').at(-1) ?? '').replace(`${name}: `, '');
}

export interface Engine {
  dockerHost: string;
  /** Whether this run started the engine (else one was running and is left alone). */
  own: boolean;
  /** Stops the engine by its pid (when this run started it) and removes its state dir. Idempotent. */
  down: () => Promise<void>;
}

/** An engine of this run's own (scripts/docker-engine.sh up), or the one already running. */
export async function startEngine(): Promise<Engine> {
  // Short: the engine's unix sockets live in it (107 bytes at most).
  const dir = await mkdtemp('/tmp/cedana-docker-');
  let stopped = false;
  // Should this process die before its teardown, the watchdog of `up --watch-pid` takes the engine down.
  const down = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await run('sh', [ENGINE_SCRIPT, 'down', '--dir', dir]);
    await rm(dir, { recursive: true, force: true });
  };
  const r = await run('sh', [ENGINE_SCRIPT, 'up', '--dir', dir, '--watch-pid', String(process.pid)]);
  const last = r.stdout.trimEnd().split('\n').at(-1) ?? '';
  if (r.code !== 0 || !last.startsWith('DOCKER_HOST=')) {
    await down();
    throw new Error(`no Docker engine: ${lastSay(r.stderr, 'docker-engine') || `docker-engine.sh up exited ${String(r.code)}`}`);
  }
  return { dockerHost: last.slice('DOCKER_HOST='.length), own: !r.stderr.includes('using the engine at'), down };
}

/** The base image (scripts/base-image.sh load): built once per version, imported when the engine lacks it. */
export async function loadBaseImage(dockerHost: string): Promise<string> {
  const r = await run('sh', [BASE_SCRIPT, 'load'], { env: { ...process.env, DOCKER_HOST: dockerHost }, passStderr: true });
  const tag = r.stdout.trimEnd().split('\n').at(-1) ?? '';
  if (r.code !== 0 || !tag.includes(':')) throw new Error(`no base image: ${lastSay(r.stderr, 'base-image') || `base-image.sh load exited ${String(r.code)}`}`);
  return tag;
}

/** The docker client against the engine, to its end. */
export function docker(dockerHost: string, args: string[], log?: string): Promise<Run> {
  return run('docker', args, { env: { ...process.env, DOCKER_HOST: dockerHost }, ...(log === undefined ? {} : { log }) });
}

export interface Build {
  tag: string;
  seconds: number;
  /** Build steps in all, and those the engine's cache answered. */
  steps: number;
  cached: number;
  log: string;
}

/**
 * `docker build` of the repo's Dockerfile, the base given as NODE_IMAGE. Host networking: the engine
 * has no bridge, and npm ci in the build stage needs the npm registry.
 */
export async function buildImage(dockerHost: string, base: string, buildArgs: Record<string, string>): Promise<Build> {
  const logDir = join(repoRoot, '.tmp');
  mkdirSync(logDir, { recursive: true });
  const log = join(logDir, 'image-build.log');
  await rm(log, { force: true });
  const args = ['build', '--network', 'host', '--build-arg', `NODE_IMAGE=${base}`];
  for (const [k, v] of Object.entries(buildArgs)) args.push('--build-arg', `${k}=${v}`);
  args.push('-t', IMAGE_TAG, repoRoot);
  const started = performance.now();
  const r = await docker(dockerHost, args, log);
  const seconds = (performance.now() - started) / 1000;
  if (r.code !== 0) {
    const tail = `${r.stdout}${r.stderr}`.trimEnd().split('\n').slice(-40).join('\n');
    throw new Error(`docker build failed (exit ${String(r.code)}; the whole output is in ${log}):\n${tail}`);
  }
  // The legacy builder's "Step 3/26 :" and " ---> Using cache", or BuildKit's "#7 [build 3/8]" and "#7 CACHED".
  const out = `${r.stdout}\n${r.stderr}`;
  const legacy = (out.match(/^Step \d+\/\d+ : /gm) ?? []).length;
  const steps = legacy > 0 ? legacy : new Set(out.match(/^#\d+ \[[^\]]+\]/gm) ?? []).size;
  const cached = legacy > 0 ? (out.match(/^ ---> Using cache$/gm) ?? []).length : (out.match(/^#\d+ CACHED$/gm) ?? []).length;
  return { tag: IMAGE_TAG, seconds, steps, cached, log };
}

/** Size in bytes of an image, as the engine stores it (uncompressed). */
export async function imageSize(dockerHost: string, tag: string): Promise<number> {
  const r = await docker(dockerHost, ['image', 'inspect', tag, '--format', '{{.Size}}']);
  if (r.code !== 0) throw new Error(`docker image inspect ${tag}: ${r.stderr.trim()}`);
  return Number(r.stdout.trim());
}
