{{/* Chart name. */}}
{{- define "zonesync.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Resource name: the release name, plus the chart name unless it already contains it. */}}
{{- define "zonesync.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* `controller` (Deployment, `zonesync run`) or `sync` (CronJob, `zonesync sync`). */}}
{{- define "zonesync.component" -}}
{{- if eq .Values.mode "cronjob" -}}sync{{- else -}}controller{{- end -}}
{{- end -}}

{{/* Leader election: a controller with more than one replica. */}}
{{- define "zonesync.leaderElection" -}}
{{- if and (eq .Values.mode "controller") (gt (int .Values.replicaCount) 1) -}}true{{- end -}}
{{- end -}}

{{- define "zonesync.selectorLabels" -}}
app.kubernetes.io/name: {{ include "zonesync.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: {{ include "zonesync.component" . }}
{{- end -}}

{{- define "zonesync.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "zonesync.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: zonesync
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "zonesync.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "zonesync.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The provider name; external-dns's older string form (`provider: aws`) is accepted too. */}}
{{- define "zonesync.providerName" -}}
{{- if kindIs "string" .Values.provider -}}
{{- .Values.provider -}}
{{- else -}}
{{- .Values.provider.name -}}
{{- end -}}
{{- end -}}

{{- define "zonesync.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion (toString .Values.image.tag)) -}}
{{- end -}}

{{/* Where the TSIG Secret is mounted; the key is always the file `secret` there. */}}
{{- define "zonesync.tsigDir" -}}/etc/zonesync/tsig{{- end -}}

{{- define "zonesync.usesTsig" -}}
{{- if and (eq (include "zonesync.providerName" .) "rfc2136") (not .Values.rfc2136.insecure) -}}true{{- end -}}
{{- end -}}

{{/*
extraArgs as external-dns's chart accepts them: a list of arguments, or a map of flag to value
(`true` or an empty value: the bare flag; `false`: left out; a list: the flag repeated).
*/}}
{{- define "zonesync.extraArgs" -}}
{{- $root := . -}}
{{- $extra := list -}}
{{- if kindIs "map" .Values.extraArgs -}}
{{- range $key, $value := .Values.extraArgs -}}
{{- if kindIs "bool" $value -}}
{{- if $value -}}{{- $extra = append $extra (printf "--%s" $key) -}}{{- end -}}
{{- else if kindIs "slice" $value -}}
{{- range $value -}}{{- $extra = append $extra (printf "--%s=%s" $key (tpl (toString .) $root)) -}}{{- end -}}
{{- else if or (kindIs "invalid" $value) (eq (toString $value) "") -}}
{{- $extra = append $extra (printf "--%s" $key) -}}
{{- else -}}
{{- $extra = append $extra (printf "--%s=%s" $key (tpl (toString $value) $root)) -}}
{{- end -}}
{{- end -}}
{{- else -}}
{{- range .Values.extraArgs -}}{{- $extra = append $extra (tpl (toString .) $root) -}}{{- end -}}
{{- end -}}
{{- toJson $extra -}}
{{- end -}}

{{/*
The zonesync container's arguments, as a list of [flag, value, repeatable] (value "" renders
the bare flag). A flag that takes one value is left out when extraArgs gives it: extraArgs
wins, as the last occurrence does in external-dns.
*/}}
{{- define "zonesync.flags" -}}
{{- $v := .Values -}}
{{- $provider := include "zonesync.providerName" . -}}
{{- $f := list -}}
{{- if eq $v.mode "controller" -}}
{{- if include "zonesync.leaderElection" . -}}
{{- $f = append $f (list "leader-election" "" false) -}}
{{- if ne (include "zonesync.fullname" .) "zonesync" -}}
{{- $f = append $f (list "leader-election-lease-name" (include "zonesync.fullname" .) false) -}}
{{- end -}}
{{- end -}}
{{- $f = append $f (list "metrics-address" ":7979" false) -}}
{{- with $v.interval -}}{{- $f = append $f (list "interval" (toString .) false) -}}{{- end -}}
{{- end -}}
{{- range $v.sources -}}{{- $f = append $f (list "source" . true) -}}{{- end -}}
{{- $f = append $f (list "provider" $provider false) -}}
{{- if eq $provider "rfc2136" -}}
{{- $hosts := kindIs "slice" $v.rfc2136.host | ternary $v.rfc2136.host (list $v.rfc2136.host) | compact -}}
{{- if not $hosts -}}{{- fail "rfc2136.host is required: your DNS server (host or host:port)" -}}{{- end -}}
{{- if not $v.rfc2136.zones -}}{{- fail "rfc2136.zones is required: the zones zonesync manages on rfc2136.host" -}}{{- end -}}
{{- range $hosts -}}
{{- $f = append $f (list "rfc2136-host" (toString .) true) -}}
{{- end -}}
{{- with $v.rfc2136.port -}}{{- $f = append $f (list "rfc2136-port" (toString .) false) -}}{{- end -}}
{{- range $v.rfc2136.zones -}}{{- $f = append $f (list "rfc2136-zone" . true) -}}{{- end -}}
{{- if $v.rfc2136.insecure -}}
{{- $f = append $f (list "rfc2136-insecure" "" false) -}}
{{- else -}}
{{- $f = append $f (list "rfc2136-tsig-keyname" (required "rfc2136.tsigKeyName is required unless rfc2136.insecure" $v.rfc2136.tsigKeyName) false) -}}
{{- with $v.rfc2136.tsigAlgorithm -}}{{- $f = append $f (list "rfc2136-tsig-secret-alg" . false) -}}{{- end -}}
{{- $f = append $f (list "rfc2136-tsig-secret-file" (printf "%s/secret" (include "zonesync.tsigDir" .)) false) -}}
{{- end -}}
{{- else if or (eq $provider "aws") (eq $provider "route53") -}}
{{- with $v.aws.zoneType -}}{{- $f = append $f (list "aws-zone-type" . false) -}}{{- end -}}
{{- range $v.aws.zoneTags -}}{{- $f = append $f (list "aws-zone-tags" . true) -}}{{- end -}}
{{- range $v.aws.zoneIdFilters -}}{{- $f = append $f (list "zone-id-filter" . true) -}}{{- end -}}
{{- with $v.aws.assumeRoleArn -}}{{- $f = append $f (list "aws-assume-role" . false) -}}{{- end -}}
{{- with $v.aws.assumeRoleExternalId -}}{{- $f = append $f (list "aws-assume-role-external-id" . false) -}}{{- end -}}
{{- if $v.aws.preferCNAME -}}{{- $f = append $f (list "aws-prefer-cname" "" false) -}}{{- end -}}
{{- if kindIs "bool" $v.aws.evaluateTargetHealth -}}{{- $f = append $f (list "aws-evaluate-target-health" (toString $v.aws.evaluateTargetHealth) false) -}}{{- end -}}
{{- if not (kindIs "invalid" $v.aws.batchChangeSize) -}}{{- $f = append $f (list "aws-batch-change-size" (toString $v.aws.batchChangeSize) false) -}}{{- end -}}
{{- with $v.aws.zonesCacheDuration -}}{{- $f = append $f (list "aws-zones-cache-duration" . false) -}}{{- end -}}
{{- if not (kindIs "invalid" $v.aws.apiRetries) -}}{{- $f = append $f (list "aws-api-retries" (toString $v.aws.apiRetries) false) -}}{{- end -}}
{{- else if eq $provider "webhook" -}}
{{- $f = append $f (list "webhook-provider-url" $v.provider.webhook.url false) -}}
{{- with $v.provider.webhook.readTimeout -}}{{- $f = append $f (list "webhook-provider-read-timeout" (toString .) false) -}}{{- end -}}
{{- with $v.provider.webhook.writeTimeout -}}{{- $f = append $f (list "webhook-provider-write-timeout" (toString .) false) -}}{{- end -}}
{{- end -}}
{{- range $v.domainFilters -}}{{- $f = append $f (list "domain-filter" . true) -}}{{- end -}}
{{- range $v.excludeDomains -}}{{- $f = append $f (list "exclude-domains" . true) -}}{{- end -}}
{{- with $v.labelFilter -}}{{- $f = append $f (list "label-filter" . false) -}}{{- end -}}
{{- with $v.annotationFilter -}}{{- $f = append $f (list "annotation-filter" . false) -}}{{- end -}}
{{- with $v.annotationPrefix -}}{{- $f = append $f (list "annotation-prefix" . false) -}}{{- end -}}
{{- range $v.managedRecordTypes -}}{{- $f = append $f (list "managed-record-types" . true) -}}{{- end -}}
{{- if and $v.txtPrefix $v.txtSuffix -}}
{{- fail "txtPrefix and txtSuffix are mutually exclusive: set one of them" -}}
{{- end -}}
{{- if not (or $v.txtOwnerId (has "txt-owner-id" (include "zonesync.extraArgNames" . | fromJsonArray))) -}}
{{- fail "txtOwnerId is required: this cluster's owner id, unique among everything writing to the same zones (taking over from external-dns: its txtOwnerId, `default` if it had none)" -}}
{{- end -}}
{{- with $v.txtOwnerId -}}{{- $f = append $f (list "txt-owner-id" . false) -}}{{- end -}}
{{- with $v.txtPrefix -}}{{- $f = append $f (list "txt-prefix" . false) -}}{{- end -}}
{{- with $v.txtSuffix -}}{{- $f = append $f (list "txt-suffix" . false) -}}{{- end -}}
{{- with $v.policy -}}{{- $f = append $f (list "policy" . false) -}}{{- end -}}
{{- with $v.registry -}}{{- $f = append $f (list "registry" . false) -}}{{- end -}}
{{- if not (kindIs "invalid" $v.safety.maxDeletePercent) -}}{{- $f = append $f (list "max-delete-percent" (toString $v.safety.maxDeletePercent) false) -}}{{- end -}}
{{- if not (kindIs "invalid" $v.safety.maxUpdatePercent) -}}{{- $f = append $f (list "max-update-percent" (toString $v.safety.maxUpdatePercent) false) -}}{{- end -}}
{{- if not (kindIs "invalid" $v.safety.minOwned) -}}{{- $f = append $f (list "safety-min-owned" (toString $v.safety.minOwned) false) -}}{{- end -}}
{{- with $v.safety.targetGracePeriod -}}{{- $f = append $f (list "target-grace-period" . false) -}}{{- end -}}
{{- with $v.logLevel -}}
{{- /* external-dns's level names that zonesync spells differently */ -}}
{{- $level := get (dict "warning" "warn" "fatal" "error" "panic" "error") . | default . -}}
{{- $f = append $f (list "log-level" $level false) -}}
{{- end -}}
{{- with $v.logFormat -}}{{- $f = append $f (list "log-format" . false) -}}{{- end -}}
{{- toJson $f -}}
{{- end -}}

{{/* The flag names extraArgs gives. */}}
{{- define "zonesync.extraArgNames" -}}
{{- $given := list -}}
{{- range include "zonesync.extraArgs" . | fromJsonArray -}}{{- $given = append $given (regexFind "^--[^=]+" (toString .) | trimPrefix "--") -}}{{- end -}}
{{- toJson $given -}}
{{- end -}}

{{- define "zonesync.args" -}}
{{- $extra := include "zonesync.extraArgs" . | fromJsonArray -}}
{{- $given := include "zonesync.extraArgNames" . | fromJsonArray -}}
{{- $args := list (ternary "sync" "run" (eq .Values.mode "cronjob")) -}}
{{- range include "zonesync.flags" . | fromJsonArray -}}
{{- $name := index . 0 -}}{{- $value := index . 1 -}}
{{- if or (index . 2) (not (has $name $given)) -}}
{{- $args = append $args (ternary (printf "--%s" $name) (printf "--%s=%s" $name $value) (eq $value "")) -}}
{{- end -}}
{{- end -}}
{{- concat $args $extra | toYaml -}}
{{- end -}}

{{/* The external-dns webhook provider, beside zonesync in the pod; it listens on localhost. */}}
{{- define "zonesync.webhookContainer" -}}
{{- with .Values.provider.webhook -}}
- name: webhook
  image: {{ required "provider.webhook.image.repository is required with provider.name webhook" .image.repository }}:{{ required "provider.webhook.image.tag is required with provider.name webhook" .image.tag }}
  imagePullPolicy: {{ .image.pullPolicy }}
  {{- with .args }}
  args:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .env }}
  env:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  ports:
    - name: http-webhook
      containerPort: {{ .service.port }}
      protocol: TCP
  {{- with .livenessProbe }}
  livenessProbe:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .readinessProbe }}
  readinessProbe:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .securityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .extraVolumeMounts }}
  volumeMounts:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
{{- end -}}

{{/* Pod settings shared by the Deployment and the CronJob's pods. */}}
{{- define "zonesync.podSpec" -}}
{{- $provider := include "zonesync.providerName" . -}}
serviceAccountName: {{ include "zonesync.serviceAccountName" . }}
automountServiceAccountToken: true
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.podSecurityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . | quote }}
{{- end }}
{{- if not (kindIs "invalid" .Values.terminationGracePeriodSeconds) }}
terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .Values.affinity }}
affinity:
  {{- toYaml .Values.affinity | nindent 2 }}
{{- else if include "zonesync.leaderElection" . }}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "zonesync.selectorLabels" . | nindent 14 }}
{{- end }}
{{- with .Values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if and (eq $provider "webhook") (eq .Values.mode "cronjob") }}
# A native sidecar (Kubernetes 1.29+): it starts first and stops when the sync is done, so the
# Job completes.
initContainers:
  {{- include "zonesync.webhookContainer" . | nindent 2 }}
    restartPolicy: Always
{{- end }}
containers:
  - name: zonesync
    image: {{ include "zonesync.image" . }}
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    args:
      {{- include "zonesync.args" . | nindent 6 }}
    env:
      - name: POD_NAME
        valueFrom:
          fieldRef:
            fieldPath: metadata.name
      - name: POD_NAMESPACE
        valueFrom:
          fieldRef:
            fieldPath: metadata.namespace
      {{- if and (or (eq $provider "aws") (eq $provider "route53")) .Values.aws.region }}
      - name: AWS_REGION
        value: {{ .Values.aws.region | quote }}
      {{- end }}
      {{- with .Values.env }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
    {{- if eq .Values.mode "controller" }}
    ports:
      - name: http
        containerPort: 7979
        protocol: TCP
    {{- with .Values.livenessProbe }}
    livenessProbe:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- with .Values.readinessProbe }}
    readinessProbe:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- end }}
    resources:
      {{- if .Values.resources }}
      {{- toYaml .Values.resources | nindent 6 }}
      {{- else if eq .Values.mode "cronjob" }}
      requests:
        cpu: 50m
        memory: 192Mi
      limits:
        memory: 256Mi
      {{- else }}
      requests:
        cpu: 50m
        memory: 96Mi
      limits:
        memory: 256Mi
      {{- end }}
    {{- with .Values.securityContext }}
    securityContext:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- if or (include "zonesync.usesTsig" .) .Values.extraVolumeMounts }}
    volumeMounts:
      {{- if include "zonesync.usesTsig" . }}
      - name: tsig
        mountPath: {{ include "zonesync.tsigDir" . }}
        readOnly: true
      {{- end }}
      {{- with .Values.extraVolumeMounts }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
    {{- end }}
  {{- if and (eq $provider "webhook") (eq .Values.mode "controller") }}
  {{- include "zonesync.webhookContainer" . | nindent 2 }}
  {{- end }}
{{- if or (include "zonesync.usesTsig" .) .Values.extraVolumes }}
volumes:
  {{- if include "zonesync.usesTsig" . }}
  - name: tsig
    secret:
      secretName: {{ .Values.rfc2136.tsigSecretName }}
      defaultMode: 288 # 0440: owner and group may read
      items:
        - key: {{ .Values.rfc2136.tsigSecretKey }}
          path: secret
  {{- end }}
  {{- with .Values.extraVolumes }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}
{{- end -}}
