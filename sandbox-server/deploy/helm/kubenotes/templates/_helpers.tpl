{{- define "kubenotes.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "kubenotes.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "kubenotes.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kubenotes.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "kubenotes.fullname" .) -}}
{{- else -}}
{{- required "serviceAccount.name: name the ServiceAccount to use when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The label value on this release's session namespaces (--instance). */}}
{{- define "kubenotes.instance" -}}
{{- $instance := .Values.workshop.instance | default (.Release.Name | lower | trunc 32 | trimSuffix "-") -}}
{{- if not (regexMatch "^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$" $instance) -}}
{{- fail (printf "workshop.instance %q must be a short lowercase name (a-z, 0-9, -; at most 32)" $instance) -}}
{{- end -}}
{{- $instance -}}
{{- end -}}

{{- define "kubenotes.secretName" -}}
{{- .Values.workshop.existingSecret | default (include "kubenotes.fullname" .) -}}
{{- end -}}
