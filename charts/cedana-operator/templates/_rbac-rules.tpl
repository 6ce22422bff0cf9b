{{/*
THE API CALLS THE OPERATOR MAKES, and so every permission the chart grants: nothing else, no
wildcards, no Secrets. When the operator starts a new kind of call, add its rule here (and to the
list in test/integration/chart.test.ts, which checks these rules rule for rule).

  cedana-operator.rules.cluster     cluster-scoped resources: always a ClusterRole
  cedana-operator.rules.namespaced  namespaced resources: a ClusterRole when all namespaces are
                                    watched, else a Role in each of operator.watchNamespaces
  cedana-operator.rules.lease       leader election: a Role in the release namespace only
  cedana-operator.rules.webhookCluster  the eviction webhook's own certificate: its configuration's
  cedana-operator.rules.webhookSecret   CA bundle (ClusterRole) and its one Secret (release namespace);
                                    only when the operator manages that certificate (not cert-manager)
*/}}

{{- define "cedana-operator.rules.cluster" -}}
# Node termination: watch nodes for termination taints, cordons and deletion.
- apiGroups: [""]
  resources: [nodes]
  verbs: [get, list, watch]
{{- end }}

{{- define "cedana-operator.rules.namespaced" -}}
# The pods to checkpoint (informer cache; a fresh read before a checkpoint).
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
# An Event for each step, on the PodCheckpoint or PodRestore.
- apiGroups: [""]
  resources: [events]
  verbs: [create]
# PodCheckpoints: watched; created by policies and node termination; deleted for retention;
# patched for the finalizer.
- apiGroups: [cedana.ai]
  resources: [podcheckpoints]
  verbs: [get, list, watch, create, delete, patch]
# Phase, conditions and the Cedana ids, through the status subresource.
- apiGroups: [cedana.ai]
  resources: [podcheckpoints/status]
  verbs: [patch]
# PodRestores: watched; created by node termination.
- apiGroups: [cedana.ai]
  resources: [podrestores]
  verbs: [get, list, watch, create]
- apiGroups: [cedana.ai]
  resources: [podrestores/status]
  verbs: [patch]
# CheckpointPolicies: watched; their status reports the protected pods.
- apiGroups: [cedana.ai]
  resources: [checkpointpolicies]
  verbs: [get, list, watch]
- apiGroups: [cedana.ai]
  resources: [checkpointpolicies/status]
  verbs: [patch]
{{- end }}

{{- define "cedana-operator.rules.webhookCluster" -}}
# The eviction webhook: the CA bundle of the operator's own certificate, patched into its configuration.
- apiGroups: [admissionregistration.k8s.io]
  resources: [validatingwebhookconfigurations]
  resourceNames: [{{ include "cedana-operator.webhookConfig" . | quote }}]
  verbs: [get, patch]
{{- end }}

{{- define "cedana-operator.rules.webhookSecret" -}}
# The webhook's CA and serving certificate. `create` cannot be limited to a name; reading and
# renewing are limited to the one Secret. No other Secret is readable.
- apiGroups: [""]
  resources: [secrets]
  verbs: [create]
- apiGroups: [""]
  resources: [secrets]
  resourceNames: [{{ include "cedana-operator.webhookSecret" . | quote }}]
  verbs: [get, update]
{{- end }}

{{- define "cedana-operator.rules.lease" -}}
# Leader election. `create` cannot be limited to a name; reading and renewing are limited to the Lease.
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [create]
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  resourceNames: [{{ .Values.operator.leaderElection.leaseName | quote }}]
  verbs: [get, update]
{{- end }}
