{{/*
Names, labels and small shared snippets. Every template takes its names and
labels from here so that selectors stay consistent.
*/}}

{{/* Chart name, overridable; DNS labels are at most 63 characters. */}}
{{- define "messaging.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: "<release>-<chart>", or just the release name when
it already contains the chart name.
*/}}
{{- define "messaging.fullname" -}}
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

{{/* "name-version" for the helm.sh/chart label. */}}
{{- define "messaging.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object carries. */}}
{{- define "messaging.labels" -}}
helm.sh/chart: {{ include "messaging.chart" . }}
app.kubernetes.io/name: {{ include "messaging.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ include "messaging.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: messaging
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Selector of the server pods. The component label keeps the migration Job's
pods out of the Services, the PDB and the NetworkPolicy.
*/}}
{{- define "messaging.selectorLabels" -}}
app.kubernetes.io/name: {{ include "messaging.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end }}

{{/* Labels of the server pods and the objects that belong to them. */}}
{{- define "messaging.serverLabels" -}}
{{ include "messaging.labels" . }}
app.kubernetes.io/component: server
{{- end }}

{{/* Labels of the `helm test` pod (the NetworkPolicy lets it call the gRPC port). */}}
{{- define "messaging.testLabels" -}}
{{ include "messaging.labels" . }}
app.kubernetes.io/component: test
{{- end }}

{{/* Labels of the migration Job and its pods. */}}
{{- define "messaging.migrateLabels" -}}
{{ include "messaging.labels" . }}
app.kubernetes.io/component: migrate
{{- end }}

{{- define "messaging.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{/* repository:tag, or repository@digest when a digest pins the image. */}}
{{- define "messaging.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "messaging.imageTag" .) }}
{{- end }}
{{- end }}

{{- define "messaging.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "messaging.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
ServiceAccount of the migration Job. A chart-created account does not exist
yet when the pre-install hook runs, so the Job only uses an account that is
there before the release.
*/}}
{{- define "messaging.migrateServiceAccountName" -}}
{{- if .Values.migrations.serviceAccountName }}
{{- .Values.migrations.serviceAccountName }}
{{- else if not .Values.serviceAccount.create }}
{{- include "messaging.serviceAccountName" . }}
{{- else }}
{{- "default" }}
{{- end }}
{{- end }}

{{- define "messaging.configMapName" -}}
{{- printf "%s-config" (include "messaging.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The Secret the server pods read: the operator's, or the chart's. */}}
{{- define "messaging.secretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else }}
{{- include "messaging.fullname" . }}
{{- end }}
{{- end }}

{{/*
Whether the chart renders the migration hook's own Secret: the schema owner's
URL given as a value, or a chart-managed server Secret to copy it from (an
ordinary release object, created only after the pre-install hooks have run).
Helm deletes it when the migration succeeds.
*/}}
{{- define "messaging.hookMigrateSecret" -}}
{{- if and .Values.migrations.enabled (not .Values.secrets.existingMigrateSecret) (or .Values.secrets.migrateDatabaseUrl (not .Values.secrets.existingSecret)) }}true{{- end }}
{{- end }}

{{/* The Secret the migration hook reads: the owner's, its own copy, or the server's. */}}
{{- define "messaging.migrateSecretName" -}}
{{- if .Values.secrets.existingMigrateSecret }}
{{- .Values.secrets.existingMigrateSecret }}
{{- else if include "messaging.hookMigrateSecret" . }}
{{- printf "%s-migrate" (include "messaging.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- .Values.secrets.existingSecret }}
{{- end }}
{{- end }}

{{/* The key of the migration URL in that Secret. */}}
{{- define "messaging.migrateUrlKey" -}}
{{- if .Values.secrets.existingMigrateSecret }}
{{- .Values.secrets.existingSecretKeys.migrateDatabaseUrl }}
{{- else if include "messaging.hookMigrateSecret" . }}
{{- "MESSAGING_MIGRATE_DATABASE_URL" }}
{{- else }}
{{- .Values.secrets.existingSecretKeys.databaseUrl }}
{{- end }}
{{- end }}

{{- define "messaging.databaseUrlKey" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecretKeys.databaseUrl }}
{{- else }}
{{- "DATABASE_URL" }}
{{- end }}
{{- end }}

{{- define "messaging.jwtSecretKey" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecretKeys.jwtSecret }}
{{- else }}
{{- "MESSAGING_JWT_SECRET" }}
{{- end }}
{{- end }}

{{/*
Data of a chart-managed Secret. Rendering stops with a clear message when
neither an existing Secret nor both values are given: a release without
database credentials can only crash-loop.
*/}}
{{- define "messaging.secretData" -}}
{{- $url := required "secrets.databaseUrl is required (or set secrets.existingSecret to a Secret you manage)" .Values.secrets.databaseUrl }}
{{- $jwt := required "secrets.jwtSecret is required, at least 32 characters (or set secrets.existingSecret to a Secret you manage)" .Values.secrets.jwtSecret }}
DATABASE_URL: {{ $url | b64enc | quote }}
MESSAGING_JWT_SECRET: {{ $jwt | b64enc | quote }}
{{- end }}

{{/* Secret environment variables, shared by the server and the migration Job. */}}
{{- define "messaging.secretEnv" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ include "messaging.databaseUrlKey" .root }}
- name: MESSAGING_JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ include "messaging.jwtSecretKey" .root }}
{{- end }}

{{/* Pod spec fields shared by the server and the migration Job. */}}
{{- define "messaging.podCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
enableServiceLinks: false
{{- end }}

{{/*
Checks across values that a JSON schema cannot express. `fail` aborts
`helm template`/`install`/`upgrade` (helm lint only logs it).
*/}}
{{- define "messaging.validate" -}}
{{- $drain := int .Values.config.drainTimeoutSeconds }}
{{- $delay := int .Values.config.shutdownDelaySeconds }}
{{- if le (int .Values.terminationGracePeriodSeconds) (add $drain $delay) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be greater than config.drainTimeoutSeconds (%d) + config.shutdownDelaySeconds (%d), or Kubernetes kills pods before they drain" (int .Values.terminationGracePeriodSeconds) $drain $delay) }}
{{- end }}
{{- if and .Values.tls.enabled (not .Values.tls.secretName) }}
{{- fail "tls.enabled needs tls.secretName (a Secret of type kubernetes.io/tls)" }}
{{- end }}
{{- if and .Values.metrics.serviceMonitor.enabled (not .Values.metrics.enabled) }}
{{- fail "metrics.serviceMonitor.enabled needs metrics.enabled" }}
{{- end }}
{{- if and .Values.grafanaDashboard.enabled (not .Values.metrics.enabled) }}
{{- fail "grafanaDashboard.enabled needs metrics.enabled (the dashboard shows the server's metrics)" }}
{{- end }}
{{- if and .Values.metrics.enabled (eq (int .Values.metrics.port) (int .Values.config.grpcPort)) }}
{{- fail "metrics.port must differ from config.grpcPort" }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail "autoscaling.minReplicas must not exceed autoscaling.maxReplicas" }}
{{- end }}
{{- if and .Values.secrets.migrateDatabaseUrl .Values.secrets.existingMigrateSecret }}
{{- fail "secrets.migrateDatabaseUrl and secrets.existingMigrateSecret: set one, not both" }}
{{- end }}
{{- if and .Values.autoscaling.enabled (not .Values.autoscaling.targetCPUUtilizationPercentage) (not .Values.autoscaling.targetMemoryUtilizationPercentage) }}
{{- fail "autoscaling.enabled needs targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage" }}
{{- end }}
{{- end }}

{{/* Timing fields of a probe, from one entry of .Values.probes. */}}
{{- define "messaging.probeTiming" -}}
initialDelaySeconds: {{ .initialDelaySeconds }}
periodSeconds: {{ .periodSeconds }}
timeoutSeconds: {{ .timeoutSeconds }}
failureThreshold: {{ .failureThreshold }}
{{- with .successThreshold }}
successThreshold: {{ . }}
{{- end }}
{{- end }}
