// Where the reference and the merged document live, and how to load them.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mergeReference } from './openapi-merge.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const OPENAPI_PATH = join(repoRoot, 'openapi/cedana.json');
const V1_PATH = join(repoRoot, 'openapi/v1-checkpoints.json');
/** The reference sits beside the repository (shared/cedana-api); CEDANA_API_REFERENCE overrides. */
export const DEFAULT_REFERENCE_DIR = process.env.CEDANA_API_REFERENCE ?? resolve(repoRoot, '../shared/cedana-api');

/** The pages that carry OpenAPI fragments: 000 (checkpoints), 002 (actions), 004 (slurm). */
const FRAGMENT_PAGES = /^00[024]_.*\.txt$/;

export function loadReference(dir: string = DEFAULT_REFERENCE_DIR): Record<string, unknown> {
  const files = readdirSync(dir)
    .filter((f) => FRAGMENT_PAGES.test(f))
    .sort()
    .map((name) => ({ name, text: readFileSync(join(dir, name), 'utf8') }));
  if (files.length !== 3) throw new Error(`expected the 000, 002 and 004 pages in ${dir}, found ${files.length}`);
  const v1 = JSON.parse(readFileSync(V1_PATH, 'utf8')) as { paths: Record<string, unknown>; schemas: Record<string, unknown>; responses: Record<string, unknown> };
  return mergeReference(files, v1);
}

export function loadOpenApi(): { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } } & Record<string, unknown> {
  return JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')) as ReturnType<typeof loadOpenApi>;
}
