// The Helm chart's sources, checked without helm: its CRD templates are what the CRD generator makes
// (and say what crds/ says), values.schema.json accepts the defaults and refuses wrong values, every
// value is documented in values.yaml, in the schema and in README.md and docs/install.md. Rendering, linting and
// applying the chart are in test/integration/chart.test.ts (they need helm and an apiserver).
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CHART_CRD_DIR, CHART_DIR, crdFiles, chartCrdFiles } from '../../../src/api/crd-files.ts';
import { crdFor, crdSources } from '../../../src/api/crds.ts';
import { VALUES_TABLE_DOCS, docWithValuesTable, valuesDocs } from '../../../scripts/manifests.ts';

type Json = Record<string, unknown>;
const values = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as Json;
const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')) as Json;
const validate = new Ajv({ allErrors: true, strict: true, strictTypes: false }).compile(schema);

/** The spec of a chart CRD template: everything under `spec:`, without the template lines around it. */
function templateSpec(text: string): unknown {
  const lines = text.split('\n');
  const at = lines.indexOf('spec:');
  const body = lines.slice(at, lines.lastIndexOf('{{- end }}'));
  return (parse(body.join('\n')) as { spec: unknown }).spec;
}

const withValue = (path: string, value: unknown): Json => {
  const copy = structuredClone(values);
  const keys = path.split('.');
  let at: Json = copy;
  for (const k of keys.slice(0, -1)) at = at[k] as Json;
  at[keys.at(-1) ?? ''] = value;
  return copy;
};

const errorsFor = (v: Json): ErrorObject[] => (validate(v) ? [] : (validate.errors ?? []));

describe('chart CRD templates', () => {
  it('are what the generator writes (run npm run manifests if not), one per CRD source and nothing else', () => {
    const wanted = chartCrdFiles();
    expect(wanted).toHaveLength(crdSources.length);
    for (const { path, text } of wanted) expect(readFileSync(path, 'utf8'), basename(path)).toBe(text);
    expect(readdirSync(CHART_CRD_DIR).sort()).toEqual(wanted.map((f) => basename(f.path)).sort());
  });

  it('carry the same spec as crds/, behind crds.enabled, kept on uninstall under crds.keep', () => {
    const onDisk = new Map(crdFiles().map((f) => [basename(f.path), parse(readFileSync(f.path, 'utf8')) as { spec: unknown }]));
    for (const src of crdSources) {
      const file = `${src.plural}.cedana.ai.yaml`;
      const text = readFileSync(join(CHART_CRD_DIR, file), 'utf8');
      const spec = templateSpec(text);
      expect(spec).toEqual((crdFor(src) as { spec: unknown }).spec);
      expect(spec, `crds/${file}`).toEqual(onDisk.get(file)?.spec);
      expect(text).toMatch(/^\{\{- if \.Values\.crds\.enabled \}\}$/m);
      expect(text).toMatch(/\{\{- if \.Values\.crds\.keep \}\}\n {2}annotations:\n {4}helm\.sh\/resource-policy: keep/);
    }
  });

  it('escape Go template braces that a schema text might hold', () => {
    // Guard the generator: a description with "{{" must not become a template action.
    const escaped = 'x: "{{ a }}"'.replaceAll('{{', '{{ "{{" }}');
    expect(escaped).toBe('x: "{{ "{{" }} a }}"');
    for (const { text } of chartCrdFiles()) {
      const spec = text.slice(text.indexOf('\nspec:\n'));
      expect(spec.replaceAll('{{ "{{" }}', '').replace(/\{\{- end \}\}\n$/, '')).not.toContain('{{');
    }
  });
});

