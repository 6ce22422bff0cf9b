// The container image, built and run for real: `docker build` of the repo's Dockerfile on a Docker
// engine of the run's own (the base from scripts/base-image.sh, since no registry can be reached),
// its size and files measured, then started by testcontainers as the chart's Deployment would run
// it (args, env, mounted token, the service account's credentials, uid 1000, read-only root file
// system, no capabilities, no privilege escalation, the memory limit), against this tier's control
// plane and the Cedana simulator. Host networking, loopback only; Ryuk off (its image cannot be pulled).
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AppsV1Api, CoordinationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { helmBinary } from '../../scripts/manifests.ts';
import type { RunningSimulator } from '../../src/simulator/index.ts';
import { createTestNamespace, kubeConfig, kubeconfigPath, repoRoot, waitFor, type TestNamespace } from '../integration/harness/cluster.ts';
import { CLUSTER_ID, TOKEN, createCr, createPod, getCr, startTestSimulator, waitForPhase } from '../integration/harness/stack.ts';
import { buildImage, docker, imageSize, type Build } from './harness/engine.ts';
import { inventory, mb, productionPackages, type Inventory } from './harness/inventory.ts';
import { materialize, planContainer, SERVICE_ACCOUNT_DIR, type ContainerPlan } from './harness/pod.ts';

const exec = promisify(execFile);
const tier = inject('imageTier');
const CK = 'podcheckpoints';

