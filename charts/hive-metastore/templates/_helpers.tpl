{{/*
Names. Every resource is <global.platformName>-hive-metastore[-<part>], whatever the release is called,
so the other components of one platform find the metastore by a fixed name.
*/}}
{{- define "hive-metastore.platformName" -}}
{{- (.Values.global).platformName | default "bigdata" -}}
{{- end -}}

{{- define "hive-metastore.fullname" -}}
{{- printf "%s-hive-metastore" (include "hive-metastore.platformName" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "hive-metastore.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: name + instance + component. Call with (dict "ctx" $ "component" "mysql"). */}}
{{- define "hive-metastore.selectorLabels" -}}
app.kubernetes.io/name: hive-metastore
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* All labels. Call with (dict "ctx" $ "component" "mysql"). */}}
{{- define "hive-metastore.labels" -}}
{{ include "hive-metastore.selectorLabels" . }}
app.kubernetes.io/part-of: bigdata
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
helm.sh/chart: {{ include "hive-metastore.chart" .ctx }}
{{- end -}}

{{/* imagePullSecrets from global.imagePullSecrets: names or {name: ...}. */}}
{{- define "hive-metastore.imagePullSecrets" -}}
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
{{- define "hive-metastore.podAnnotations" -}}
{{- $ann := merge (dict) (.extra | default dict) ((.ctx.Values.global).podAnnotations | default dict) -}}
{{- with $ann }}
{{- toYaml . }}
{{- end }}
{{- end -}}


{{- define "hive-metastore.image" -}}
{{- printf "%s:%s" .Values.image.repository .Values.image.tag -}}
{{- end -}}

{{/* MySQL: host, Secret, JDBC URL. */}}
{{- define "hive-metastore.dbHost" -}}
{{- .Values.database.host | default (printf "%s-mysql" (include "hive-metastore.platformName" .)) -}}
{{- end -}}
{{- define "hive-metastore.dbSecret" -}}
{{- .Values.database.existingSecret | default (printf "%s-mysql" (include "hive-metastore.platformName" .)) -}}
{{- end -}}
{{- define "hive-metastore.jdbcUrl" -}}
{{- printf "jdbc:mysql://%s:%d/%s" (include "hive-metastore.dbHost" .) (int .Values.database.port) .Values.database.name -}}
{{- with .Values.database.jdbcParams }}?{{ . }}{{ end -}}
{{- end -}}

{{/* HDFS: fs.defaultFS and the HA NameNodes. */}}
{{- define "hive-metastore.defaultFS" -}}
{{- if .Values.hdfs.ha.enabled -}}
{{- printf "hdfs://%s" .Values.hdfs.ha.nameservice -}}
{{- else -}}
{{- printf "hdfs://%s:%d" (.Values.hdfs.namenodeHost | default (printf "%s-hdfs-namenode" (include "hive-metastore.platformName" .))) (int .Values.hdfs.namenodePort) -}}
{{- end -}}
{{- end -}}

{{/* HA NameNodes as a list of {id, address}, as JSON (fromJsonArray it). */}}
{{- define "hive-metastore.namenodes" -}}
{{- if .Values.hdfs.ha.namenodes -}}
{{- toJson .Values.hdfs.ha.namenodes -}}
{{- else -}}
{{- $p := include "hive-metastore.platformName" . -}}
{{- $nns := list -}}
{{- range $i := until 2 -}}
{{- $nns = append $nns (dict "id" (printf "nn%d" $i) "address" (printf "%s-hdfs-namenode-%d.%s-hdfs-namenode-headless.%s.svc.%s:%d" $p $i $p $.Release.Namespace $.Values.hdfs.clusterDomain (int $.Values.hdfs.namenodePort))) -}}
{{- end -}}
{{- toJson $nns -}}
{{- end -}}
{{- end -}}

{{- define "hive-metastore.warehouseDir" -}}
{{- .Values.warehouseDir | default (printf "%s/warehouse" (include "hive-metastore.defaultFS" .)) -}}
{{- end -}}

{{/* A value as text; whole numbers parsed by YAML as float64 print without an exponent. */}}
{{- define "hive-metastore.scalar" -}}
{{- if and (kindIs "float64" .) (eq (. | float64) (. | int64 | float64)) -}}
{{- . | int64 -}}
{{- else -}}
{{- . | toString -}}
{{- end -}}
{{- end -}}

{{/* Render a map of properties as Hadoop XML. */}}
{{- define "hive-metastore.xml" -}}
<?xml version="1.0" encoding="UTF-8"?>
<?xml-stylesheet type="text/xsl" href="configuration.xsl"?>
<!-- Rendered by the bigdata hive-metastore chart from values; do not edit in the pod. -->
<configuration>
{{- range $k := keys . | sortAlpha }}
  <property>
    <name>{{ $k }}</name>
    <value>{{ include "hive-metastore.scalar" (index $ $k) | replace "&" "&amp;" | replace "<" "&lt;" | replace ">" "&gt;" }}</value>
  </property>
{{- end }}
</configuration>
{{- end -}}

{{/* hive-site.xml. The password is not in it: ${env.HIVE_DB_PASSWORD} is resolved by Hadoop's Configuration
     from the container's environment (filled from the MySQL Secret). */}}
{{- define "hive-metastore.hiveSite" -}}
{{- $p := dict -}}
{{- $_ := set $p "javax.jdo.option.ConnectionURL" (include "hive-metastore.jdbcUrl" .) -}}
{{- $_ := set $p "javax.jdo.option.ConnectionDriverName" "com.mysql.cj.jdbc.Driver" -}}
{{- $_ := set $p "javax.jdo.option.ConnectionUserName" .Values.database.user -}}
{{- $_ := set $p "javax.jdo.option.ConnectionPassword" "${env.HIVE_DB_PASSWORD}" -}}
{{- $_ := set $p "metastore.warehouse.dir" (include "hive-metastore.warehouseDir" .) -}}
{{- $_ := set $p "hive.metastore.warehouse.dir" (include "hive-metastore.warehouseDir" .) -}}
{{- $_ := set $p "metastore.thrift.port" "9083" -}}
{{- $_ := set $p "hive.metastore.port" "9083" -}}
{{- $_ := set $p "fs.defaultFS" (include "hive-metastore.defaultFS" .) -}}
{{- $_ := set $p "hive.metastore.schema.verification" "true" -}}
{{- $_ := set $p "datanucleus.schema.autoCreateAll" "false" -}}
{{- /* Spark's built-in Hive client reads notifications without a proxy user. */ -}}
{{- $_ := set $p "hive.metastore.event.db.notification.api.auth" "false" -}}
{{- /* No translation of managed tables to external ones: older clients (Spark's Hive 2.3) create managed tables. */ -}}
{{- $_ := set $p "metastore.metadata.transformer.class" " " -}}
{{- $_ := set $p "hive.metastore.disallow.incompatible.col.type.changes" "false" -}}
{{- if .Values.metrics.enabled -}}
{{- /* The metastore's Dropwizard metrics, reported to JMX (where the agent reads them) */ -}}
{{- $_ := set $p "metastore.metrics.enabled" "true" -}}
{{- $_ := set $p "metastore.metrics.reporters" "jmx" -}}
{{- end -}}
{{- range $k, $v := .Values.hiveSite -}}
{{- $_ := set $p $k $v -}}
{{- end -}}
{{- include "hive-metastore.xml" $p -}}
{{- end -}}

{{- define "hive-metastore.coreSite" -}}
{{- $p := dict "fs.defaultFS" (include "hive-metastore.defaultFS" .) -}}
{{- range $k, $v := .Values.coreSite -}}
{{- $_ := set $p $k $v -}}
{{- end -}}
{{- include "hive-metastore.xml" $p -}}
{{- end -}}

{{/* Client hdfs-site.xml for HDFS HA. */}}
{{- define "hive-metastore.hdfsSite" -}}
{{- $p := dict -}}
{{- if .Values.hdfs.ha.enabled -}}
{{- $ns := .Values.hdfs.ha.nameservice -}}
{{- $nns := include "hive-metastore.namenodes" . | fromJsonArray -}}
{{- $ids := list -}}
{{- range $nns -}}
{{- $ids = append $ids .id -}}
{{- $_ := set $p (printf "dfs.namenode.rpc-address.%s.%s" $ns .id) .address -}}
{{- end -}}
{{- $_ := set $p "dfs.nameservices" $ns -}}
{{- $_ := set $p (printf "dfs.ha.namenodes.%s" $ns) (join "," $ids) -}}
{{- $_ := set $p (printf "dfs.client.failover.proxy.provider.%s" $ns) "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider" -}}
{{- end -}}
{{- include "hive-metastore.xml" $p -}}
{{- end -}}

{{/* Volumes for the JDBC driver (download: an emptyDir filled by an init container; volume: the user's volume). */}}
{{- define "hive-metastore.jdbcVolumes" -}}
{{- if eq .Values.jdbcDriver.mode "download" }}
- name: jdbc
  emptyDir:
    sizeLimit: 64Mi
{{- else if eq .Values.jdbcDriver.mode "volume" }}
- name: jdbc
  {{- toYaml .Values.jdbcDriver.existingVolume | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "hive-metastore.jdbcMount" -}}
{{- if eq .Values.jdbcDriver.mode "download" }}
- name: jdbc
  mountPath: /opt/hive/lib/mysql-connector-j.jar
  subPath: mysql-connector-j.jar
  readOnly: true
{{- else if eq .Values.jdbcDriver.mode "volume" }}
- name: jdbc
  mountPath: /opt/hive/lib/mysql-connector-j.jar
  subPath: {{ .Values.jdbcDriver.existingVolumeJarPath }}
  readOnly: true
{{- end }}
{{- end -}}

{{/* Init container downloading the driver with the image's own Hadoop client (https:// is a Hadoop FileSystem). */}}
{{- define "hive-metastore.jdbcInit" -}}
{{- if eq .Values.jdbcDriver.mode "download" }}
- name: fetch-jdbc-driver
  image: {{ include "hive-metastore.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["/bin/bash", "-c"]
  args:
    - |
      set -euo pipefail
      jar=/jdbc/mysql-connector-j.jar
      if [ -s "$jar" ]; then echo "driver already present"; exit 0; fi
      echo "downloading $DRIVER_URL"
      # bounded: a stalled connection (no read timeout in the client) is cut after 60 s and tried again
      for attempt in 1 2 3 4 5; do
        timeout 60 hadoop fs -cat "$DRIVER_URL" >"$jar.part" && break
        [ "$attempt" -lt 5 ] || { echo "failed to download $DRIVER_URL: 5 attempts of at most 60 s each"; exit 1; }
        echo "download attempt $attempt of $DRIVER_URL failed or took over 60 s; retrying in 5 s"
        sleep 5
      done
      if [ -n "$DRIVER_SHA256" ]; then echo "$DRIVER_SHA256  $jar.part" | sha256sum -c -; fi
      mv "$jar.part" "$jar"
  env:
    - name: DRIVER_URL
      value: {{ .Values.jdbcDriver.url | quote }}
    - name: DRIVER_SHA256
      value: {{ .Values.jdbcDriver.sha256 | quote }}
    - name: HADOOP_HEAPSIZE_MAX
      value: 128m
  resources:
    {{- toYaml .Values.jdbcDriver.resources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.containerSecurityContext | nindent 4 }}
  volumeMounts:
    - name: jdbc
      mountPath: /jdbc
{{- end }}
{{- end -}}

{{/* Environment of every container that talks to MySQL. */}}
{{- define "hive-metastore.dbEnv" -}}
- name: HIVE_DB_USER
  value: {{ .Values.database.user | quote }}
- name: HIVE_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "hive-metastore.dbSecret" . }}
      key: {{ .Values.database.passwordKey }}
- name: HADOOP_CONF_DIR
  value: /opt/hive/conf
{{- with .Values.hdfs.user }}
- name: HADOOP_USER_NAME
  value: {{ . | quote }}
{{- end }}
{{- end -}}

{{/* Config files mounted over the image's /opt/hive/conf (one by one: the image's log4j2 files stay). */}}
{{- define "hive-metastore.confMounts" -}}
- name: conf
  mountPath: /opt/hive/conf/hive-site.xml
  subPath: hive-site.xml
  readOnly: true
- name: conf
  mountPath: /opt/hive/conf/core-site.xml
  subPath: core-site.xml
  readOnly: true
{{- if .Values.hdfs.ha.enabled }}
- name: conf
  mountPath: /opt/hive/conf/hdfs-site.xml
  subPath: hdfs-site.xml
  readOnly: true
{{- end }}
{{- if .Values.metrics.enabled }}
- name: conf
  mountPath: /opt/hive/conf/jmx-exporter.yaml
  subPath: jmx-exporter.yaml
  readOnly: true
{{- end }}
{{- end -}}

{{/* ---- metrics (metrics.enabled): the Prometheus JMX exporter's agent in the metastore's JVM */}}

{{- define "hive-metastore.metrics.agentJar" -}}/opt/bigdata/metrics/jmx_prometheus_javaagent.jar{{- end -}}

{{/* SERVICE_OPTS of the metastore: jvmOpts, and the agent (the image's entrypoint gives them to the metastore's JVM
     only: schematool and `hadoop fs` run in the pod do not load it) */}}
{{- define "hive-metastore.serviceOpts" -}}
{{- .Values.jvmOpts -}}
{{- if .Values.metrics.enabled }} -javaagent:{{ include "hive-metastore.metrics.agentJar" . }}={{ .Values.metrics.port }}:/opt/hive/conf/jmx-exporter.yaml{{- end -}}
{{- end -}}

{{/* The init container that downloads the agent (the image's `hadoop fs -cat`) and checks its SHA-256 */}}
{{- define "hive-metastore.metrics.initContainer" -}}
{{- if .Values.metrics.enabled }}
- name: metrics-agent
  image: {{ include "hive-metastore.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["/bin/bash", "-c"]
  args:
    - |
      set -euo pipefail
      jar={{ include "hive-metastore.metrics.agentJar" . }}
      echo "downloading the Prometheus JMX exporter's agent from $AGENT_URL"
      # bounded: a stalled connection (no read timeout in the client) is cut after 60 s and tried again
      for attempt in 1 2 3 4 5; do
        timeout 60 hadoop fs -cat "$AGENT_URL" >"$jar.tmp" && break
        [ "$attempt" -lt 5 ] || { echo "failed to download $AGENT_URL: 5 attempts of at most 60 s each"; exit 1; }
        echo "download attempt $attempt of $AGENT_URL failed or took over 60 s; retrying in 5 s"
        sleep 5
      done
      if ! echo "$AGENT_SHA256  $jar.tmp" | sha256sum -c >/dev/null; then
        echo "failed to verify $AGENT_URL: its SHA-256 is $(sha256sum "$jar.tmp" | cut -d' ' -f1), not metrics.agent.sha256"
        exit 1
      fi
      mv "$jar.tmp" "$jar"
  env:
    - name: AGENT_URL
      value: {{ .Values.metrics.agent.url | quote }}
    - name: AGENT_SHA256
      value: {{ .Values.metrics.agent.sha256 | quote }}
    - name: HADOOP_HEAPSIZE_MAX
      value: 128m
  resources:
    {{- toYaml .Values.jdbcDriver.resources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.containerSecurityContext | nindent 4 }}
  volumeMounts:
    - name: metrics-agent
      mountPath: /opt/bigdata/metrics
{{- end }}
{{- end -}}
