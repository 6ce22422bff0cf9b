// Prometheus metrics, one registry per operator instance (tests run several in one process).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'cedana_operator_' });
  const m = {
    registry,
    reconciles: new Counter({ name: 'cedana_operator_reconcile_total', help: 'Reconciles by controller and result', labelNames: ['controller', 'result'], registers: [registry] }),
    reconcileErrors: new Counter({ name: 'cedana_operator_reconcile_errors_total', help: 'Reconciles that failed and were requeued with backoff', labelNames: ['controller'], registers: [registry] }),
    reconcileDuration: new Histogram({ name: 'cedana_operator_reconcile_duration_seconds', help: 'Reconcile duration', labelNames: ['controller'], buckets: [0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry] }),
    queueDepth: new Gauge({ name: 'cedana_operator_workqueue_depth', help: 'Keys waiting in a work queue', labelNames: ['queue'], registers: [registry] }),
    cedanaCalls: new Counter({ name: 'cedana_operator_cedana_requests_total', help: 'Cedana API calls by operation and status', labelNames: ['operation', 'method', 'status'], registers: [registry] }),
    cedanaCallDuration: new Histogram({ name: 'cedana_operator_cedana_request_duration_seconds', help: 'Cedana API call duration', labelNames: ['operation'], buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry] }),
    actionDuration: new Histogram({ name: 'cedana_operator_action_duration_seconds', help: 'From submission to a final Cedana status, by action type and result', labelNames: ['type', 'result'], buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600], registers: [registry] }),
    watchStates: new Counter({ name: 'cedana_operator_watch_events_total', help: 'Watch lifecycle events (listed, watching, closed, expired, error, silent) per informer', labelNames: ['informer', 'state'], registers: [registry] }),
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
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