describe.skipIf(tier.state === 'skipped')('the image tier', () => {
  it('has a Docker engine (its own, or one already running) and the base image', () => {
    if (tier.state === 'failed') throw new Error(`image tier: ${tier.reason ?? 'its setup failed'}`);
    expect(tier.dockerHost).toMatch(/^unix:\/\//);
    expect(tier.baseImage).toMatch(/^cedana-operator-base:trixie-node24\./);
    console.log(`image tier setup: engine ${String(tier.seconds.engine)} s, base image ${String(tier.seconds.baseImage)} s, control plane ${String(tier.seconds.controlPlane)} s`);
  });
});

/** A container with the settings testcontainers has no builder method for. */
class PodContainer extends GenericContainer {
  constructor(image: string, plan: ContainerPlan, binds: { source: string; target: string; readOnly: boolean }[]) {
    super(image);
    this.withNetworkMode('host')
      .withEnvironment(plan.env)
      .withBindMounts(binds.map((b) => ({ source: b.source, target: b.target, mode: b.readOnly ? 'ro' : 'rw' })));
    if (plan.args) this.withCommand(plan.args);
    if (plan.user !== undefined) this.withUser(plan.user);
    if (plan.capDrop.length > 0) this.withDroppedCapabilities(...plan.capDrop);
    if (plan.capAdd.length > 0) this.withAddedCapabilities(...plan.capAdd);
    if (plan.noNewPrivileges) this.withSecurityOpt('no-new-privileges:true');
    for (const m of plan.mounts.filter((x) => x.emptyDir)) this.withTmpFs({ [m.target]: 'rw,nosuid,nodev,size=64m' });
    this.hostConfig.ReadonlyRootfs = plan.readOnlyRootFilesystem;
    if (plan.memoryLimitBytes !== undefined) this.hostConfig.Memory = plan.memoryLimitBytes;
  }
}

describe.skipIf(tier.state !== 'ready')('the image', () => {
  const dockerHost = tier.dockerHost ?? '';
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string>; devDependencies: Record<string, string> };
  let build: Build;
  let work: string;
  let inv: Inventory;
  let sizes: { image: number; base: number };

  beforeAll(async () => {
    // For testcontainers: this engine; no Ryuk (an image from a registry); and the host is loopback
    // (else, seeing /.dockerenv, it looks for the bridge network's gateway, and there is no bridge).
    process.env.DOCKER_HOST = dockerHost;
    process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
    process.env.TESTCONTAINERS_HOST_OVERRIDE = '127.0.0.1';
    work = await mkdtemp(join(tmpdir(), 'cedana-image-'));
    const revision = await exec('git', ['-C', repoRoot, 'rev-parse', 'HEAD']).then(
      (r) => r.stdout.trim(),
      () => 'unknown',
    );
    build = await buildImage(dockerHost, tier.baseImage ?? '', { VERSION: pkg.version, REVISION: revision });
    sizes = { image: await imageSize(dockerHost, build.tag), base: await imageSize(dockerHost, tier.baseImage ?? '') };
    // A copy of the working directory, to measure what the image carries.
    const name = `cedana-image-inventory-${String(process.pid)}`;
    await docker(dockerHost, ['rm', '-f', name]);
    const created = await docker(dockerHost, ['create', '--name', name, '--network', 'none', build.tag]);
    if (created.code !== 0) throw new Error(`docker create: ${created.stderr}`);
    try {
      const cp = await docker(dockerHost, ['cp', `${name}:/app`, join(work, 'app')]);
      if (cp.code !== 0) throw new Error(`docker cp: ${cp.stderr}`);
    } finally {
      await docker(dockerHost, ['rm', '-f', name]);
    }
    inv = inventory(join(work, 'app'));
  }, 900_000);
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("is built by docker build from the repo, the base given as NODE_IMAGE; its config is the Dockerfile's", async () => {
    console.log(`docker build: ${build.seconds.toFixed(1)} s, ${String(build.cached)} of ${String(build.steps)} steps from the engine's cache (log: ${build.log})`);
    const r = await docker(dockerHost, ['image', 'inspect', build.tag, '--format', '{{json .Config}}']);
    const config = JSON.parse(r.stdout) as {
      User: string;
      Entrypoint: string[];
      Cmd: string[];
      WorkingDir: string;
      Env: string[];
      Labels: Record<string, string>;
      ExposedPorts: Record<string, unknown>;
    };
    expect(config.User).toBe('1000:1000');
    expect(config.Entrypoint).toEqual(['cedana-operator']);
    expect(config.Cmd).toEqual(['run']);
    expect(config.WorkingDir).toBe('/app');
    expect(config.Env).toEqual(expect.arrayContaining(['NODE_ENV=production', 'HTTP_BIND_ADDRESS=:8081']));
    expect(Object.keys(config.ExposedPorts)).toEqual(['8081/tcp']);
    expect(config.Labels['org.opencontainers.image.version']).toBe(pkg.version);
    expect(config.Labels['org.opencontainers.image.source']).toBe('https://github.com/cedana/cedana-operator');
  });

  it('carries the production dependencies, the entry point and the sources it runs: no dev dependency, no test', () => {
    const lines = [
      `image ${build.tag}: ${mb(sizes.image)} (uncompressed), of which the base ${mb(sizes.base)} and the operator's layers ${mb(sizes.image - sizes.base)}`,
      `  /app: ${mb(inv.bytes)} in ${String(inv.files)} files`,
      ...inv.entries.map((e) => `    ${e.name.padEnd(18)} ${mb(e.bytes).padStart(9)} ${String(e.files).padStart(6)} files`),
      `  ${String(inv.packages.length)} packages installed (production only); ${String(inv.own.filter((f) => f.startsWith('src/')).length)} source files`,
    ];
    if (inv.unreached.length > 0) lines.push(`  sources carried that src/cli.ts does not reach (wire them in, or leave them out in .dockerignore): ${inv.unreached.join(', ')}`);
    console.log(lines.join('\n'));

    expect(inv.entries.map((e) => e.name)).toEqual(['bin', 'compile-cache', 'node_modules', 'package-lock.json', 'package.json', 'scripts', 'src']);
    // Node's compile cache, made at build time by the user that runs the operator (Node keys it by uid).
    const caches = readdirSync(join(work, 'app/compile-cache'));
    expect(
      caches.filter((d) => d.endsWith('-1000')),
      caches.join(', '),
    ).toHaveLength(1);
    expect(readdirSync(join(work, 'app/compile-cache', caches.find((d) => d.endsWith('-1000')) ?? '')).length).toBeGreaterThan(100);
    expect(inv.own.filter((f) => f.startsWith('scripts/'))).toEqual(['scripts/with-node.sh']);
    expect(inv.own.filter((f) => f.startsWith('bin/'))).toEqual(['bin/cedana-operator']);
    // No tests, no fixtures, nothing only the generators read.
    for (const f of inv.own) expect(f, f).not.toMatch(/(^|\/)(test|tests|__tests__|fixtures)\/|\.(test|spec)\.[cm]?ts$/);
    for (const f of ['src/api/crds.ts', 'src/cedana/openapi-merge.ts']) expect(inv.own, f).not.toContain(f);
    // Every package the lockfile says production needs, and no other: no dev dependency.
    expect(inv.packages).toEqual(productionPackages(join(repoRoot, 'package-lock.json')));
    const production = new Set(inv.packages.map((p) => p.replace(/^.*node_modules\//, '')));
    for (const d of Object.keys(pkg.dependencies)) expect(production.has(d), `dependency ${d}`).toBe(true);
    for (const d of ['typescript', 'vitest', 'eslint', 'testcontainers', 'prettier']) expect(production.has(d), `dev dependency ${d}`).toBe(false);
    // Type declarations and source maps are left out (Dockerfile): nothing reads them at run time.
    expect(readdirSync(join(work, 'app/node_modules/@kubernetes/client-node/dist')).filter((f) => f.endsWith('.d.ts') || f.endsWith('.map'))).toEqual([]);
  });

  describe("run as the chart's Deployment runs it", () => {
    let releaseNs: TestNamespace;
    let workNs: TestNamespace;
    let sim: RunningSimulator;
    let plan: ContainerPlan;
    let container: StartedTestContainer | undefined;
    let logs = '';
    let httpUrl = '';
    const release = 'cedana-operator';
    const podName = 'cedana-operator-image-test';
    const helmEnv = (): NodeJS.ProcessEnv => ({ ...process.env, HELM_CACHE_HOME: join(work, 'helm/cache'), HELM_CONFIG_HOME: join(work, 'helm/config'), HELM_DATA_HOME: join(work, 'helm/data') });

    beforeAll(async () => {
      releaseNs = await createTestNamespace('image-release');
      workNs = await createTestNamespace('image-work');
      sim = await startTestSimulator();
      // The chart, installed as a user would (the CRDs are this tier's already).
      const values = join(work, 'values.yaml');
      writeFileSync(values, stringify({ cedana: { url: sim.url, clusterId: CLUSTER_ID, authToken: TOKEN }, crds: { enabled: false }, replicaCount: 1 }));
      await exec(await helmBinary(), ['install', release, join(repoRoot, 'charts/cedana-operator'), '--namespace', releaseNs.name, '-f', values, '--kubeconfig', kubeconfigPath()], { env: helmEnv() });

      // Its Deployment as the apiserver holds it, resolved as the kubelet would for one pod.
      const kc = kubeConfig();
      const core = kc.makeApiClient(CoreV1Api);
      const deploy = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: release, namespace: releaseNs.name });
      const pod = deploy.spec?.template.spec;
      const c = pod?.containers[0];
      if (!pod || !c) throw new Error('the Deployment has no container');
      const server = new URL(kc.getCurrentCluster()?.server ?? '');
      const caData = kc.getCurrentCluster()?.caData ?? '';
      plan = await planContainer(pod, c, {
        namespace: releaseNs.name,
        podName,
        apiserver: { host: server.hostname, port: server.port },
        secret: async (name, key) => Buffer.from((await core.readNamespacedSecret({ name, namespace: releaseNs.name })).data?.[key] ?? '', 'base64').toString(),
        configMap: async (name, key) => (await core.readNamespacedConfigMap({ name, namespace: releaseNs.name })).data?.[key] ?? '',
        serviceAccount: async () => {
          const sa = pod.serviceAccountName ?? 'default';
          const tr = await core.createNamespacedServiceAccountToken({ name: sa, namespace: releaseNs.name, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
          return { token: tr.status?.token ?? '', caCrt: Buffer.from(caData, 'base64').toString(), namespace: releaseNs.name };
        },
      });
      // The one difference from a pod: this container shares the host's network, so each address the
      // Deployment binds on all interfaces (":8081") becomes loopback, on a free port.
      for (const [k, v] of Object.entries(plan.env)) {
        if (/^(0\.0\.0\.0|\[::\])?:\d+$/.test(v)) plan.env[k] = `127.0.0.1:${String(await freePort())}`;
      }
      httpUrl = `http://${plan.env.HTTP_BIND_ADDRESS ?? ''}`;
      expect(httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

      const binds = materialize(plan, join(work, 'volumes'));
      container = await new PodContainer(build.tag, plan, binds)
        .withLogConsumer((stream) => {
          stream.setEncoding('utf8');
          stream.on('data', (s: string) => (logs += s));
        })
        .withWaitStrategy(Wait.forLogMessage(/"msg":"operator started"/))
        .withStartupTimeout(60_000)
        .start();
    }, 240_000);

    afterAll(async () => {
      // Whatever beforeAll got to (it may have failed half way).
      const started = { container, sim: sim as RunningSimulator | undefined, workNs: workNs as TestNamespace | undefined, releaseNs: releaseNs as TestNamespace | undefined };
      if (started.container) await docker(dockerHost, ['rm', '-f', started.container.getId()]);
      await started.sim?.close();
      await exec(await helmBinary(), ['uninstall', release, '--namespace', releaseNs.name, '--kubeconfig', kubeconfigPath()], { env: helmEnv() }).catch(() => undefined);
      await started.workNs?.cleanup();
      await started.releaseNs?.cleanup();
    }, 120_000);

    const inspect = async (): Promise<{ State: { Pid: number; ExitCode: number; Running: boolean; OOMKilled: boolean }; HostConfig: Record<string, unknown>; Config: { User: string } }> => {
      const r = await docker(dockerHost, ['inspect', container?.getId() ?? '']);
      return (JSON.parse(r.stdout) as never[])[0] as never;
    };

    it('answers /healthz and /readyz; runs as uid 1000 with no capabilities, no new privileges, seccomp, a read-only root and the memory limit', async () => {
      expect((await fetch(`${httpUrl}/healthz`)).status).toBe(200);
      await waitFor(async () => (await fetch(`${httpUrl}/readyz`)).status === 200, { what: 'readyz (caches synced under the ServiceAccount, in-cluster credentials)', timeoutMs: 30_000 });
      await waitFor(() => logs.includes('became leader'), { what: `the container to take the Lease; logs:\n${logs}`, timeoutMs: 30_000 });
      expect(await (await fetch(`${httpUrl}/metrics`)).text()).toContain('cedana_operator_leader 1');

      const info = await inspect();
      expect(plan.memoryLimitBytes).toBeGreaterThan(0);
      expect(info.HostConfig).toMatchObject({ NetworkMode: 'host', ReadonlyRootfs: true, CapDrop: ['ALL'], Memory: plan.memoryLimitBytes });
      expect(info.HostConfig.SecurityOpt).toContain('no-new-privileges:true');
      expect(plan).toMatchObject({ user: '1000:1000', runAsNonRoot: true, seccomp: 'RuntimeDefault', terminationGracePeriodSeconds: 30 });
      // The process itself, as the kernel sees it (pid 1 of the container is Node: exec all the way).
      const status = readFileSync(`/proc/${String(info.State.Pid)}/status`, 'utf8');
      const field = (k: string): string => new RegExp(`^${k}:\\s+(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '';
      const argv = readFileSync(`/proc/${String(info.State.Pid)}/cmdline`, 'utf8').split('\0');
      expect(argv.slice(0, 1)).toEqual(['node']);
      expect(argv).toEqual(expect.arrayContaining(['/app/src/cli.ts', ...(plan.args ?? [])]));
      expect(field('Uid').split(/\s+/)).toEqual(['1000', '1000', '1000', '1000']);
      expect(field('Gid').split(/\s+/)).toEqual(['1000', '1000', '1000', '1000']);
      for (const k of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) expect(field(k), k).toBe('0000000000000000');
      expect(field('NoNewPrivs')).toBe('1');
      expect(field('Seccomp')).toBe('2'); // a filter: the engine's default profile
      // Listening on loopback only.
      expect(
        listeningAddresses(info.State.Pid).every((a) => a.startsWith('127.') || a === '::1'),
        String(listeningAddresses(info.State.Pid)),
      ).toBe(true);
      // The credentials are the pod's: in-cluster config from the mounted service account.
      expect(plan.mounts.map((m) => m.target)).toEqual(expect.arrayContaining(['/var/run/secrets/cedana', SERVICE_ACCOUNT_DIR]));
      expect(plan.env.KUBECONFIG).toBeUndefined();
      expect(logs).not.toContain(TOKEN);
    });

    it('checkpoints: a PodCheckpoint reaches Ready through the containerised operator', async () => {
      await createPod(workNs.name, 'img-trainer-0');
      await createCr(workNs.name, CK, 'PodCheckpoint', 'img-trainer-0-ckpt', { podName: 'img-trainer-0' });
      const pc = await waitForPhase(workNs.name, CK, 'img-trainer-0-ckpt', ['Ready', 'Failed'], 60_000);
      expect(pc.status?.phase, pc.status?.message as string | undefined).toBe('Ready');
      expect(logs).toContain('checkpoint submitted to Cedana');
    });

    it('SIGTERM: the in-flight checkpoint finishes and the Lease is released, within terminationGracePeriodSeconds; nothing was written to the root file system', async () => {
      const { uid } = await createPod(workNs.name, 'img-trainer-1');
      const posts = sim.stats().calls['POST /v2/checkpoint/pod'] ?? 0;
      // The POST takes 3 s to answer: SIGTERM arrives while it is in flight.
      sim.setFaults({ latencyMs: 3_000, paths: ['POST /v2/checkpoint/pod'] });
      await createCr(workNs.name, CK, 'PodCheckpoint', 'img-trainer-1-ckpt', { podName: 'img-trainer-1' });
      await waitFor(() => (sim.stats().calls['POST /v2/checkpoint/pod'] ?? 0) > posts, { what: 'the checkpoint POST to arrive', timeoutMs: 30_000, intervalMs: 20 });

      const grace = plan.terminationGracePeriodSeconds;
      const t0 = performance.now();
      // As the kubelet: SIGTERM, then SIGKILL once the grace period is over.
      await container?.stop({ timeout: grace * 1000, remove: false });
      const seconds = (performance.now() - t0) / 1000;
      sim.setFaults({ latencyMs: 0, paths: [] });
      const info = await inspect();
      console.log(`SIGTERM to exit: ${seconds.toFixed(1)} s (grace ${String(grace)} s), exit code ${String(info.State.ExitCode)}`);
      expect(info.State.Running).toBe(false);
      expect(info.State.OOMKilled).toBe(false);
      expect(info.State.ExitCode, logs.split('\n').slice(-20).join('\n')).toBe(0); // 137 would be SIGKILL after the grace period
      expect(seconds).toBeLessThan(grace);
      expect(seconds).toBeGreaterThan(1); // it did wait for the POST's answer
      // The reconcile that was mid-POST recorded the answer before the process exited.
      const pc = await getCr(workNs.name, CK, 'img-trainer-1-ckpt');
      expect(pc.status?.actionId).toBeTypeOf('string');
      expect(sim.stats().checkpointActionsByPod[uid]).toEqual([pc.status?.actionId]);
      // The Lease is free for the next replica at once.
      const lease = await kubeConfig().makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'cedana-operator-leader', namespace: releaseNs.name });
      expect(lease.spec?.holderIdentity ?? '').toBe('');
      expect(logs).toContain('shutdown requested');
      expect(logs).toContain('released leadership');
      // Not one file added, changed or deleted in the container's own layer, but the mount points
      // the engine made before the start (/var/run is a link to /run).
      const diff = await docker(dockerHost, ['container', 'diff', container?.getId() ?? '']);
      expect(diff.code).toBe(0);
      const targets = plan.mounts.map((m) => m.target.replace(/^\/var\/run\//, '/run/'));
      const engineMade = (path: string): boolean => targets.some((t) => t === path || t.startsWith(`${path}/`));
      const changes = diff.stdout.split('\n').filter((l) => l.trim() !== '');
      expect(changes.length).toBeGreaterThan(0); // the mount points, so the diff is read
      expect(changes.filter((l) => !engineMade(l.slice(2)))).toEqual([]);
    });
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => {
        if (addr !== null && typeof addr === 'object') resolve(addr.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** The local addresses of the listening TCP sockets a process holds (host network: the host's tables). */
function listeningAddresses(pid: number): string[] {
  const inodes = new Set(
    readdirSync(`/proc/${String(pid)}/fd`)
      .map((fd) => {
        try {
          return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${String(pid)}/fd/${fd}`))?.[1];
        } catch {
          return undefined;
        }
      })
      .filter((x): x is string => x !== undefined),
  );
  const out: string[] = [];
  for (const [file, v6] of [
    ['/proc/net/tcp', false],
    ['/proc/net/tcp6', true],
  ] as const) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] !== '0A' || !inodes.has(f[9] ?? '')) continue;
      const hex = (f[1] ?? '').split(':')[0] ?? '';
      out.push(
        v6
          ? hex === '00000000000000000000000001000000'
            ? '::1'
            : hex === '0'.repeat(32)
              ? '::'
              : hex
          : (hex
              .match(/../g)
              ?.reverse()
              .map((b) => parseInt(b, 16))
              .join('.') ?? hex),
      );
    }
  }
  return out;
}
