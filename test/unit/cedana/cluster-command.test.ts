// `cedana-operator cluster register NAME | list | delete ID` against the simulator, in-process.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterCommand } from '../../../src/commands/cluster.ts';
import { startSimulator, type RunningSimulator } from '../../../src/simulator/index.ts';

const TOKEN = 'cluster-command-token';
let sim: RunningSimulator;
let dir: string;

beforeAll(async () => {
  sim = await startSimulator({ token: TOKEN, profile: 'service', logger: pino({ level: 'silent' }) });
  dir = mkdtempSync(join(tmpdir(), 'cluster-command-'));
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

async function run(argv: string[], env: Record<string, string | undefined>) {
  let out = '';
  let err = '';
  const rc = await clusterCommand(argv, { stdout: (s) => (out += s), stderr: (s) => (err += s), env, timeoutMs: 2000 });
  return { rc, out, err };
}

describe('cedana-operator cluster', () => {
  it('register prints the id for CEDANA_CLUSTER_ID; again, the same id; list shows it', async () => {
    // The URL as Cedana's docs and chart write it.
    const env = { CEDANA_URL: `${sim.url}/v1`, CEDANA_AUTH_TOKEN: TOKEN };
    const first = await run(['register', 'prod-eu-1'], env);
    expect(first.rc).toBe(0);
    const id = first.out.trim();
    expect(first.out).toBe(`${id}\n`);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.err).toBe(`cluster 'prod-eu-1' is registered with Cedana at ${sim.url}: set CEDANA_CLUSTER_ID=${id}\n`);
    expect((await run(['register', 'prod-eu-1'], env)).out).toBe(`${id}\n`);

    const listed = await run(['list'], env);
    expect(listed.rc).toBe(0);
    const lines = listed.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+STATUS\s+LAST SYNC$/);
    expect(lines.slice(1).some((l) => l.startsWith(id) && l.includes('prod-eu-1') && l.includes('registered'))).toBe(true);

    expect((await run(['delete', id], env)).rc).toBe(0);
    expect((await run(['list'], env)).out).not.toContain(id);
  });

  it('reads the token from --cedana-token-file (or CEDANA_AUTH_TOKEN_FILE), and the URL from --cedana-url', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, `${TOKEN}\n`);
    const r = await run(['register', 'from-file', '--cedana-url', sim.url, '--cedana-token-file', file], { CEDANA_AUTH_TOKEN: 'ignored-when-a-file-is-given' });
    expect(r.rc).toBe(0);
    expect((await run(['list'], { CEDANA_URL: sim.url, CEDANA_AUTH_TOKEN_FILE: file })).out).toContain('from-file');
  });

  it('a bad token: one clear line, exit 1, the token never shown', async () => {
    const r = await run(['register', 'x'], { CEDANA_URL: sim.url, CEDANA_AUTH_TOKEN: 'wrong-secret-token' });
    expect(r.rc).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe(`cedana-operator cluster: Cedana at ${sim.url} rejected the token (401 Invalid API key): check CEDANA_AUTH_TOKEN or the token file\n`);
    expect(r.err).not.toContain('wrong-secret-token');
  });

  it('an unreachable URL: one clear line, exit 1', async () => {
    const r = await run(['list'], { CEDANA_URL: 'http://127.0.0.1:9/v1', CEDANA_AUTH_TOKEN: TOKEN });
    expect(r.rc).toBe(1);
    expect(r.err).toMatch(/^cedana-operator cluster: cannot reach Cedana at http:\/\/127\.0\.0\.1:9: Cedana GET \/v2\/cluster: network error.*ECONNREFUSED/);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
  });

  it('a URL that is not the Cedana API says so', async () => {
    const r = await run(['list'], { CEDANA_URL: `${sim.url}/somewhere/else`, CEDANA_AUTH_TOKEN: TOKEN });
    expect(r.rc).toBe(1);
    expect(r.err).toMatch(/404 Not Found.*is CEDANA_URL \(http:\/\/127\.0\.0\.1:\d+\/somewhere\/else\) the Cedana API\?/);
  });

  it.each([
    [[], {}, /expected register NAME, list or delete ID/],
    [['frobnicate'], {}, /expected register NAME, list or delete ID \(got 'frobnicate'\)/],
    [['register'], {}, /register needs a cluster NAME/],
    [['list', 'extra'], {}, /unexpected argument 'extra'/],
    [['list'], { CEDANA_AUTH_TOKEN: 't' }, /the Cedana URL is required: --cedana-url or CEDANA_URL/],
    [['list'], { CEDANA_URL: 'http://127.0.0.1:1' }, /a token is required/],
    [['list', '--cedana-token-file', '/nonexistent/token'], { CEDANA_URL: 'http://127.0.0.1:1' }, /cannot read the token file \/nonexistent\/token: ENOENT/],
    [['list'], { CEDANA_URL: 'not a url', CEDANA_AUTH_TOKEN: 't' }, /invalid Cedana client options: baseUrl/],
    [['list', '--bogus'], {}, /Unknown option '--bogus'/],
  ])('refuses %j with one line, exit 2', async (argv, env, message) => {
    const r = await run(argv, env);
    expect(r.rc).toBe(2);
    expect(r.err.split('\n')[0]).toMatch(message);
  });

  it('prints its help', async () => {
    const r = await run(['--help'], {});
    expect(r.rc).toBe(0);
    expect(r.out).toMatch(/CEDANA_CLUSTER_ID/);
  });
});
