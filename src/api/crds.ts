// CustomResourceDefinitions generated from the zod schemas (scripts/gen-crds.ts writes crds/).
// kubebuilder conventions: structural schema, status subresource, printer columns, short names,
// the `cedana` category.
import { z } from 'zod';
import { GROUP, VERSION } from './meta.ts';
import { PodCheckpointSpec, PodCheckpointStatus } from './podcheckpoint.ts';
import { PodRestoreSpec, PodRestoreStatus } from './podrestore.ts';
import { CheckpointPolicySpec, CheckpointPolicyStatus } from './checkpointpolicy.ts';

interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'date' | 'boolean';
  jsonPath: string;
  priority?: number;
  description?: string;
}

export interface CrdSource {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  printerColumns: PrinterColumn[];
}

const age: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };
const readyColumn: PrinterColumn = { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' };

export const crdSources: CrdSource[] = [
  {
    kind: 'PodCheckpoint',
    plural: 'podcheckpoints',
    singular: 'podcheckpoint',
    shortNames: ['pckpt'],
    description: 'A checkpoint of one pod, taken through the Cedana API.',
    spec: PodCheckpointSpec,
    status: PodCheckpointStatus,
    printerColumns: [
      { name: 'Pod', type: 'string', jsonPath: '.spec.podName' },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'Cedana', type: 'string', jsonPath: '.status.cedanaStatus', description: 'Status of the Cedana action' },
      readyColumn,
      { name: 'Reason', type: 'string', jsonPath: '.spec.reason', priority: 1 },
      { name: 'Node', type: 'string', jsonPath: '.status.nodeName', priority: 1 },
      { name: 'Action', type: 'string', jsonPath: '.status.actionId', priority: 1 },
      age,
    ],
  },
  {
    kind: 'PodRestore',
    plural: 'podrestores',
    singular: 'podrestore',
    shortNames: ['prestore'],
    description: 'A restore of one Cedana checkpoint into a new pod.',
    spec: PodRestoreSpec,
    status: PodRestoreStatus,
    printerColumns: [
      { name: 'Checkpoint', type: 'string', jsonPath: '.spec.checkpointRef.name' },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'Pod', type: 'string', jsonPath: '.status.restoredPod.name' },
      { name: 'Cedana', type: 'string', jsonPath: '.status.cedanaStatus', description: 'Status of the Cedana restore action' },
      { name: 'Reason', type: 'string', jsonPath: '.spec.reason', priority: 1 },
      { name: 'Node', type: 'string', jsonPath: '.status.restoredPod.nodeName', priority: 1 },
      age,
    ],
  },
  {
    kind: 'CheckpointPolicy',
    plural: 'checkpointpolicies',
    singular: 'checkpointpolicy',
    shortNames: ['ckptpol'],
    description: 'Protects the pods it selects: checkpoint and restore around node loss, periodic heartbeats, retention.',
    spec: CheckpointPolicySpec,
    status: CheckpointPolicyStatus,
    printerColumns: [
      { name: 'Protected', type: 'integer', jsonPath: '.status.protectedPods', description: 'Pods the policy protects now' },
      { name: 'Heartbeat', type: 'string', jsonPath: '.spec.heartbeat.interval' },
      { name: 'Last-Heartbeat', type: 'date', jsonPath: '.status.lastHeartbeat', priority: 1 },
      { name: 'Keep', type: 'integer', jsonPath: '.spec.retention.keepLast', priority: 1 },
      readyColumn,
      {
        name: 'Recovery-Point',
        type: 'string',
        jsonPath: '.status.conditions[?(@.type=="RecoveryPointMet")].status',
        description: 'RecoveryPointMet: every protected pod has a Ready checkpoint within the bound',
      },
      { name: 'No-Checkpoint', type: 'integer', jsonPath: '.status.podsWithoutCheckpoint', description: 'Protected pods with no Ready checkpoint' },
      { name: 'Worst-Age', type: 'string', jsonPath: '.status.worstCheckpointAge', description: "Oldest of the pods' newest Ready checkpoints, as of the last status write", priority: 1 },
      age,
    ],
  },
];

type Json = Record<string, unknown>;

/** zod's JSON Schema, made structural for apiextensions: no $schema, propertyNames, additionalProperties: false or ±2^53 bounds. */
export function structural(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(structural);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Json = {};
  for (const [key, value] of Object.entries(schema as Json)) {
    if (key === '$schema' || key === 'id' || key === 'propertyNames') continue; // not allowed in structural schemas
    if (key === 'additionalProperties' && value === false) continue;
    if ((key === 'maximum' || key === 'minimum') && Math.abs(value as number) === Number.MAX_SAFE_INTEGER) continue;
    out[key] = key === 'x-kubernetes-validations' || key === 'x-kubernetes-list-map-keys' || key === 'enum' ? value : structural(value);
  }
  return out;
}

const jsonSchema = (s: z.ZodType): unknown => structural(z.toJSONSchema(s, { target: 'draft-2020-12', io: 'input', unrepresentable: 'throw' }));

export function crdFor(src: CrdSource): Json {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${src.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: { kind: src.kind, listKind: `${src.kind}List`, plural: src.plural, singular: src.singular, shortNames: src.shortNames, categories: ['cedana'] },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: src.printerColumns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: src.description,
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: jsonSchema(src.spec),
                status: jsonSchema(src.status),
              },
            },
          },
        },
      ],
    },
  };
}
