// `cedana-operator simulator`: flags, clear one-line errors, and a clean stop.
import { describe, expect, it, vi } from 'vitest';
import { simulatorCommand } from '../../../src/simulator/cli.ts';
import { apiFor } from './helpers.ts';

async function run(argv: string[], env: Record<string, string | undefined> = {}) {
  let out = '';
  let err = '';
  const rc = await simulatorCommand(argv, { stdout: (s) => (out += s), stderr: (s) => (err += s), env });
  return { rc, out, err };
}

describe('simulator command', () => {
  it('prints its help', async () => {
    const { rc, out } = await run(['--help']);
    expect(rc).toBe(0);
    expect(out).toMatch(/--listen HOST:PORT/);
    expect(out).toMatch(/--drop-after-commit-rate/);
  });

  it.each([
    [['--token', 't', '--listen', 'nohost'], /--listen must be HOST:PORT/],
    [['--token', 't', '--listen', '0.0.0.0:8080'], /refusing to listen on non-loopback address 0\.0\.0\.0.*--allow-remote/],
    [['--listen', '127.0.0.1:0'], /a token is required: --token TOKEN or env CEDANA_AUTH_TOKEN/],
    [['--token', 't', '--error-rate', 'lots'], /--error-rate must be a number from 0 to 1 \(got 'lots'\)/],
    [['--token', 't', '--step-ms=-5'], /--step-ms must be a whole number/],
    [['--token', 't', '--step-ms', '-5'], /argument is ambiguous/],
    [['--token', 't', '--error-rate', '0.7', '--hang-rate', '0.5'], /must not exceed 1/],
    [['--token', 't', '--fault-paths', 'checkpoint/pod'], /METHOD \/path-template/],
    [['--token', 't', '--log-level', 'loud'], /--log-level must be one of/],
    [['--token', 't', '--what'], /Unknown option '--what'/],
  ])('refuses %j with a clear one-line error', async (argv, message) => {
    const { rc, err } = await run(argv);
    expect(rc).toBe(2);
    expect(err).toMatch(message);
    expect(err.split('\n')[0]).toMatch(/^cedana-operator simulator: /);
    expect(err.split('\n')[0]).toMatch(message);
  });

  it('serves until stopped, with the token from the environment and the faults from flags', async () => {
    const controller = new AbortController();
    let out = '';
    const done = simulatorCommand(['--listen', '127.0.0.1:0', '--log-level', 'silent', '--step-ms', '10', '--error-rate', '0', '--seed', '9', '--fault-paths', 'POST /v2/checkpoint/pod'], {
      stdout: (s) => (out += s),
      stderr: () => undefined,
      env: { CEDANA_AUTH_TOKEN: 'env-token' },
      signal: controller.signal,
    });
    await vi.waitFor(() => {
      expect(out).toMatch(/^cedana simulator listening on http:\/\/127\.0\.0\.1:\d+\n$/);
    });
    const url = out.trim().split(' ').at(-1) ?? '';
    const api = apiFor(url, 'env-token');
    expect((await api.get('/v2/actions')).status).toBe(200);
    expect((await api.get('/_sim/faults')).json).toMatchObject({ seed: 9, paths: ['POST /v2/checkpoint/pod'] });
    controller.abort();
    expect(await done).toBe(0);
    await expect(fetch(`${url}/v2/actions`)).rejects.toThrow();
  });
});
