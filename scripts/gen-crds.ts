// Writes crds/<plural>.cedana.ai.yaml from the zod schemas in src/api. `--check` fails when stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { crdFiles } from '../src/api/crd-files.ts';

const check = process.argv.includes('--check');
let stale = 0;
for (const { path, text } of crdFiles()) {
  if (check) {
    let current = '';
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      // missing counts as stale
    }
    if (current !== text) {
      process.stderr.write(`${path} is out of date: run npm run crds\n`);
      stale++;
    }
  } else {
    writeFileSync(path, text);
    process.stdout.write(`wrote ${path}\n`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
