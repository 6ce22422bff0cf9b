{{/* Names, labels and shared values of the cedana-operator chart. */}}

{{- define "cedana-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The full name: the release name, with the chart name unless the release name holds it already. */}}
{{- define "cedana-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "cedana-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "cedana-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cedana-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "cedana-operator.labels" -}}
helm.sh/chart: {{ include "cedana-operator.chart" . }}
{{ include "cedana-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: cedana
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "cedana-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cedana-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false: name an existing ServiceAccount" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret with the Cedana token: Cedana's own chart's (cedana.fromCedanaChart), or the operator's, which
also holds the URL and cluster id where the values leave them empty. */}}
{{- define "cedana-operator.secretName" -}}
{{- if .Values.cedana.fromCedanaChart.enabled }}
{{- .Values.cedana.fromCedanaChart.secretName }}
{{- else }}
{{- default (printf "%s-credentials" (include "cedana-operator.fullname" .)) .Values.cedana.existingSecret }}
{{- end }}
{{- end }}

{{/* The token's key in that Secret. */}}
{{- define "cedana-operator.tokenKey" -}}
{{- if .Values.cedana.fromCedanaChart.enabled }}
{{- .Values.cedana.fromCedanaChart.tokenKey }}
{{- else -}}
CEDANA_AUTH_TOKEN
{{- end }}
{{- end }}

{{- define "cedana-operator.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* Where the token and the CA bundle are mounted in the operator's container. */}}
{{- define "cedana-operator.tokenDir" -}}/var/run/secrets/cedana{{- end }}
{{- define "cedana-operator.caDir" -}}/etc/cedana/ca{{- end }}

{{- define "cedana-operator.caConfigMap" -}}
{{- if .Values.cedana.ca.existingConfigMap }}
{{- .Values.cedana.ca.existingConfigMap }}
{{- else if .Values.cedana.ca.bundle }}
{{- printf "%s-ca" (include "cedana-operator.fullname" .) }}
{{- end }}
{{- end }}

{{/* Settings the values cannot express alone; each failure names the value to change. */}}
{{- define "cedana-operator.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.operator.leaderElection.enabled) }}
{{- fail "operator.leaderElection.enabled must be true when replicaCount > 1: two replicas without a leader would both act on every object" }}
{{- end }}
{{- if and .Values.cedana.authToken .Values.cedana.existingSecret }}
{{- fail "cedana.authToken and cedana.existingSecret are both set: give the token in one place only" }}
{{- end }}
{{- if and .Values.cedana.fromCedanaChart.enabled (or .Values.cedana.authToken .Values.cedana.existingSecret) }}
{{- fail "cedana.fromCedanaChart.enabled reads the token from Cedana's Secret: leave cedana.authToken and cedana.existingSecret empty" }}
{{- end }}
{{- if and .Values.cedana.authToken (not (and .Values.cedana.url .Values.cedana.clusterId)) }}
{{- fail "cedana.url and cedana.clusterId are required with cedana.authToken: the Secret the chart creates holds only the token" }}
{{- end }}
{{- if and .Values.cedana.ca.bundle .Values.cedana.ca.existingConfigMap }}
{{- fail "cedana.ca.bundle and cedana.ca.existingConfigMap are both set: give the CA bundle in one place only" }}
{{- end }}
{{- if and .Values.metrics.serviceMonitor.enabled (not .Values.metrics.service.enabled) }}
{{- fail "metrics.serviceMonitor.enabled needs metrics.service.enabled: the ServiceMonitor scrapes that Service" }}
{{- end }}
{{- end }}
