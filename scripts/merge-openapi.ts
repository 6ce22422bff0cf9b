// Writes openapi/cedana.json from the Cedana API reference (../shared/cedana-api by default).
// Usage: node scripts/merge-openapi.ts [--check] [--reference DIR]
import { readFileSync, writeFileSync } from 'node:fs';
import { loadReference, OPENAPI_PATH } from '../src/cedana/openapi-files.ts';

const args = process.argv.slice(2);
const refIdx = args.indexOf('--reference');
const doc = loadReference(refIdx >= 0 ? args[refIdx + 1] : undefined);
const text = `${JSON.stringify(doc, null, 2)}\n`;
if (args.includes('--check')) {
  if (readFileSync(OPENAPI_PATH, 'utf8') !== text) {
    process.stderr.write(`${OPENAPI_PATH} is out of date: run npm run openapi\n`);
    process.exitCode = 1;
  }
} else {
  writeFileSync(OPENAPI_PATH, text);
  process.stdout.write(`wrote ${OPENAPI_PATH}: ${Object.keys(doc.paths as object).length} paths\n`);
}
