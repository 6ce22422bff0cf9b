// `cedana-operator cluster register NAME | list | delete ID`: registers this cluster with Cedana and
// prints the id that goes into CEDANA_CLUSTER_ID. The same URL and token settings as `run`.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CedanaApiError } from '../cedana/errors.ts';
import { CedanaClient } from '../cedana/client.ts';

export const CLUSTER_HELP = `Usage: cedana-operator cluster <register NAME | list | delete ID> [flags]

Registers a cluster with Cedana (or finds the one of that name again) and prints its id: put it in
CEDANA_CLUSTER_ID (or --cluster-id of \`run\`). \`list\` shows the registered clusters.

  --cedana-url URL            CEDANA_URL              Cedana API base URL, e.g. https://<org>.cedana.ai/v1 (required)
  --cedana-token-file PATH    CEDANA_AUTH_TOKEN_FILE  file holding the token (or CEDANA_AUTH_TOKEN)
  --cedana-ca-file PATH       CEDANA_CA_FILE          PEM bundle for a Cedana behind a private CA
  -h, --help                                          show this help
`;

export interface ClusterIO {
  stdout?: (s: string) => void;
  stderr?: (s: string) => void;
  env?: Record<string, string | undefined>;
  /** Per-request deadline (tests). Default 10 s. */
  timeoutMs?: number;
}

class UsageError extends Error {}

const PREFIX = 'cedana-operator cluster';

export async function clusterCommand(argv: string[], io: ClusterIO = {}): Promise<number> {
  const out = io.stdout ?? ((s: string) => process.stdout.write(s));
  const err = io.stderr ?? ((s: string) => process.stderr.write(s));
  const env = io.env ?? process.env;
  let settings: { action: 'register' | 'list' | 'delete'; arg: string | undefined; url: string; token: string; ca: string | undefined };
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        'cedana-url': { type: 'string' },
        'cedana-token-file': { type: 'string' },
        'cedana-ca-file': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      out(CLUSTER_HELP);
      return 0;
    }
    const [action, arg, ...rest] = positionals;
    if (action !== 'register' && action !== 'list' && action !== 'delete') throw new UsageError(`expected register NAME, list or delete ID${action === undefined ? '' : ` (got '${action}')`}`);
    if (action !== 'list' && (arg === undefined || arg.trim() === '')) throw new UsageError(`${action} needs ${action === 'register' ? 'a cluster NAME' : 'a cluster ID'}`);
    if (rest.length > 0 || (action === 'list' && arg !== undefined)) throw new UsageError(`unexpected argument '${rest[0] ?? arg ?? ''}'`);
    const pick = (flag: string | undefined, name: string): string | undefined => (flag !== undefined && flag !== '' ? flag : env[name] !== '' ? env[name] : undefined);
    const url = pick(values['cedana-url'], 'CEDANA_URL');
    if (url === undefined) throw new UsageError('the Cedana URL is required: --cedana-url or CEDANA_URL');
    const tokenFile = pick(values['cedana-token-file'], 'CEDANA_AUTH_TOKEN_FILE');
    let token = (env.CEDANA_AUTH_TOKEN ?? '').trim();
    if (tokenFile !== undefined) {
      try {
        token = readFileSync(tokenFile, 'utf8').trim();
      } catch (e) {
        throw new UsageError(`cannot read the token file ${tokenFile}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
      }
    }
    if (token === '') throw new UsageError('a token is required: CEDANA_AUTH_TOKEN, or --cedana-token-file / CEDANA_AUTH_TOKEN_FILE');
    const caFile = pick(values['cedana-ca-file'], 'CEDANA_CA_FILE');
    let ca: string | undefined;
    if (caFile !== undefined) {
      try {
        ca = readFileSync(caFile, 'utf8');
      } catch (e) {
        throw new UsageError(`cannot read the CA file ${caFile}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
      }
    }
    settings = { action, arg: arg?.trim(), url, token, ca };
  } catch (e) {
    const message = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ');
    err(`${PREFIX}: ${message}\n${e instanceof UsageError ? '' : `run '${PREFIX} --help' for usage\n`}`);
    return 2;
  }

  let client: CedanaClient;
  try {
    client = new CedanaClient({
      baseUrl: settings.url,
      token: settings.token,
      timeoutMs: io.timeoutMs ?? 10_000,
      retry: { maxAttempts: 2 },
      ...(settings.ca === undefined ? {} : { caBundle: settings.ca }),
    });
  } catch (e) {
    // The message names the option, never the token's value.
    err(`${PREFIX}: ${(e as Error).message}\n`);
    return 2;
  }
  try {
    switch (settings.action) {
      case 'register': {
        const name = settings.arg ?? '';
        const id = await client.registerCluster(name);
        out(`${id}\n`);
        err(`cluster '${name}' is registered with Cedana at ${client.baseUrl}: set CEDANA_CLUSTER_ID=${id}\n`);
        return 0;
      }
      case 'list': {
        const clusters = await client.listClusters();
        if (clusters.length === 0) {
          err(`no clusters registered with Cedana at ${client.baseUrl}\n`);
          return 0;
        }
        const rows = [['ID', 'NAME', 'STATUS', 'LAST SYNC'], ...clusters.map((c) => [c.id, c.name, c.status, c.last_sync ?? '-'])];
        const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
        for (const r of rows) out(`${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')}\n`);
        return 0;
      }
      case 'delete': {
        await client.deleteCluster(settings.arg ?? '');
        err(`cluster ${settings.arg ?? ''} is deregistered from Cedana at ${client.baseUrl}\n`);
        return 0;
      }
    }
  } catch (e) {
    err(`${PREFIX}: ${explain(e, client.baseUrl)}\n`);
    return 1;
  } finally {
    await client.close();
  }
}

/** One line a person can act on: a bad token and an unreachable URL said plainly. */
function explain(e: unknown, baseUrl: string): string {
  if (!(e instanceof CedanaApiError)) return e instanceof Error ? e.message : String(e);
  if (e.isTokenRejected) return `Cedana at ${baseUrl} rejected the token (401${e.apiMessage === undefined ? '' : ` ${e.apiMessage}`}): check CEDANA_AUTH_TOKEN or the token file`;
  if (e.kind === 'network' || e.kind === 'timeout') return `cannot reach Cedana at ${baseUrl}: ${e.message}`;
  if (e.kind === 'http' && e.status === 404 && e.apiMessage === undefined) return `${e.message}: is CEDANA_URL (${baseUrl}) the Cedana API?`;
  return e.message;
}
