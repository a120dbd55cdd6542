{{- define "reckon.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "reckon.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component (a role, or projectors-<projection>). */}}
{{- define "reckon.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "reckon.storesSecret" -}}
{{- default (printf "%s-stores" (include "reckon.fullname" .)) .Values.stores.existingSecret -}}
{{- end -}}

{{- define "reckon.keysSecret" -}}
{{- default (printf "%s-api-keys" (include "reckon.fullname" .)) .Values.apiKeys.existingSecret -}}
{{- end -}}

{{/* The environment every Reckon container gets: settings from the ConfigMap, stores and keys from Secrets. */}}
{{- define "reckon.envFrom" -}}
- configMapRef:
    name: {{ include "reckon.fullname" . }}-config
- secretRef:
    name: {{ include "reckon.storesSecret" . }}
- secretRef:
    name: {{ include "reckon.keysSecret" . }}
{{- end -}}

{{/* A Reckon pod: `.root` the chart context, `.component`, `.args`, `.resources`, `.env` (extra). */}}
{{- define "reckon.podTemplate" -}}
metadata:
  labels:
    {{- include "reckon.labels" .root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
  annotations:
    checksum/config: {{ include (print .root.Template.BasePath "/configmap.yaml") .root | sha256sum }}
spec:
  {{- with .root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  automountServiceAccountToken: false
  securityContext:
    {{- toYaml .root.Values.podSecurityContext | nindent 4 }}
  containers:
    - name: reckon
      image: "{{ .root.Values.image.repository }}:{{ .root.Values.image.tag }}"
      imagePullPolicy: {{ .root.Values.image.pullPolicy }}
      args:
        {{- toYaml .args | nindent 8 }}
      envFrom:
        {{- include "reckon.envFrom" .root | nindent 8 }}
      {{- with .env }}
      env:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      ports:
        - name: http
          containerPort: 8080
          protocol: TCP
      readinessProbe:
        httpGet: { path: /readyz, port: http }
        periodSeconds: 5
        timeoutSeconds: 3
        failureThreshold: 3
      livenessProbe:
        httpGet: { path: /healthz, port: http }
        initialDelaySeconds: 10
        periodSeconds: 10
        timeoutSeconds: 3
        failureThreshold: 6
      resources:
        {{- toYaml .resources | nindent 8 }}
      securityContext:
        {{- toYaml .root.Values.securityContext | nindent 8 }}
      volumeMounts:
        - { name: tmp, mountPath: /tmp }
        - { name: state, mountPath: /app/.reckon }
  volumes:
    - { name: tmp, emptyDir: {} }
    - { name: state, emptyDir: {} }
{{- end -}}