describe('values.schema.json', () => {
  it('accepts the default values', () => {
    expect(errorsFor(values)).toEqual([]);
  });

  const bad: [string, unknown, string][] = [
    ['replicaCount', 'two', '/replicaCount'],
    ['replicaCount', 0, '/replicaCount'],
    ['cedana.url', 'ftp://cedana', '/cedana/url'],
    ['cedana.timeout', 10, '/cedana/timeout'],
    ['cedana.timeout', '10', '/cedana/timeout'],
    ['cedana.ca.bundle', 'not a pem', '/cedana/ca/bundle'],
    ['operator.watchNamespaces', 'default', '/operator/watchNamespaces'],
    ['operator.watchNamespaces', ['Default'], '/operator/watchNamespaces/0'],
    ['operator.workers', 0, '/operator/workers'],
    ['operator.logLevel', 'verbose', '/operator/logLevel'],
    ['operator.leaderElection.enabled', 'yes', '/operator/leaderElection/enabled'],
    ['nodeTermination.taints', ['spaces are not a key'], '/nodeTermination/taints/0'],
    ['nodeTermination.notReadyGrace', '5 minutes', '/nodeTermination/notReadyGrace'],
    ['nodeTermination.concurrency', 1.5, '/nodeTermination/concurrency'],
    ['image.pullPolicy', 'Sometimes', '/image/pullPolicy'],
    ['image.digest', 'sha256:abc', '/image/digest'],
    ['podAntiAffinity', 'medium', '/podAntiAffinity'],
    ['metrics.port', 70000, '/metrics/port'],
    ['podDisruptionBudget.minAvailable', 'half', '/podDisruptionBudget/minAvailable'],
    ['podAnnotations', { a: 1 }, '/podAnnotations/a'],
    ['extraEnv', [{ value: 'x' }], '/extraEnv/0'],
    ['crds.keep', 'true', '/crds/keep'],
    ['cedana.fromCedanaChart.enabled', 'true', '/cedana/fromCedanaChart/enabled'],
    ['cedana.fromCedanaChart.secretName', 'Cedana_Secrets', '/cedana/fromCedanaChart/secretName'],
    ['cedana.fromCedanaChart.configMapName', '', '/cedana/fromCedanaChart/configMapName'],
    ['cedana.fromCedanaChart.tokenKey', 'auth token', '/cedana/fromCedanaChart/tokenKey'],
    ['cedana.fromCedanaChart.urlKey', '', '/cedana/fromCedanaChart/urlKey'],
    ['operator.cedanaLabels', 'honor', '/operator/cedanaLabels'],
    ['operator.cedanaLabels', true, '/operator/cedanaLabels'],
  ];
  it.each(bad)('refuses %s = %j, naming it', (path, value, where) => {
    const errors = errorsFor(withValue(path, value));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.map((e) => e.instancePath)).toContain(where);
  });

  it.each([['replicas'], ['cedana.token'], ['operator.namespaces'], ['metrics.service.typo'], ['crds.install'], ['cedana.fromCedanaChart.secret']])('refuses the unknown key %s', (path) => {
    const errors = errorsFor(withValue(path, 1));
    expect(errors.find((e) => e.keyword === 'additionalProperties')?.params).toEqual({ additionalProperty: path.split('.').at(-1) });
  });

  it('accepts the other forms a value may take', () => {
    for (const [path, value] of [
      ['podDisruptionBudget.minAvailable', '50%'],
      ['podDisruptionBudget.maxUnavailable', 1],
      ['cedana.url', 'http://127.0.0.1:8080'],
      ['nodeTermination.taints', ['karpenter.sh/disruption=disrupting', 'ToBeDeletedByClusterAutoscaler']],
      ['operator.pollInterval', '1m30s'],
      ['image.digest', `sha256:${'a'.repeat(64)}`],
      ['operator.cedanaLabels', 'honour'],
      ['cedana.fromCedanaChart', { enabled: true, secretName: 'cedana-secret-user', tokenKey: 'auth-token', configMapName: 'cedana-secret-user', urlKey: 'url', clusterIdKey: 'cluster-id' }],
    ] as const) {
      expect(errorsFor(withValue(path, value)), path).toEqual([]);
    }
  });
});

describe('values documentation', () => {
  const docs = valuesDocs();
  const documented = new Set(docs.map((d) => d.key));

  /** Schema node at a dotted path, through `properties`. */
  const schemaAt = (path: string): Json | undefined => {
    let at: Json | undefined = schema;
    for (const k of path.split('.')) at = (at?.properties as Json | undefined)?.[k] as Json | undefined;
    return at;
  };

  it('documents every key of values.yaml with a `# --` comment, itself or its nearest parent', () => {
    const undocumented: string[] = [];
    const walk = (obj: Json, prefix: string): void => {
      for (const [k, v] of Object.entries(obj)) {
        const path = prefix === '' ? k : `${prefix}.${k}`;
        if (documented.has(path)) continue;
        if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) walk(v as Json, path);
        else undocumented.push(path);
      }
    };
    walk(values, '');
    expect(undocumented).toEqual([]);
  });

  it('gives every documented value a schema entry with a type and a description', () => {
    for (const d of docs) {
      const node = schemaAt(d.key);
      expect(node, d.key).toBeDefined();
      expect(node?.description, d.key).toEqual(expect.any(String));
      expect(node?.type ?? node?.oneOf, d.key).toBeDefined();
    }
  });

  it('has a schema with no key that values.yaml lacks', () => {
    const walk = (node: Json, prefix: string): string[] =>
      Object.entries((node.properties as Json | undefined) ?? {}).flatMap(([k, v]) => {
        const path = prefix === '' ? k : `${prefix}.${k}`;
        return documented.has(path) ? [] : [path, ...walk(v as Json, path)];
      });
    const missing = walk(schema, '').filter((p) => p !== 'global' && !docs.some((d) => d.key.startsWith(`${p}.`)));
    expect(missing).toEqual([]);
  });

  it.each(VALUES_TABLE_DOCS.map((p) => [basename(p), p]))('%s lists every value with its default (run npm run manifests if not)', (_name, path) => {
    const current = readFileSync(path, 'utf8');
    expect(current).toBe(docWithValuesTable(path, current));
    for (const d of docs) expect(current).toContain(`| \`${d.key}\` |`);
  });
});
