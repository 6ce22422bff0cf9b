// A tiny loopback HTTP(S) server whose answers a test writes by hand: for transport behaviour the
// simulator is not built to misbehave with (garbage bodies, wrong content types, slow bodies).
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import pino, { type Logger } from 'pino';

export interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface StubServer {
  url: string;
  seen: Seen[];
  /** Connections accepted so far (TLS handshakes completed, for a TLS stub). */
  connections(): number;
  close(): Promise<void>;
}

export type Handler = (req: Seen, res: ServerResponse, n: number) => void;

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
/** Self-signed for 127.0.0.1 and localhost, valid until 2126; test-only, trusted by nothing else. */
export const LOOPBACK_CERT = fixture('loopback-cert.pem');
const LOOPBACK_KEY = fixture('loopback-key.pem');

export async function startStub(handler: Handler, opts: { tls?: boolean } = {}): Promise<StubServer> {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      seen.push(s);
      handler(s, res, seen.length);
    });
  };
  const server: Server = opts.tls === true ? createHttpsServer({ cert: LOOPBACK_CERT, key: LOOPBACK_KEY }, onRequest) : createHttpServer(onRequest);
  server.on(opts.tls === true ? 'secureConnection' : 'connection', (s: Socket) => {
    sockets.add(s);
    connections++;
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${opts.tls === true ? 'https' : 'http'}://127.0.0.1:${port}`,
    seen,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        // Hung requests keep sockets open; a test server ends them rather than wait.
        for (const s of sockets) s.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const isText = typeof body === 'string';
  res.writeHead(status, { 'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json', ...headers });
  res.end(isText ? body : JSON.stringify(body));
}

/** A pino logger at debug whose lines the test can read. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  return { logger, lines };
}

/** A sleep that records what it was asked to wait and returns at once. */
export function recordingSleep(): { sleep: (ms: number) => Promise<void>; waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    sleep: (ms: number) => {
      waits.push(ms);
      return Promise.resolve();
    },
  };
}

export const UUID_A = '3f2b8c1e-9d4a-4f6b-8e2a-1c5d7e9f0a1b';
export const UUID_B = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';
