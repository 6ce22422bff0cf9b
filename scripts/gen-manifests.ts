// Writes the chart's CRD templates (charts/cedana-operator/templates/crds/, from src/api like crds/),
// deploy/*.yaml (the chart rendered with default values) and the table of values in README.md and
// docs/install.md. `--check` writes nothing and fails when a file is stale, missing or left over.
// Needs helm: $HELM, else the one local-cluster.sh builds.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CHART_CRD_DIR, chartCrdFiles } from '../src/api/crd-files.ts';
import { DEPLOY_DIR, VALUES_TABLE_DOCS, deployFiles, docWithValuesTable } from './manifests.ts';

const check = process.argv.includes('--check');
let stale = 0;

function sync(dir: string, wanted: Map<string, string>, isOurs: (name: string) => boolean): void {
  for (const [name, text] of wanted) {
    const path = join(dir, name);
    let current: string | undefined;
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      // missing counts as stale
    }
    if (current === text) continue;
    if (check) {
      process.stderr.write(`${path} is out of date: run npm run manifests\n`);
      stale++;
    } else {
      writeFileSync(path, text);
      process.stdout.write(`wrote ${path}\n`);
    }
  }
  for (const name of readdirSync(dir)) {
    if (!isOurs(name) || wanted.has(name)) continue;
    if (check) {
      process.stderr.write(`${join(dir, name)} is left over: run npm run manifests\n`);
      stale++;
    } else {
      rmSync(join(dir, name));
      process.stdout.write(`removed ${join(dir, name)}\n`);
    }
  }
}

// The CRD templates first: deploy/ is rendered from the chart that holds them.
sync(CHART_CRD_DIR, new Map(chartCrdFiles().map((f) => [basename(f.path), f.text])), (n) => n.endsWith('.yaml'));
// deploy/examples/ is a folder, and not generated.
sync(DEPLOY_DIR, await deployFiles(), (n) => n.endsWith('.yaml'));
// The values table in README.md and docs/install.md, from the `# --` comments of values.yaml.
for (const path of VALUES_TABLE_DOCS) {
  const doc = readFileSync(path, 'utf8');
  const withTable = docWithValuesTable(path, doc);
  if (doc === withTable) continue;
  if (check) {
    process.stderr.write(`${path}: the values table is out of date: run npm run manifests\n`);
    stale++;
  } else {
    writeFileSync(path, withTable);
    process.stdout.write(`wrote the values table in ${path}\n`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
