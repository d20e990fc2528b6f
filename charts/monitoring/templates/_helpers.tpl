{{/*
Names. Every resource is <global.platformName>-<prometheus|grafana>[-<part>], whatever the release is called,
so the platform's tools find them by a fixed name.
*/}}
{{- define "monitoring.platformName" -}}
{{- (.Values.global).platformName | default "bigdata" -}}
{{- end -}}

{{- define "monitoring.prometheus.fullname" -}}
{{- printf "%s-prometheus" (include "monitoring.platformName" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "monitoring.grafana.fullname" -}}
{{- printf "%s-grafana" (include "monitoring.platformName" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "monitoring.kubeStateMetrics.fullname" -}}
{{- printf "%s-kube-state-metrics" (include "monitoring.platformName" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The kubelet ClusterRole and its binding: cluster-wide, so named after the release's namespace too (one
monitoring release per namespace). */}}
{{- define "monitoring.kubelet.clusterRoleName" -}}
{{- printf "%s-%s-kubelet" (include "monitoring.prometheus.fullname" .) .Release.Namespace | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "monitoring.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: name + instance + component. Call with (dict "ctx" $ "component" "prometheus"). */}}
{{- define "monitoring.selectorLabels" -}}
app.kubernetes.io/name: monitoring
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* All labels. Call with (dict "ctx" $ "component" "prometheus"). */}}
{{- define "monitoring.labels" -}}
{{ include "monitoring.selectorLabels" . }}
app.kubernetes.io/part-of: bigdata
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
helm.sh/chart: {{ include "monitoring.chart" .ctx }}
{{- end -}}

{{- define "monitoring.prometheus.image" -}}
{{- printf "%s:%s" .Values.prometheus.image.repository .Values.prometheus.image.tag -}}
{{- end -}}

{{- define "monitoring.kubeStateMetrics.image" -}}
{{- printf "%s:%s" .Values.kubeStateMetrics.image.repository .Values.kubeStateMetrics.image.tag -}}
{{- end -}}

{{- define "monitoring.grafana.image" -}}
{{- printf "%s:%s" .Values.grafana.image.repository .Values.grafana.image.tag -}}
{{- end -}}

{{/* The Secret holding Grafana's admin user and password: existingSecret or <platformName>-grafana. */}}
{{- define "monitoring.grafana.secretName" -}}
{{- .Values.grafana.admin.existingSecret | default (include "monitoring.grafana.fullname" .) -}}
{{- end -}}

{{/* Prometheus's URL inside the cluster (Grafana's datasource, the tests). */}}
{{- define "monitoring.prometheus.url" -}}
{{- printf "http://%s:%v" (include "monitoring.prometheus.fullname" .) .Values.prometheus.port -}}
{{- end -}}

{{/* The namespaces Prometheus discovers pods in. */}}
{{- define "monitoring.prometheus.namespaces" -}}
{{- .Values.prometheus.namespaces | default (list .Release.Namespace) | toJson -}}
{{- end -}}

{{/* imagePullSecrets from global.imagePullSecrets: names or {name: ...}. */}}
{{- define "monitoring.imagePullSecrets" -}}
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
{{- define "monitoring.podAnnotations" -}}
{{- $ann := merge (dict) (.extra | default dict) ((.ctx.Values.global).podAnnotations | default dict) -}}
{{- with $ann }}
{{- toYaml . }}
{{- end }}
{{- end -}}

{{/* The scheduling fields of a pod from one part's values (.part: .Values.prometheus, .grafana or
.kubeStateMetrics). */}}
{{- define "monitoring.scheduling" -}}
{{- with .part.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .part.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .part.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Kubernetes discovery of the pods of the scraped namespaces with these labels. Call with (dict "ctx" $ "labels"
"a=b,c=d"). */}}
{{- define "monitoring.prometheus.podDiscovery" -}}
- role: pod
  namespaces:
    names: {{ include "monitoring.prometheus.namespaces" .ctx }}
  selectors:
    - role: pod
      label: {{ .labels }}
{{- end -}}

{{/* Only Running pods, labelled namespace and pod (the dashboards use both). */}}
{{- define "monitoring.prometheus.runningPods" -}}
- source_labels: [__meta_kubernetes_pod_phase]
  regex: Running
  action: keep
- source_labels: [__meta_kubernetes_namespace]
  target_label: namespace
- source_labels: [__meta_kubernetes_pod_name]
  target_label: pod
{{- end -}}

{{/* The relabelling of a discovered pod: only those annotated prometheus.io/scrape and Running, one target per pod on
the annotated port, labelled namespace, pod, app and component (the dashboards use them). */}}
{{- define "monitoring.prometheus.podRelabels" -}}
- source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
  regex: "true"
  action: keep
{{ include "monitoring.prometheus.runningPods" . }}
# one target per pod, on the annotated port (discovery gives one per declared container port)
- source_labels: [__meta_kubernetes_pod_ip, __meta_kubernetes_pod_annotation_prometheus_io_port]
  regex: "(.+);([0-9]+)"
  replacement: "$1:$2"
  target_label: __address__
- source_labels: [__meta_kubernetes_pod_label_app_kubernetes_io_name]
  target_label: app
- source_labels: [__meta_kubernetes_pod_label_app_kubernetes_io_component]
  target_label: component
{{- end -}}

{{/*
Prometheus's configuration: itself, and every pod of the platform (label app.kubernetes.io/part-of=bigdata)
that asks to be scraped with the prometheus.io/scrape, /port and /path annotations the components' charts set
with their metrics.enabled. Targets carry the pod, namespace, app and component labels the dashboards use.
*/}}
{{- define "monitoring.prometheus.config" -}}
# Rendered by the bigdata monitoring chart from values (prometheus.*).
global:
  scrape_interval: {{ .Values.prometheus.scrapeInterval }}
  evaluation_interval: {{ .Values.prometheus.scrapeInterval }}
  external_labels:
    platform: {{ include "monitoring.platformName" . }}
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["localhost:{{ .Values.prometheus.port }}"]
  - job_name: bigdata-pods
    kubernetes_sd_configs:
      {{- include "monitoring.prometheus.podDiscovery" (dict "ctx" . "labels" "app.kubernetes.io/part-of=bigdata") | nindent 6 }}
    relabel_configs:
      {{- include "monitoring.prometheus.podRelabels" . | nindent 6 }}
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_path]
        regex: "(.+)"
        target_label: __metrics_path__
  # Spark's executors, as their driver sees them (spark.ui.prometheus.enabled: on with the spark chart's
  # metrics.enabled): a second path on each annotated driver pod (Spark labels it spark-role=driver)
  - job_name: spark-executors
    metrics_path: /metrics/executors/prometheus
    kubernetes_sd_configs:
      {{- include "monitoring.prometheus.podDiscovery" (dict "ctx" . "labels" "app.kubernetes.io/part-of=bigdata,spark-role=driver") | nindent 6 }}
    relabel_configs:
      {{- include "monitoring.prometheus.podRelabels" . | nindent 6 }}
  # Kafka run by the Strimzi operator (the kafka chart's strimzi.enabled, with metrics.enabled): its pods carry
  # Strimzi's labels, not the platform's, and serve the operator's JMX exporter on the container port tcp-prometheus
  - job_name: strimzi-kafka
    kubernetes_sd_configs:
      {{- include "monitoring.prometheus.podDiscovery" (dict "ctx" . "labels" "strimzi.io/kind=Kafka") | nindent 6 }}
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_container_port_name]
        regex: tcp-prometheus
        action: keep
      {{- include "monitoring.prometheus.runningPods" . | nindent 6 }}
      - target_label: app
        replacement: kafka
      - source_labels: [__meta_kubernetes_pod_label_strimzi_io_pool_name]
        target_label: component
{{- if .Values.kubeStateMetrics.enabled }}
  # the containers' requests and limits and the pods' labels; its series name their own namespace and pod
  - job_name: kube-state-metrics
    honor_labels: true
    static_configs:
      - targets: ["{{ include "monitoring.kubeStateMetrics.fullname" . }}:{{ .Values.kubeStateMetrics.port }}"]
{{- end }}
{{- if .Values.kubelet.enabled }}
  # the CPU and memory each container uses, from every node's kubelet (cAdvisor), authorized by the ClusterRole
  # <fullname>-<namespace>-kubelet; only the scraped namespaces' containers are kept
  - job_name: kubelet-cadvisor
    scheme: https
    metrics_path: /metrics/cadvisor
    authorization:
      credentials_file: /var/run/secrets/kubernetes.io/serviceaccount/token
    tls_config:
      ca_file: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
      insecure_skip_verify: {{ .Values.kubelet.insecureSkipVerify }}
    kubernetes_sd_configs:
      - role: node
        {{- with .Values.kubelet.nodeSelector }}
        selectors:
          - role: node
            label: {{ . | quote }}
        {{- end }}
    relabel_configs:
      - source_labels: [__meta_kubernetes_node_name]
        target_label: node
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: container_cpu_usage_seconds_total|container_memory_working_set_bytes
        action: keep
      - source_labels: [namespace]
        regex: {{ fromJsonArray (include "monitoring.prometheus.namespaces" .) | join "|" | quote }}
        action: keep
      # one series per pod: its own cgroup (container ""), which holds all its containers. The containers'
      # series are dropped: whether they are labelled depends on the runtime, the pods' on the kubelet only.
      - source_labels: [container]
        regex: ".+"
        action: drop
{{- end }}
{{- with .Values.prometheus.extraScrapeConfigs }}
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
