// Prometheus metrics, one registry per operator instance (tests run several in one process).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { EVICTION_OUTCOMES } from './protection/operations.ts';
import { RecoveryPoints } from './protection/recovery-point.ts';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'cedana_operator_' });
  const m = {
    registry,
    reconciles: new Counter({ name: 'cedana_operator_reconcile_total', help: 'Reconciles by controller and result', labelNames: ['controller', 'result'], registers: [registry] }),
    reconcileErrors: new Counter({ name: 'cedana_operator_reconcile_errors_total', help: 'Reconciles that failed and were requeued with backoff', labelNames: ['controller'], registers: [registry] }),
    reconcileDuration: new Histogram({
      name: 'cedana_operator_reconcile_duration_seconds',
      help: 'Reconcile duration',
      labelNames: ['controller'],
      buckets: [0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    queueDepth: new Gauge({ name: 'cedana_operator_workqueue_depth', help: 'Keys waiting in a work queue', labelNames: ['queue'], registers: [registry] }),
    cedanaCalls: new Counter({ name: 'cedana_operator_cedana_requests_total', help: 'Cedana API calls by operation and status', labelNames: ['operation', 'method', 'status'], registers: [registry] }),
    cedanaCallDuration: new Histogram({
      name: 'cedana_operator_cedana_request_duration_seconds',
      help: 'Cedana API call duration',
      labelNames: ['operation'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    actionDuration: new Histogram({
      name: 'cedana_operator_action_duration_seconds',
      help: 'From submission to a final Cedana status, by action type and result',
      labelNames: ['type', 'result'],
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600],
      registers: [registry],
    }),
    watchStates: new Counter({
      name: 'cedana_operator_watch_events_total',
      help: 'Watch lifecycle events (listed, watching, closed, expired, error, silent) per informer',
      labelNames: ['informer', 'state'],
      registers: [registry],
    }),
    signalToCheckpointRequested: new Histogram({
      name: 'cedana_operator_signal_to_checkpoint_requested_seconds',
      help: 'From a node termination signal to PodCheckpoints requested: per pod, and per node (its last pod)',
      labelNames: ['scope', 'reason'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120],
      registers: [registry],
    }),
    protectedPods: new Gauge({ name: 'cedana_operator_protected_pods', help: 'Pods protected by each CheckpointPolicy', labelNames: ['namespace', 'policy'], registers: [registry] }),
    restoresByReason: new Counter({ name: 'cedana_operator_restores_created_total', help: 'PodRestores the operator created by itself, by reason', labelNames: ['reason'], registers: [registry] }),
    leader: new Gauge({ name: 'cedana_operator_leader', help: '1 while this replica holds the leader lease', registers: [registry] }),
  };
  // Recovery point, evictions, the webhook's certificate, Cedana's reachability: set through the
  // helpers in src/protection/ (docs/operations.md has each one's labels and cardinality).
  // Ages grow between reconciles: those two gauges are computed from the latest summaries at scrape time.
  const recoveryPoints = new RecoveryPoints();
  const operations = {
    recoveryPoints,
    protectedPodCheckpointAge: new Gauge({
      name: 'cedana_operator_protected_pod_checkpoint_age_seconds',
      help: 'Worst age of the protected pods\' newest Ready checkpoints, per policy (policy="cedana.ai/labels": pods protected by their labels)',
      labelNames: ['namespace', 'policy'],
      registers: [registry],
      collect() {
        this.reset();
        for (const a of recoveryPoints.ages()) this.set(a.labels, a.value);
      },
    }),
    protectedPodsWithoutCheckpoint: new Gauge({
      name: 'cedana_operator_protected_pods_without_checkpoint',
      help: 'Protected pods with no Ready checkpoint, per policy',
      labelNames: ['namespace', 'policy'],
      registers: [registry],
    }),
    protectedPodsPastRecoveryPoint: new Gauge({
      name: 'cedana_operator_protected_pods_past_recovery_point',
      help: 'Protected pods whose newest Ready checkpoint (or, with none, whose start) is older than the bound, per policy',
      labelNames: ['namespace', 'policy'],
      registers: [registry],
      collect() {
        this.reset();
        for (const p of recoveryPoints.pastBound()) this.set(p.labels, p.value);
      },
    }),
    recoveryPointBound: new Gauge({
      name: 'cedana_operator_recovery_point_bound_seconds',
      help: "The policy's recovery point bound (recoveryPoint.maxAge, else twice heartbeat.interval)",
      labelNames: ['namespace', 'policy'],
      registers: [registry],
    }),
    evictions: new Counter({ name: 'cedana_operator_evictions_total', help: 'Evictions answered by the webhook: held (429) or allowed, by outcome', labelNames: ['outcome'], registers: [registry] }),
    evictionHold: new Histogram({
      name: 'cedana_operator_eviction_hold_seconds',
      help: "From a pod's first held eviction to the one allowed, by outcome",
      labelNames: ['outcome'],
      buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
      registers: [registry],
    }),
    webhookCertificateExpiry: new Gauge({
      name: 'cedana_operator_webhook_certificate_expiry_timestamp_seconds',
      help: "NotAfter of the webhook's serving certificate (unix seconds; 0 while there is none)",
      registers: [registry],
    }),
    cedanaUp: new Gauge({
      name: 'cedana_operator_cedana_up',
      help: '1 when the last probe of the Cedana API (GET /v2/user) succeeded with the token, 0 when it failed, NaN before the first probe',
      registers: [registry],
    }),
  };
  // Unknown, not down, until a probe has run: an alert on 0 must not fire for want of a probe.
  operations.cedanaUp.set(NaN);
  // Zero series from the start, so that the first eviction of each outcome shows in rate() and increase().
  for (const outcome of EVICTION_OUTCOMES) operations.evictions.inc({ outcome }, 0);
  return { ...m, ...operations };
}

export type Metrics = ReturnType<typeof createMetrics>;
