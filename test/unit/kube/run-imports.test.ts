// `cedana-operator run` must not load @kubernetes/client-node: importing it costs the process 85 MiB
// of RSS and 0.4 s (src/kube/access.ts), and only what a kubeconfig may hold beyond static
// credentials needs it (imported dynamically then). This walks the static import graph from
// src/commands/run.ts, as Node loads it: `import type` and `export type` are erased by type
// stripping and load nothing; dynamic `import()` loads only when called. But an import whose names
// are all inline types (`import { type X } from '...'`) still loads its module: type stripping
// leaves `import {} from '...'` behind.
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLIENT_NODE = '@kubernetes/client-node';

interface Imports {
  /** Specifiers of the declarations that load a module when this one loads. */
  static: string[];
  /** Specifiers of `import type` / `export type` declarations (erased). */
  typeOnly: string[];
  /** Specifiers of `import('...')` calls with a literal argument. */
  dynamic: string[];
}

/** The module specifiers of one source file, by how they load. */
function importsOf(source: string, fileName = 'x.ts'): Imports {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.ES2024, true, ts.ScriptKind.TS);
  const out: Imports = { static: [], typeOnly: [], dynamic: [] };
  for (const st of sf.statements) {
    if ((ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) && st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier)) {
      const typeOnly = ts.isImportDeclaration(st) ? st.importClause?.phaseModifier === ts.SyntaxKind.TypeKeyword : st.isTypeOnly;
      (typeOnly ? out.typeOnly : out.static).push(st.moduleSpecifier.text);
    }
  }
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteralLike(arg)) out.dynamic.push(arg.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

interface Graph {
  /** Every .ts module reached, relative to the repository, with the module that first imported it. */
  modules: Map<string, string | undefined>;
  /** Bare (package) specifiers each module loads. */
  packages: Map<string, string[]>;
  /** Modules with an `import type` of client-node (allowed). */
  typeImportsOfClientNode: string[];
}

/** The static graph from `entry` (a path relative to the repository), through relative .ts imports. */
function staticGraph(entry: string): Graph {
  const g: Graph = { modules: new Map([[entry, undefined]]), packages: new Map(), typeImportsOfClientNode: [] };
  const queue = [entry];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    const imports = importsOf(readFileSync(resolve(ROOT, file), 'utf8'), file);
    if (imports.typeOnly.some((s) => s === CLIENT_NODE || s.startsWith(`${CLIENT_NODE}/`))) g.typeImportsOfClientNode.push(file);
    const bare: string[] = [];
    for (const spec of imports.static) {
      if (!spec.startsWith('.')) {
        bare.push(spec);
        continue;
      }
      if (!spec.endsWith('.ts')) continue; // JSON and other assets import nothing further
      const target = relative(ROOT, resolve(ROOT, dirname(file), spec));
      if (!g.modules.has(target)) {
        g.modules.set(target, file);
        queue.push(target);
      }
    }
    g.packages.set(file, bare);
  }
  return g;
}

/** How `file` is reached from the entry: entry → ... → file. */
function chain(g: Graph, file: string): string {
  const steps = [file];
  for (let by = g.modules.get(file); by !== undefined; by = g.modules.get(by)) steps.unshift(by);
  return steps.join(' → ');
}

describe('importsOf (what the guard below counts as loading a module)', () => {
  it.each<[string, string, Partial<Imports>]>([
    ['a named import', "import { a } from './a.ts';", { static: ['./a.ts'] }],
    ['a default and namespace import', "import a from 'pkg';\nimport * as b from './b.ts';", { static: ['pkg', './b.ts'] }],
    ['a side-effect import', "import 'pkg/register';", { static: ['pkg/register'] }],
    ['an import over several lines', "import {\n  a,\n  b,\n} from './a.ts';", { static: ['./a.ts'] }],
    ['import type', "import type { A } from 'pkg';", { static: [], typeOnly: ['pkg'] }],
    ['inline types only: still loads the module under type stripping', "import { type A, type B } from 'pkg';", { static: ['pkg'] }],
    ['a value and an inline type', "import { a, type B } from 'pkg';", { static: ['pkg'] }],
    ['export from', "export { a } from './a.ts';\nexport * from './b.ts';\nexport * as c from './c.ts';", { static: ['./a.ts', './b.ts', './c.ts'] }],
    ['export type from', "export type { A } from 'pkg';", { static: [], typeOnly: ['pkg'] }],
    ['a dynamic import', "const m = await import('pkg');", { static: [], dynamic: ['pkg'] }],
    ['a dynamic import in a function', "const load = () => import('pkg');", { static: [], dynamic: ['pkg'] }],
    ['typeof import in a type', "type M = typeof import('pkg');", { static: [], dynamic: [] }],
    ['comments and strings', "// import { a } from 'pkg';\n/* import 'pkg'; */\nconst s = \"import { a } from 'pkg'\";", { static: [], dynamic: [] }],
    ['an export without a module', 'const a = 1;\nexport { a };', { static: [] }],
  ])('%s', (_what, source, expected) => {
    expect(importsOf(source)).toMatchObject(expected);
  });
});

describe('the run path', () => {
  const g = staticGraph('src/commands/run.ts');

  it('is walked: the operator and its Kubernetes client are in it', () => {
    for (const m of ['src/operator.ts', 'src/kube/access.ts', 'src/kube/http.ts', 'src/kube/client.ts', 'src/kube/informer.ts', 'src/config/config.ts']) expect([...g.modules.keys()]).toContain(m);
    expect(g.modules.size).toBeGreaterThan(20);
    // The type imports of client-node are there, and allowed.
    expect(g.typeImportsOfClientNode).toContain('src/kube/access.ts');
  });

  it('never loads @kubernetes/client-node', () => {
    const offenders = [...g.packages].filter(([, pkgs]) => pkgs.some((p) => p === CLIENT_NODE || p.startsWith(`${CLIENT_NODE}/`))).map(([file]) => chain(g, file));
    expect(offenders).toEqual([]);
  });

  it('src/cli.ts imports no command statically: each is imported when it is named', () => {
    const cli = importsOf(readFileSync(resolve(ROOT, 'src/cli.ts'), 'utf8'));
    expect(cli.static.filter((s) => s.startsWith('./commands/'))).toEqual([]);
    expect(cli.dynamic).toContain('./commands/run.ts');
  });
});
