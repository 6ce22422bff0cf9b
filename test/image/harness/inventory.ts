// What the built image carries under its working directory, read from a copy of it (docker cp):
// sizes and file counts per top-level entry, the installed packages against package-lock.json, and
// our own files (entry point, sources) against what the entry point reaches.
import { lstatSync, readFileSync, readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import { filesUnder, unreachableSources } from '../../unit/chart/dockerfile.ts';

export interface Entry {
  name: string;
  bytes: number;
  files: number;
}

export interface Inventory {
  entries: Entry[];
  bytes: number;
  files: number;
  /** Installed packages, as lockfile keys: node_modules/a, node_modules/a/node_modules/b. */
  packages: string[];
  /** Our own files: package*.json, bin/, scripts/, src/. */
  own: string[];
  /** Sources carried that src/cli.ts does not reach through its imports. */
  unreached: string[];
}

function measure(path: string): { bytes: number; files: number } {
  const st = lstatSync(path);
  if (!st.isDirectory()) return { bytes: st.size, files: 1 };
  let bytes = 0;
  let files = 0;
  for (const e of readdirSync(path)) {
    const m = measure(join(path, e));
    bytes += m.bytes;
    files += m.files;
  }
  return { bytes, files };
}

/** Every directory holding a package.json under node_modules/, nested ones included. */
function installed(root: string, modules: string): string[] {
  const out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(join(root, modules));
  } catch {
    return out;
  }
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const dirs = name.startsWith('@') ? readdirSync(join(root, modules, name)).map((n) => posix.join(modules, name, n)) : [posix.join(modules, name)];
    for (const d of dirs) {
      try {
        lstatSync(join(root, d, 'package.json'));
        out.push(d);
      } catch {
        continue;
      }
      out.push(...installed(root, posix.join(d, 'node_modules')));
    }
  }
  return out;
}

export function inventory(app: string): Inventory {
  const entries = readdirSync(app)
    .sort()
    .map((name) => ({ name, ...measure(join(app, name)) }));
  const own = ['package.json', 'package-lock.json', ...['bin', 'scripts', 'src'].flatMap((d) => filesUnder(app, d))].filter((f) => {
    try {
      lstatSync(join(app, f));
      return true;
    } catch {
      return false;
    }
  });
  return {
    entries,
    bytes: entries.reduce((n, e) => n + e.bytes, 0),
    files: entries.reduce((n, e) => n + e.files, 0),
    packages: installed(app, 'node_modules').sort(),
    own,
    unreached: unreachableSources(app, own),
  };
}

interface LockEntry {
  dev?: boolean;
  optional?: boolean;
  os?: string[];
  cpu?: string[];
  link?: boolean;
}

/**
 * The packages `npm ci && npm prune --omit=dev` leaves on linux-x64, from the lockfile: every entry
 * that is not dev-only, less optional ones for another platform.
 */
export function productionPackages(lockfile: string): string[] {
  const lock = JSON.parse(readFileSync(lockfile, 'utf8')) as { packages: Record<string, LockEntry> };
  const fits = (list: string[] | undefined, value: string): boolean =>
    list === undefined || (list.includes(value) && !list.includes(`!${value}`)) || (list.every((x) => x.startsWith('!')) && !list.includes(`!${value}`));
  return Object.entries(lock.packages)
    .filter(([k, v]) => k.startsWith('node_modules/') && v.dev !== true && v.link !== true)
    .filter(([, v]) => v.optional !== true || (fits(v.os, 'linux') && fits(v.cpu, 'x64')))
    .map(([k]) => k)
    .sort();
}

export const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
