{{/*
Names. Every resource is <global.platformName>-spark[-<part>], whatever the release is called,
so the other components of one platform find Spark by a fixed name.
*/}}
{{- define "spark.platformName" -}}
{{- (.Values.global).platformName | default "bigdata" -}}
{{- end -}}

{{- define "spark.fullname" -}}
{{- printf "%s-spark" (include "spark.platformName" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "spark.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: name + instance + component. Call with (dict "ctx" $ "component" "mysql"). */}}
{{- define "spark.selectorLabels" -}}
app.kubernetes.io/name: spark
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* All labels. Call with (dict "ctx" $ "component" "mysql"). */}}
{{- define "spark.labels" -}}
{{ include "spark.selectorLabels" . }}
app.kubernetes.io/part-of: bigdata
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
helm.sh/chart: {{ include "spark.chart" .ctx }}
{{- end -}}

{{/* imagePullSecrets from global.imagePullSecrets: names or {name: ...}. */}}
{{- define "spark.imagePullSecrets" -}}
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
{{- define "spark.podAnnotations" -}}
{{- $ann := merge (dict) (.extra | default dict) ((.ctx.Values.global).podAnnotations | default dict) -}}
{{- with $ann }}
{{- toYaml . }}
{{- end }}
{{- end -}}



{{- define "spark.defaultFS" -}}
{{- if .Values.hdfs.ha.enabled -}}
{{- printf "hdfs://%s" .Values.hdfs.ha.nameservice -}}
{{- else -}}
{{- printf "hdfs://%s:%d" (.Values.hdfs.namenodeHost | default (printf "%s-hdfs-namenode" (include "spark.platformName" .))) (int .Values.hdfs.namenodePort) -}}
{{- end -}}
{{- end -}}

{{- define "spark.namenodes" -}}
{{- if .Values.hdfs.ha.namenodes -}}
{{- toJson .Values.hdfs.ha.namenodes -}}
{{- else -}}
{{- $p := include "spark.platformName" . -}}
{{- $nns := list -}}
{{- range $i := until 2 -}}
{{- $nns = append $nns (dict "id" (printf "nn%d" $i) "address" (printf "%s-hdfs-namenode-%d.%s-hdfs-namenode-headless.%s.svc.%s:%d" $p $i $p $.Release.Namespace $.Values.hdfs.clusterDomain (int $.Values.hdfs.namenodePort))) -}}
{{- end -}}
{{- toJson $nns -}}
{{- end -}}
{{- end -}}

{{- define "spark.scalar" -}}
{{- if and (kindIs "float64" .) (eq (. | float64) (. | int64 | float64)) -}}
{{- . | int64 -}}
{{- else -}}
{{- . | toString -}}
{{- end -}}
{{- end -}}

{{- define "spark.xml" -}}
<?xml version="1.0" encoding="UTF-8"?>
<?xml-stylesheet type="text/xsl" href="configuration.xsl"?>
<!-- Rendered by the bigdata spark chart from values; do not edit in the pod. -->
<configuration>
{{- range $k := keys . | sortAlpha }}
  <property>
    <name>{{ $k }}</name>
    <value>{{ include "spark.scalar" (index $ $k) | replace "&" "&amp;" | replace "<" "&lt;" | replace ">" "&gt;" }}</value>
  </property>
{{- end }}
</configuration>
{{- end -}}

{{- define "spark.hdfsSite" -}}
{{- $p := dict -}}
{{- if .Values.hdfs.ha.enabled -}}
{{- $ns := .Values.hdfs.ha.nameservice -}}
{{- $nns := include "spark.namenodes" . | fromJsonArray -}}
{{- $ids := list -}}
{{- range $nns -}}
{{- $ids = append $ids .id -}}
{{- $_ := set $p (printf "dfs.namenode.rpc-address.%s.%s" $ns .id) .address -}}
{{- end -}}
{{- $_ := set $p "dfs.nameservices" $ns -}}
{{- $_ := set $p (printf "dfs.ha.namenodes.%s" $ns) (join "," $ids) -}}
{{- $_ := set $p (printf "dfs.client.failover.proxy.provider.%s" $ns) "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider" -}}
{{- end -}}
{{- include "spark.xml" $p -}}
{{- end -}}

{{- define "spark.image" -}}
{{- printf "%s:%s" .Values.image.repository .Values.image.tag -}}
{{- end -}}

{{- define "spark.serviceAccountName" -}}
{{- .Values.serviceAccount.name | default (include "spark.fullname" .) -}}
{{- end -}}

{{- define "spark.metastoreUri" -}}
{{- .Values.metastore.uri | default (printf "thrift://%s-hive-metastore:9083" (include "spark.platformName" .)) -}}
{{- end -}}

{{/* The HDFS directory of the staged Hive metastore client (metastore.jars: hdfs): <hdfsDir>/<version>. */}}
{{- define "spark.hiveClientDir" -}}
{{- printf "%s/%s" .Values.metastore.hdfsDir .Values.metastore.version -}}
{{- end -}}

{{/* The list of that client's jars, "<path in a Maven repository> <sha256>" a line, from the chart's files/. */}}
{{- define "spark.hiveClientList" -}}
{{- $file := printf "files/hive-metastore-client-%s.txt" .Values.metastore.version -}}
{{- $list := .Files.Get $file -}}
{{- if not $list -}}
{{- fail (printf "metastore.version: the chart has no list of the Hive %s client's jars (%s); use a version it has (4.0.1), or set metastore.jars to path (your own jars) or builtin" .Values.metastore.version $file) -}}
{{- end -}}
{{- $list -}}
{{- end -}}

{{- define "spark.warehouseDir" -}}
{{- .Values.warehouseDir | default (printf "%s/warehouse" (include "spark.defaultFS" .)) -}}
{{- end -}}

{{- define "spark.pullSecretNames" -}}
{{- $names := list -}}
{{- range (.Values.global).imagePullSecrets -}}
{{- if kindIs "string" . }}{{ $names = append $names . }}{{ else }}{{ $names = append $names .name }}{{ end -}}
{{- end -}}
{{- join "," $names -}}
{{- end -}}

{{/* spark-defaults.conf: what every spark-submit, driver and the history server share. */}}
{{- define "spark.defaults" -}}
{{- $p := dict -}}
{{- $_ := set $p "spark.master" "k8s://https://kubernetes.default.svc" -}}
{{- $_ := set $p "spark.kubernetes.namespace" .Release.Namespace -}}
{{- $_ := set $p "spark.kubernetes.container.image" (include "spark.image" .) -}}
{{- $_ := set $p "spark.kubernetes.container.image.pullPolicy" .Values.image.pullPolicy -}}
{{- with include "spark.pullSecretNames" . }}{{ $_ := set $p "spark.kubernetes.container.image.pullSecrets" . }}{{ end -}}
{{- $_ := set $p "spark.kubernetes.authenticate.driver.serviceAccountName" (include "spark.serviceAccountName" .) -}}
{{- $_ := set $p "spark.kubernetes.driver.podTemplateFile" "/opt/spark/conf/driver-pod-template.yaml" -}}
{{- $_ := set $p "spark.kubernetes.driver.podTemplateContainerName" "spark-kubernetes-driver" -}}
{{- $_ := set $p "spark.kubernetes.executor.podTemplateFile" "/opt/spark/conf/executor-pod-template.yaml" -}}
{{- $_ := set $p "spark.kubernetes.executor.podTemplateContainerName" "spark-kubernetes-executor" -}}
{{- $_ := set $p "spark.driver.cores" (toString .Values.driver.cores) -}}
{{- $_ := set $p "spark.kubernetes.driver.request.cores" (toString .Values.driver.coreRequest) -}}
{{- $_ := set $p "spark.kubernetes.driver.limit.cores" (toString .Values.driver.coreLimit) -}}
{{- $_ := set $p "spark.driver.memory" (toString .Values.driver.memory) -}}
{{- $_ := set $p "spark.executor.instances" (toString .Values.executor.instances) -}}
{{- $_ := set $p "spark.executor.cores" (toString .Values.executor.cores) -}}
{{- $_ := set $p "spark.kubernetes.executor.request.cores" (toString .Values.executor.coreRequest) -}}
{{- $_ := set $p "spark.kubernetes.executor.limit.cores" (toString .Values.executor.coreLimit) -}}
{{- $_ := set $p "spark.executor.memory" (toString .Values.executor.memory) -}}
{{- $_ := set $p "spark.hadoop.fs.defaultFS" (include "spark.defaultFS" .) -}}
{{- if .Values.hdfs.ha.enabled -}}
{{- $ns := .Values.hdfs.ha.nameservice -}}
{{- $ids := list -}}
{{- range (include "spark.namenodes" . | fromJsonArray) -}}
{{- $ids = append $ids .id -}}
{{- $_ := set $p (printf "spark.hadoop.dfs.namenode.rpc-address.%s.%s" $ns .id) .address -}}
{{- end -}}
{{- $_ := set $p "spark.hadoop.dfs.nameservices" $ns -}}
{{- $_ := set $p (printf "spark.hadoop.dfs.ha.namenodes.%s" $ns) (join "," $ids) -}}
{{- $_ := set $p (printf "spark.hadoop.dfs.client.failover.proxy.provider.%s" $ns) "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider" -}}
{{- end -}}
{{- with .Values.hdfs.user -}}
{{- $_ := set $p "spark.kubernetes.driverEnv.HADOOP_USER_NAME" . -}}
{{- $_ := set $p "spark.executorEnv.HADOOP_USER_NAME" . -}}
{{- end -}}
{{- if .Values.metastore.enabled -}}
{{- $_ := set $p "spark.sql.catalogImplementation" "hive" -}}
{{- $_ := set $p "spark.hadoop.hive.metastore.uris" (include "spark.metastoreUri" .) -}}
{{- $m := .Values.metastore -}}
{{- if eq $m.jars "builtin" -}}
{{- $_ := set $p "spark.sql.hive.metastore.jars" "builtin" -}}
{{- else -}}
{{- $_ := set $p "spark.sql.hive.metastore.version" $m.version -}}
{{- $_ := set $p "spark.sql.hive.metastore.jars" "path" -}}
{{- if eq $m.jars "hdfs" -}}
{{- $_ := set $p "spark.sql.hive.metastore.jars.path" (printf "%s/*.jar" (include "spark.hiveClientDir" .)) -}}
{{- else -}}
{{- $_ := set $p "spark.sql.hive.metastore.jars.path" (required "metastore.jarsPath: list the Hive client's jars when metastore.jars is path" (join "," $m.jarsPath)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $_ := set $p "spark.sql.warehouse.dir" (include "spark.warehouseDir" .) -}}
{{- $_ := set $p "spark.eventLog.enabled" (toString .Values.eventLog.enabled) -}}
{{- $_ := set $p "spark.eventLog.dir" .Values.eventLog.dir -}}
{{- $_ := set $p "spark.history.fs.logDirectory" .Values.eventLog.dir -}}
{{- $_ := set $p "spark.history.ui.port" (toString .Values.historyServer.service.port) -}}
{{- range $k, $v := .Values.historyServer.conf -}}
{{- $_ := set $p $k (include "spark.scalar" $v) -}}
{{- end -}}
{{- if .Values.metrics.enabled -}}
{{- /* Every driver serves its metrics on its UI port (PrometheusServlet) and says so to Prometheus. */ -}}
{{- $_ := set $p "spark.ui.prometheus.enabled" "true" -}}
{{- $_ := set $p "spark.metrics.conf.*.sink.prometheusServlet.class" "org.apache.spark.metrics.sink.PrometheusServlet" -}}
{{- $_ := set $p "spark.metrics.conf.*.sink.prometheusServlet.path" "/metrics/prometheus" -}}
{{- $_ := set $p "spark.metrics.namespace" "spark" -}}
{{- $_ := set $p "spark.kubernetes.driver.annotation.prometheus.io/scrape" "true" -}}
{{- $_ := set $p "spark.kubernetes.driver.annotation.prometheus.io/port" "4040" -}}
{{- $_ := set $p "spark.kubernetes.driver.annotation.prometheus.io/path" "/metrics/prometheus/" -}}
{{- end -}}
{{- /* The spark user has no home directory: Ivy (--packages) caches under /tmp. */ -}}
{{- $_ := set $p "spark.jars.ivy" "/tmp/.ivy2" -}}
{{- range $k, $v := .Values.sparkConf -}}
{{- $_ := set $p $k (include "spark.scalar" $v) -}}
{{- end -}}
# Rendered by the bigdata spark chart from values; spark-submit, drivers and the history server read it.
{{- range $k := keys $p | sortAlpha }}
{{ $k }} {{ index $p $k }}
{{- end }}
{{- end -}}

{{- define "spark.coreSite" -}}
{{- $p := dict "fs.defaultFS" (include "spark.defaultFS" .) -}}
{{- range $k, $v := .Values.coreSite -}}
{{- $_ := set $p $k $v -}}
{{- end -}}
{{- include "spark.xml" $p -}}
{{- end -}}

{{/* Pod template of driver and executor pods: non-root, annotations, labels. Call with (dict "ctx" $ "role" "driver"). */}}
{{- define "spark.podTemplate" -}}
apiVersion: v1
kind: Pod
metadata:
  labels:
    app.kubernetes.io/name: spark
    app.kubernetes.io/instance: {{ .ctx.Release.Name }}
    app.kubernetes.io/component: {{ .role }}
    app.kubernetes.io/part-of: bigdata
  {{- with (.ctx.Values.global).podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  enableServiceLinks: false
  securityContext:
    {{- toYaml .ctx.Values.podSecurityContext | nindent 4 }}
  containers:
    - name: spark-kubernetes-{{ .role }}
      securityContext:
        {{- toYaml .ctx.Values.containerSecurityContext | nindent 8 }}
{{- end -}}

{{/* The volumes and mounts of pods that run Spark with the chart's configuration. */}}
{{- define "spark.confVolumes" -}}
- name: spark-conf
  configMap:
    name: {{ include "spark.fullname" . }}-conf
    items:
      - {key: spark-defaults.conf, path: spark-defaults.conf}
      {{- if .Values.metrics.enabled }}
      - {key: jmx-exporter.yaml, path: jmx-exporter.yaml}
      {{- end }}
      - {key: driver-pod-template.yaml, path: driver-pod-template.yaml}
      - {key: executor-pod-template.yaml, path: executor-pod-template.yaml}
- name: hadoop-conf
  configMap:
    name: {{ include "spark.fullname" . }}-conf
    items:
      - {key: core-site.xml, path: core-site.xml}
      {{- if .Values.hdfs.ha.enabled }}
      - {key: hdfs-site.xml, path: hdfs-site.xml}
      {{- end }}
- name: tmp
  emptyDir:
    sizeLimit: 1Gi
{{- end -}}

{{- define "spark.confMounts" -}}
- name: spark-conf
  mountPath: /opt/spark/conf
  readOnly: true
- name: hadoop-conf
  mountPath: /etc/hadoop/conf
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "spark.confEnv" -}}
- name: SPARK_CONF_DIR
  value: /opt/spark/conf
- name: HADOOP_CONF_DIR
  value: /etc/hadoop/conf
{{- with .Values.hdfs.user }}
- name: HADOOP_USER_NAME
  value: {{ . | quote }}
{{- end }}
{{- end -}}

{{/* spark-submit in cluster mode with the pod's ServiceAccount token. Call with (dict "ctx" $ "app" .Values.submit). */}}
{{- define "spark.submitArgs" -}}
- /opt/spark/bin/spark-submit
- --master
- k8s://https://kubernetes.default.svc
- --deploy-mode
- cluster
- --name
- {{ .app.name | quote }}
- --class
- {{ .app.mainClass | quote }}
- --conf
- spark.kubernetes.authenticate.submission.caCertFile=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt
- --conf
- spark.kubernetes.authenticate.submission.oauthTokenFile=/var/run/secrets/kubernetes.io/serviceaccount/token
{{- range $k, $v := .app.conf }}
- --conf
- {{ printf "%s=%s" $k (include "spark.scalar" $v) | quote }}
{{- end }}
- {{ .app.application | quote }}
{{- range .app.args }}
- {{ . | toString | quote }}
{{- end }}
{{- end -}}


{{/* ---- metrics (metrics.enabled): the Prometheus JMX exporter's agent in the history server's JVM */}}

{{- define "spark.metrics.agentJar" -}}/opt/bigdata/metrics/jmx_prometheus_javaagent.jar{{- end -}}

{{/* The init container that downloads the agent with the image's wget and checks its SHA-256. */}}
{{- define "spark.metrics.initContainer" -}}
{{- if .Values.metrics.enabled }}
- name: metrics-agent
  image: {{ include "spark.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["/bin/bash", "-c"]
  args:
    - |
      set -eu
      jar={{ include "spark.metrics.agentJar" . }}
      # bounded: a stalled connection (no read timeout in the client) is cut after 60 s and tried again
      for attempt in 1 2 3 4 5; do
        timeout 60 wget -q -O "$jar.tmp" "$AGENT_URL" && break
        [ "$attempt" -lt 5 ] || { echo "failed to download $AGENT_URL: 5 attempts of at most 60 s each"; exit 1; }
        echo "download attempt $attempt of $AGENT_URL failed or took over 60 s; retrying in 5 s"
        sleep 5
      done
      if ! echo "$AGENT_SHA256  $jar.tmp" | sha256sum -c - >/dev/null; then
        echo "failed to verify $AGENT_URL: its SHA-256 is $(sha256sum "$jar.tmp" | cut -d' ' -f1), not metrics.agent.sha256"
        exit 1
      fi
      mv "$jar.tmp" "$jar"
      echo "metrics agent $AGENT_URL verified"
  env:
    - name: AGENT_URL
      value: {{ .Values.metrics.agent.url | quote }}
    - name: AGENT_SHA256
      value: {{ .Values.metrics.agent.sha256 | quote }}
  resources:
    {{- toYaml .Values.historyServer.initResources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.containerSecurityContext | nindent 4 }}
  volumeMounts:
    - name: metrics-agent
      mountPath: /opt/bigdata/metrics
{{- end }}
{{- end -}}

{{/* The scrape annotations of the history server's pod. */}}
{{- define "spark.metrics.annotations" -}}
{{- if .Values.metrics.enabled -}}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .Values.metrics.port | quote }}
prometheus.io/path: /metrics
{{- end -}}
{{- end -}}
