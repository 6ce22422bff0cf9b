// Where the reference and the merged document live, and how to load them.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mergeReference } from './openapi-merge.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const OPENAPI_PATH = join(repoRoot, 'openapi/cedana.json');
const V1_PATH = join(repoRoot, 'openapi/v1-checkpoints.json');
/** Operations the service has and the reference pages lack (REAL-SERVICE.md), marked x-cedana-operator-choice. */
const ADDITIONS_PATH = join(repoRoot, 'openapi/project-additions.json');
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
  type Extras = { paths: Record<string, unknown>; schemas: Record<string, unknown>; responses: Record<string, unknown>; tags?: Record<string, unknown>[] };
  const v1 = JSON.parse(readFileSync(V1_PATH, 'utf8')) as Extras;
  const additions = JSON.parse(readFileSync(ADDITIONS_PATH, 'utf8')) as Extras;
  return mergeReference(files, {
    paths: { ...v1.paths, ...additions.paths },
    schemas: { ...v1.schemas, ...additions.schemas },
    responses: { ...v1.responses, ...additions.responses },
    tags: [...(v1.tags ?? []), ...(additions.tags ?? [])],
  });
}

export function loadOpenApi(): { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } } & Record<string, unknown> {
  return JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')) as ReturnType<typeof loadOpenApi>;
}
