// A small reader of the repo's Dockerfile and .dockerignore, for the structural checks (unit tier),
// for reproducing the image's build without a Docker engine (integration tier) and for checking what
// the built image carries (image tier): the sources the entry point reaches through its imports.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, posix } from 'node:path';

export interface Instruction {
  /** Upper-case instruction name: FROM, RUN, COPY, ... */
  cmd: string;
  /** Everything after the name, continuation lines joined. */
  args: string;
  line: number;
}

export interface Stage {
  /** The FROM image with build ARGs substituted. */
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  globalArgs: Record<string, string>;
  stages: Stage[];
}

/** ${VAR} and $VAR from `vars`; unknown variables are left as written. */
export function substitute(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, a: string | undefined, b: string | undefined) => vars[a ?? b ?? ''] ?? whole);
}

export function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  let buf = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (buf === '' && /^\s*(#|$)/.test(line)) return; // comments (and parser directives) and blank lines
    if (buf !== '' && /^\s*#/.test(line)) return; // comments inside a continued instruction
    if (buf === '') start = i + 1;
    if (line.endsWith('\\')) {
      buf += `${line.slice(0, -1)} `;
      return;
    }
    buf += line;
    const m = /^\s*(\w+)\s+([\s\S]*)$/.exec(buf);
    if (m?.[1] !== undefined && m[2] !== undefined) instructions.push({ cmd: m[1].toUpperCase(), args: m[2].replace(/\s+/g, ' ').trim(), line: start });
    buf = '';
  });
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.cmd === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (m?.[1] === undefined) throw new Error(`Dockerfile:${ins.line}: cannot read FROM ${ins.args}`);
      stages.push({ image: substitute(m[1], globalArgs), name: m[2], instructions: [] });
    } else if (stages.length === 0) {
      if (ins.cmd !== 'ARG') throw new Error(`Dockerfile:${ins.line}: only ARG may come before FROM`);
      const [name, value = ''] = ins.args.split('=', 2);
      if (name !== undefined) globalArgs[name] = value;
    } else {
      stages.at(-1)?.instructions.push(ins);
    }
  }
  return { globalArgs, stages };
}

/** ENTRYPOINT / CMD in exec form (a JSON array), else undefined. */
export function execForm(args: string | undefined): string[] | undefined {
  if (args === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(args);
    return Array.isArray(v) && v.every((s) => typeof s === 'string') ? v : undefined;
  } catch {
    return undefined;
  }
}

export interface Copy {
  from: string | undefined;
  sources: string[];
  dest: string;
}

export function parseCopy(args: string): Copy {
  const words = args.split(' ');
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift() ?? '';
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
  }
  const dest = words.pop();
  if (dest === undefined || words.length === 0) throw new Error(`COPY needs a source and a destination: ${args}`);
  return { from, sources: words, dest };
}

/** The last value of each instruction `cmd` in a stage. */
export const last = (stage: Stage, cmd: string): string | undefined => stage.instructions.filter((i) => i.cmd === cmd).at(-1)?.args;

function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === '*' && pattern[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * Docker's .dockerignore rule: the last pattern that matches the path or one of its parent
 * directories decides; `!` re-includes.
 */
export function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).trim().replace(/^\/+|\/+$/g, '');
      return { negate, re: globToRegExp(pattern) };
    });
  return (path: string) => {
    const parts = path.split('/');
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const r of rules) if (prefixes.some((p) => r.re.test(p))) excluded = !r.negate;
    return !excluded;
  };
}

export function readDockerfile(root: string): { dockerfile: Dockerfile; included: (path: string) => boolean } {
  return {
    dockerfile: parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8')),
    included: dockerignore(readFileSync(join(root, '.dockerignore'), 'utf8')),
  };
}

/**
 * The relative modules a TypeScript file imports: `import ... from`, `export ... from`, `import '...'`
 * and `import('...')` of a literal, type-only imports included (the type check needs them).
 */
export function relativeImports(text: string): string[] {
  const out: string[] = [];
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  for (const m of code.matchAll(/\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]|\bimport\s*\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|^\s*import\s*['"](\.{1,2}\/[^'"]+)['"]/gm)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec !== undefined) out.push(spec);
  }
  return out;
}

/** Every file reachable from `entry` (relative to `root`) through relative imports, as root-relative posix paths. */
export function reachableFrom(root: string, entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [posix.normalize(entry)];
  for (let file = todo.pop(); file !== undefined; file = todo.pop()) {
    if (seen.has(file)) continue;
    const abs = join(root, file);
    if (!existsSync(abs)) continue; // the type check reports a missing module; here it only is not reached
    seen.add(file);
    if (!/\.[cm]?ts$/.test(file)) continue; // JSON and the like import nothing
    for (const spec of relativeImports(readFileSync(abs, 'utf8'))) todo.push(posix.normalize(posix.join(posix.dirname(file), spec)));
  }
  return seen;
}

/** The files under `dir` (relative to `root`), as root-relative posix paths. */
export function filesUnder(root: string, dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(join(root, d), { withFileTypes: true })) {
      const p = posix.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  if (existsSync(join(root, dir))) walk(dir);
  return out.sort();
}

/**
 * The sources under src/ that nothing reachable from the entry point imports: not needed at run time
 * (generators, tools). Ambient declarations (*.d.ts) are never imported; they serve the type check.
 */
export function unreachableSources(root: string, files: string[], entry = 'src/cli.ts'): string[] {
  const reached = reachableFrom(root, entry);
  return files.filter((f) => f.startsWith('src/') && !f.endsWith('.d.ts') && !reached.has(f));
}
