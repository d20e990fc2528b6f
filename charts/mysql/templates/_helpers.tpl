{{/*
Names. Every resource is <global.platformName>-mysql[-<part>], whatever the release is called,
so the other components of one platform find MySQL by a fixed name.
*/}}
{{- define "mysql.platformName" -}}
{{- (.Values.global).platformName | default "bigdata" -}}
{{- end -}}

{{- define "mysql.fullname" -}}
{{- printf "%s-mysql" (include "mysql.platformName" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mysql.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: name + instance + component. Call with (dict "ctx" $ "component" "mysql"). */}}
{{- define "mysql.selectorLabels" -}}
app.kubernetes.io/name: mysql
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* All labels. Call with (dict "ctx" $ "component" "mysql"). */}}
{{- define "mysql.labels" -}}
{{ include "mysql.selectorLabels" . }}
app.kubernetes.io/part-of: bigdata
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
helm.sh/chart: {{ include "mysql.chart" .ctx }}
{{- end -}}

{{/* The Secret holding the passwords: existingSecret or <fullname>. */}}
{{- define "mysql.secretName" -}}
{{- .Values.auth.existingSecret | default (include "mysql.fullname" .) -}}
{{- end -}}

{{- define "mysql.image" -}}
{{- printf "%s:%s" .Values.image.repository .Values.image.tag -}}
{{- end -}}

{{- define "mysql.storageClass" -}}
{{- .Values.persistence.storageClass | default (.Values.global).storageClass | default "" -}}
{{- end -}}

{{/* imagePullSecrets from global.imagePullSecrets: names or {name: ...}. */}}
{{- define "mysql.imagePullSecrets" -}}
{{- with (.Values.global).imagePullSecrets -}}
imagePullSecrets:
{{- range . }}
{{- if kindIs "string" . }}
  - name: {{ . }}
{{- else }}
  - name: {{ .name }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Pod annotations: global.podAnnotations + extra ones given as the "extra" dict. */}}
{{- define "mysql.podAnnotations" -}}
{{- $ann := merge (dict) (.extra | default dict) ((.ctx.Values.global).podAnnotations | default dict) -}}
{{- with $ann }}
{{- toYaml . }}
{{- end }}
{{- end -}}

{{/* The my.cnf rendered from .Values.configuration. */}}
{{- define "mysql.mycnf" -}}
# Rendered by the bigdata mysql chart from values (configuration.*).
[mysqld]
{{- range $k, $v := .Values.configuration.mysqld }}
{{ $k }} = {{ $v }}
{{- end }}
{{- with .Values.configuration.client }}

[client]
{{- range $k, $v := . }}
{{ $k }} = {{ $v }}
{{- end }}
{{- end }}
{{- with .Values.configuration.extra }}

{{ . }}
{{- end }}
{{- end -}}
