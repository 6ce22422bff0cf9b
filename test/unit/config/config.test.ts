import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/config.ts';

const TOKEN = 'tok-9f8e7d6c-SECRET';
const base = { CEDANA_URL: 'https://acme.cedana.ai', CEDANA_AUTH_TOKEN: TOKEN, CEDANA_CLUSTER_ID: 'cluster-1' };
const dir = mkdtempSync(join(tmpdir(), 'cedana-config-test-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The ConfigError loadConfig throws; fails the test if it returns or throws something else. */
function configError(argv: string[], env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(argv, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`loadConfig(${JSON.stringify(argv)}) did not throw`);
}

describe('loadConfig', () => {
  it('applies the defaults', () => {
    const c = loadConfig([], base);
    expect(c).toMatchObject({
      cedanaUrl: 'https://acme.cedana.ai',
      cedanaToken: TOKEN,
      clusterId: 'cluster-1',
      workers: 16,
      pollInterval: 1000,
      pollIntervalMax: 10_000,
      cedanaTimeout: 10_000,
      leaderElect: true,
      namespaces: [],
      // README and --help both say 8081 (8080 is the simulator's default).
      httpBindAddress: '127.0.0.1:8081',
      logLevel: 'info',
    });
  });

  it('lets flags win over the environment', () => {
    const env = { ...base, WORKERS: '4', POLL_INTERVAL: '2s', CEDANA_CLUSTER_ID: 'from-env', LEADER_ELECT: 'true' };
    const c = loadConfig(['--workers', '8', '--poll-interval', '500ms', '--cluster-id', 'from-flag', '--leader-elect', 'false'], env);
    expect(c).toMatchObject({ workers: 8, pollInterval: 500, clusterId: 'from-flag', leaderElect: false });
    expect(loadConfig([], env)).toMatchObject({ workers: 4, pollInterval: 2000, clusterId: 'from-env', leaderElect: true });
  });

  it('parses durations and the namespace list', () => {
    const c = loadConfig(['--poll-interval-max', '1m30s', '--cedana-timeout', '2s', '--namespaces', 'team-a, team-b,,default'], base);
    expect(c.pollIntervalMax).toBe(90_000);
    expect(c.cedanaTimeout).toBe(2000);
    expect(c.namespaces).toEqual(['team-a', 'team-b', 'default']);
  });

  it.each([
    ['CEDANA_URL', 'cedanaUrl', /CEDANA_URL/],
    ['CEDANA_AUTH_TOKEN', 'cedanaToken', /CEDANA_AUTH_TOKEN/],
    ['CEDANA_CLUSTER_ID', 'clusterId', /CEDANA_CLUSTER_ID/],
  ] as const)('names %s when it is missing, in one line', (variable, field, hint) => {
    const { [variable]: _dropped, ...env } = base;
    const err = configError([], env);
    expect(err.message.startsWith(`${field}: `)).toBe(true);
    expect(err.message).toMatch(/required/);
    expect(err.message).toMatch(hint);
    expect(err.message).not.toContain('\n');
  });

  it('reads the token from a file, trimmed, in preference to CEDANA_AUTH_TOKEN', () => {
    const file = join(dir, 'token');
    writeFileSync(file, 'file-token-value\n');
    expect(loadConfig(['--cedana-token-file', file], base).cedanaToken).toBe('file-token-value');
    expect(loadConfig([], { ...base, CEDANA_AUTH_TOKEN_FILE: file }).cedanaToken).toBe('file-token-value');
  });

  it('says which token file it cannot read, and why, without any token', () => {
    const missing = join(dir, 'no-such-token');
    const err = configError(['--cedana-token-file', missing], base);
    expect(err.message).toBe(`cedanaToken: cannot read ${missing}: ENOENT`);
    expect(err.message).not.toContain(TOKEN);
  });

  it.each([
    [['--workers', 'abc']],
    [['--workers', '0']],
    [['--workers', '257']],
    [['--workers', '2.5']],
    [['--leader-elect', 'yes']],
    [['--poll-interval', '5']],
    [['--poll-interval', '3s', '--poll-interval-max', '2s']],
    [['--cedana-url', 'ftp://example.com']],
    [['--namespaces', 'Bad_NS']],
    [['--http-bind-address', 'localhost']],
    [['--log-level', 'loud']],
    [['--no-such-flag']],
    [['--cedana-token', TOKEN]],
  ])('refuses %j with a ConfigError that never carries the token', (argv) => {
    const err = configError(argv, base);
    expect(err.message).not.toContain(TOKEN);
    expect(err.message.length).toBeGreaterThan(0);
  });

  it("leaves Cedana's pod labels to Cedana's controller unless told to honour them, by flag or CEDANA_LABELS", () => {
    expect(loadConfig([], base).cedanaLabels).toBe('ignore');
    expect(loadConfig(['--cedana-labels', 'honour'], base).cedanaLabels).toBe('honour');
    expect(loadConfig([], { ...base, CEDANA_LABELS: 'honour' }).cedanaLabels).toBe('honour');
    expect(loadConfig(['--cedana-labels', 'ignore'], { ...base, CEDANA_LABELS: 'honour' }).cedanaLabels).toBe('ignore'); // the flag wins
    expect(loadConfig([], { ...base, CEDANA_LABELS: '' }).cedanaLabels).toBe('ignore'); // empty is unset
    for (const bad of ['honor', 'HONOUR', 'true', 'both']) {
      const err = configError(['--cedana-labels', bad], base);
      expect(err.message).toBe("cedanaLabels: must be honour (the operator acts on Cedana's pod labels) or ignore (Cedana's controller does)");
    }
    expect(configError([], { ...base, CEDANA_LABELS: 'on' }).message).toMatch(/^cedanaLabels: must be honour/);
  });

  it('names the setting that is wrong', () => {
    expect(configError(['--workers', '0'], base).message).toMatch(/^workers: /);
    expect(configError(['--workers', 'abc'], base).message).toMatch(/^workers: /);
    expect(configError(['--leader-elect', 'yes'], base).message).toBe('leaderElect: must be true or false, got "yes"');
    expect(configError(['--poll-interval', '5'], base).message).toMatch(/^pollInterval: must be a duration/);
    expect(configError(['--poll-interval', '20s'], base).message).toBe('pollIntervalMax: must not be shorter than pollInterval');
  });
});
