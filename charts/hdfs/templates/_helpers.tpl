{{/* Common names, labels and configuration helpers of the hdfs chart. */}}

{{/* <platform>-hdfs: the prefix of every resource name, whatever the release is called. */}}
{{- define "hdfs.fullname" -}}
{{- printf "%s-hdfs" (.Values.global.platformName | default "bigdata") | trunc 50 | trimSuffix "-" -}}
{{- end -}}

{{- define "hdfs.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: name + instance (+ component, added by the caller). */}}
{{- define "hdfs.selectorLabels" -}}
app.kubernetes.io/name: hdfs
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* All labels. Usage: include "hdfs.labels" (dict "ctx" . "component" "namenode") */}}
{{- define "hdfs.labels" -}}
{{ include "hdfs.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: bigdata
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
helm.sh/chart: {{ include "hdfs.chart" .ctx }}
{{- end -}}

{{/* Selector of one component. Usage: include "hdfs.componentSelector" (dict "ctx" . "component" "namenode") */}}
{{- define "hdfs.componentSelector" -}}
{{ include "hdfs.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "hdfs.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}

{{/* Pod annotations: global.podAnnotations + per-component ones + config checksum.
     "metrics" true: a daemon with the metrics agent (Prometheus' scrape annotations when metrics.enabled).
     Usage: include "hdfs.podAnnotations" (dict "ctx" . "extra" .Values.namenode.podAnnotations "metrics" true) */}}
{{- define "hdfs.podAnnotations" -}}
{{- $a := dict -}}
{{- if not .nochecksum -}}
{{- $_ := set $a "checksum/config" (include (print .ctx.Template.BasePath "/configmap.yaml") .ctx | sha256sum) -}}
{{- end -}}
{{- if .metrics -}}
{{- $a = merge $a (include "hdfs.metrics.annotations" .ctx | fromYaml) -}}
{{- end -}}
{{- $a = merge $a (.extra | default dict) (.ctx.Values.global.podAnnotations | default dict) -}}
{{- toYaml $a -}}
{{- end -}}

{{- define "hdfs.imagePullSecrets" -}}
{{- with .Values.global.imagePullSecrets }}
imagePullSecrets:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* StorageClass line of a volumeClaimTemplate. Usage: include "hdfs.storageClass" (dict "ctx" . "sc" .Values.namenode.persistence.storageClass) */}}
{{- define "hdfs.storageClass" -}}
{{- $sc := .sc | default .ctx.Values.global.storageClass -}}
{{- if $sc }}
{{- if eq $sc "-" }}
storageClassName: ""
{{- else }}
storageClassName: {{ $sc | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Soft anti-affinity between the pods of one component, unless the user gave an affinity. */}}
{{- define "hdfs.affinity" -}}
{{- if .affinity }}
{{- toYaml .affinity }}
{{- else }}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "hdfs.componentSelector" (dict "ctx" .ctx "component" .component) | nindent 12 }}
{{- end }}
{{- end -}}

{{/* Service names */}}
{{- define "hdfs.namenode.service" -}}{{ include "hdfs.fullname" . }}-namenode{{- end -}}
{{- define "hdfs.namenode.headless" -}}{{ include "hdfs.fullname" . }}-namenode-headless{{- end -}}
{{- define "hdfs.datanode.headless" -}}{{ include "hdfs.fullname" . }}-datanode-headless{{- end -}}
{{- define "hdfs.journalnode.headless" -}}{{ include "hdfs.fullname" . }}-journalnode-headless{{- end -}}
{{- define "hdfs.zookeeper.headless" -}}{{ include "hdfs.fullname" . }}-zookeeper-headless{{- end -}}
{{- define "hdfs.zookeeper.service" -}}{{ include "hdfs.fullname" . }}-zookeeper{{- end -}}

{{/* Fully qualified name of pod <ordinal> of a StatefulSet. Usage: include "hdfs.podFqdn" (dict "ctx" . "part" "namenode" "svc" (include "hdfs.namenode.headless" .) "i" 0) */}}
{{- define "hdfs.podFqdn" -}}
{{- printf "%s-%s-%d.%s.%s.svc.%s" (include "hdfs.fullname" .ctx) .part (int .i) .svc .ctx.Release.Namespace .ctx.Values.clusterDomain -}}
{{- end -}}

{{/* dfs.replication: the value, or min(3, datanode.replicas). */}}
{{- define "hdfs.replication" -}}
{{- if kindIs "invalid" .Values.replication -}}
{{- min 3 (int .Values.datanode.replicas) -}}
{{- else -}}
{{- int .Values.replication -}}
{{- end -}}
{{- end -}}

{{/* ZooKeeper connect string (HA). */}}
{{- define "hdfs.zookeeper.quorum" -}}
{{- if .Values.ha.zookeeper.external -}}
{{- .Values.ha.zookeeper.external -}}
{{- else -}}
{{- $hosts := list -}}
{{- range $i := until (int .Values.ha.zookeeper.replicas) -}}
{{- $hosts = append $hosts (printf "%s:2181" (include "hdfs.podFqdn" (dict "ctx" $ "part" "zookeeper" "svc" (include "hdfs.zookeeper.headless" $) "i" $i))) -}}
{{- end -}}
{{- join "," $hosts -}}
{{- end -}}
{{- end -}}

{{/* qjournal:// URI of the JournalNodes (HA). */}}
{{- define "hdfs.sharedEdits" -}}
{{- $hosts := list -}}
{{- range $i := until (int .Values.ha.journalnodes.replicas) -}}
{{- $hosts = append $hosts (printf "%s:8485" (include "hdfs.podFqdn" (dict "ctx" $ "part" "journalnode" "svc" (include "hdfs.journalnode.headless" $) "i" $i))) -}}
{{- end -}}
{{- printf "qjournal://%s/%s" (join ";" $hosts) .Values.ha.nameservice -}}
{{- end -}}

{{- define "hdfs.keytabSecret" -}}
{{- .Values.kerberos.keytabSecret | default (printf "%s-keytab" (include "hdfs.fullname" .)) -}}
{{- end -}}

{{/* A value as text; whole numbers parsed by YAML as float64 print without an exponent. */}}
{{- define "hdfs.scalar" -}}
{{- if and (kindIs "float64" .) (eq (. | float64) (. | int64 | float64)) -}}
{{- . | int64 -}}
{{- else -}}
{{- . | toString -}}
{{- end -}}
{{- end -}}

{{/* Render a map of properties as Hadoop XML. */}}
{{- define "hdfs.xml" -}}
<?xml version="1.0" encoding="UTF-8"?>
<?xml-stylesheet type="text/xsl" href="configuration.xsl"?>
<!-- Rendered by the bigdata hdfs chart from values; do not edit in the pod. -->
<configuration>
{{- range $k := keys . | sortAlpha }}
  <property>
    <name>{{ $k }}</name>
    <value>{{ include "hdfs.scalar" (index $ $k) | replace "&" "&amp;" | replace "<" "&lt;" | replace ">" "&gt;" }}</value>
  </property>
{{- end }}
</configuration>
{{- end -}}

{{/* core-site.xml properties */}}
{{- define "hdfs.coreSite" -}}
{{- $p := dict -}}
{{- if .Values.ha.enabled -}}
{{- $_ := set $p "fs.defaultFS" (printf "hdfs://%s" .Values.ha.nameservice) -}}
{{- $_ := set $p "ha.zookeeper.quorum" (include "hdfs.zookeeper.quorum" .) -}}
{{- $_ := set $p "ha.zookeeper.parent-znode" "/hadoop-ha" -}}
{{- else -}}
{{- $_ := set $p "fs.defaultFS" (printf "hdfs://%s:8020" (include "hdfs.namenode.service" .)) -}}
{{- end -}}
{{- $_ := set $p "hadoop.tmp.dir" "/tmp/hadoop" -}}
{{- $_ := set $p "fs.trash.interval" "0" -}}
{{- $_ := set $p "hadoop.proxyuser.hadoop.hosts" "*" -}}
{{- $_ := set $p "hadoop.proxyuser.hadoop.groups" "*" -}}
{{- if .Values.kerberos.enabled -}}
{{- $_ := set $p "hadoop.security.authentication" "kerberos" -}}
{{- $_ := set $p "hadoop.security.authorization" "true" -}}
{{- $_ := set $p "hadoop.rpc.protection" "authentication" -}}
{{- $r := .Values.kerberos.realm -}}
{{- $_ := set $p "hadoop.security.auth_to_local" (printf "RULE:[2:$1@$0](%s@%s)s/.*/hadoop/\nRULE:[2:$1@$0](%s@%s)s/.*/hadoop/\nRULE:[2:$1@$0](%s@%s)s/.*/hadoop/\nDEFAULT" .Values.kerberos.namenodePrincipal $r .Values.kerberos.datanodePrincipal $r .Values.kerberos.journalnodePrincipal $r) -}}
{{- end -}}
{{- range $k, $v := .Values.coreSite -}}
{{- $_ := set $p $k $v -}}
{{- end -}}
{{- include "hdfs.xml" $p -}}
{{- end -}}

{{/* hdfs-site.xml properties */}}
{{- define "hdfs.hdfsSite" -}}
{{- $p := dict -}}
{{- $_ := set $p "dfs.replication" (include "hdfs.replication" .) -}}
{{- $_ := set $p "dfs.namenode.name.dir" "file:///data/dfs/name" -}}
{{- $_ := set $p "dfs.datanode.data.dir" "file:///data/dfs/data" -}}
{{- $_ := set $p "dfs.namenode.rpc-bind-host" "0.0.0.0" -}}
{{- $_ := set $p "dfs.namenode.servicerpc-bind-host" "0.0.0.0" -}}
{{- $_ := set $p "dfs.namenode.http-bind-host" "0.0.0.0" -}}
{{- $_ := set $p "dfs.namenode.https-bind-host" "0.0.0.0" -}}
{{- $_ := set $p "dfs.namenode.datanode.registration.ip-hostname-check" "false" -}}
{{- $_ := set $p "dfs.permissions.superusergroup" "hadoop" -}}
{{- $_ := set $p "dfs.webhdfs.enabled" "true" -}}
{{- $_ := set $p "dfs.datanode.address" "0.0.0.0:9866" -}}
{{- $_ := set $p "dfs.datanode.http.address" "0.0.0.0:9864" -}}
{{- $_ := set $p "dfs.datanode.ipc.address" "0.0.0.0:9867" -}}
{{- if .Values.ha.enabled -}}
{{- $ns := .Values.ha.nameservice -}}
{{- $_ := set $p "dfs.nameservices" $ns -}}
{{- $_ := set $p (printf "dfs.ha.namenodes.%s" $ns) "nn0,nn1" -}}
{{- range $i := until 2 -}}
{{- $host := include "hdfs.podFqdn" (dict "ctx" $ "part" "namenode" "svc" (include "hdfs.namenode.headless" $) "i" $i) -}}
{{- $_ := set $p (printf "dfs.namenode.rpc-address.%s.nn%d" $ns $i) (printf "%s:8020" $host) -}}
{{- $_ := set $p (printf "dfs.namenode.http-address.%s.nn%d" $ns $i) (printf "%s:9870" $host) -}}
{{- end -}}
{{- $_ := set $p "dfs.namenode.shared.edits.dir" (include "hdfs.sharedEdits" .) -}}
{{- $_ := set $p "dfs.journalnode.edits.dir" "/data/dfs/journal" -}}
{{- $_ := set $p "dfs.journalnode.rpc-address" "0.0.0.0:8485" -}}
{{- $_ := set $p "dfs.journalnode.http-address" "0.0.0.0:8480" -}}
{{- $_ := set $p (printf "dfs.client.failover.proxy.provider.%s" $ns) "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider" -}}
{{- $_ := set $p "dfs.ha.automatic-failover.enabled" "true" -}}
{{- $_ := set $p "dfs.ha.fencing.methods" "shell(/bin/true)" -}}
{{- $_ := set $p "dfs.ha.zkfc.port" "8019" -}}
{{- else -}}
{{- $_ := set $p "dfs.namenode.http-address" "0.0.0.0:9870" -}}
{{- end -}}
{{- if .Values.kerberos.enabled -}}
{{- $r := .Values.kerberos.realm -}}
{{- $kt := "/etc/security/keytabs/hdfs.keytab" -}}
{{- $_ := set $p "dfs.block.access.token.enable" "true" -}}
{{- $_ := set $p "dfs.namenode.kerberos.principal" (printf "%s/_HOST@%s" .Values.kerberos.namenodePrincipal $r) -}}
{{- $_ := set $p "dfs.namenode.keytab.file" $kt -}}
{{- $_ := set $p "dfs.namenode.kerberos.internal.spnego.principal" (printf "%s/_HOST@%s" .Values.kerberos.webPrincipal $r) -}}
{{- $_ := set $p "dfs.datanode.kerberos.principal" (printf "%s/_HOST@%s" .Values.kerberos.datanodePrincipal $r) -}}
{{- $_ := set $p "dfs.datanode.keytab.file" $kt -}}
{{- $_ := set $p "dfs.journalnode.kerberos.principal" (printf "%s/_HOST@%s" .Values.kerberos.journalnodePrincipal $r) -}}
{{- $_ := set $p "dfs.journalnode.keytab.file" $kt -}}
{{- $_ := set $p "dfs.journalnode.kerberos.internal.spnego.principal" (printf "%s/_HOST@%s" .Values.kerberos.webPrincipal $r) -}}
{{- $_ := set $p "dfs.web.authentication.kerberos.principal" (printf "%s/_HOST@%s" .Values.kerberos.webPrincipal $r) -}}
{{- $_ := set $p "dfs.web.authentication.kerberos.keytab" $kt -}}
{{- $_ := set $p "dfs.data.transfer.protection" .Values.kerberos.dataTransferProtection -}}
{{- end -}}
{{- range $k, $v := .Values.hdfsSite -}}
{{- $_ := set $p $k $v -}}
{{- end -}}
{{- include "hdfs.xml" $p -}}
{{- end -}}

{{/* Environment common to every Hadoop container. Usage: include "hdfs.env" (dict "ctx" . "heap" "768m") */}}
{{- define "hdfs.env" -}}
- name: HADOOP_CONF_DIR
  value: /etc/hadoop
- name: HADOOP_LOG_DIR
  value: /tmp/hadoop-logs
- name: HADOOP_HEAPSIZE_MAX
  value: {{ .heap | quote }}
- name: HADOOP_HEAPSIZE_MIN
  value: {{ .heap | quote }}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- end -}}

{{/* Volume mounts common to every Hadoop container */}}
{{- define "hdfs.configMounts" -}}
- name: config
  mountPath: /etc/hadoop
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- if .Values.kerberos.enabled }}
- name: keytabs
  mountPath: /etc/security/keytabs
  readOnly: true
{{- if .Values.kerberos.krb5ConfigMap }}
- name: krb5
  mountPath: /etc/krb5.conf
  subPath: krb5.conf
  readOnly: true
{{- end }}
{{- end }}
{{- end -}}

{{/* Volumes common to every Hadoop pod */}}
{{- define "hdfs.configVolumes" -}}
- name: config
  configMap:
    name: {{ include "hdfs.fullname" . }}-config
- name: tmp
  emptyDir: {}
{{- if .Values.kerberos.enabled }}
- name: keytabs
  secret:
    secretName: {{ include "hdfs.keytabSecret" . }}
    defaultMode: 0400
{{- if .Values.kerberos.krb5ConfigMap }}
- name: krb5
  configMap:
    name: {{ .Values.kerberos.krb5ConfigMap }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Shell function: wait until host:port accepts TCP connections. */}}
{{- define "hdfs.waitFor" -}}
wait_for() {
  until (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; do
    echo "waiting for $1:$2"; sleep 3
  done
}
{{- end -}}

{{/* Checks across values that the schema cannot express. */}}
{{- define "hdfs.validate" -}}
{{- if and (not (kindIs "invalid" .Values.replication)) (gt (int .Values.replication) (int .Values.datanode.replicas)) -}}
{{- fail (printf "replication (%d) must not exceed datanode.replicas (%d): blocks would stay under-replicated. Lower replication, raise datanode.replicas, or set hdfsSite.dfs.replication explicitly if you mean it" (int .Values.replication) (int .Values.datanode.replicas)) -}}
{{- end -}}
{{- if and .Values.ha.enabled (not .Values.ha.nameservice) -}}
{{- fail "ha.nameservice must be set when ha.enabled=true" -}}
{{- end -}}
{{- end -}}

{{/* ---- metrics (metrics.enabled): the Prometheus JMX exporter's agent in the NameNode, DataNode and JournalNode */}}

{{/* The agent's jar in the pod: an emptyDir the metrics-agent init container fills */}}
{{- define "hdfs.metrics.agentJar" -}}/opt/bigdata/metrics/jmx_prometheus_javaagent.jar{{- end -}}

{{/* The daemon's JVM options (HDFS_<DAEMON>_OPTS, read by bin/hdfs for that daemon only: a client command run in
     the same container, e.g. `hdfs dfs`, does not load the agent). Usage: include "hdfs.metrics.env" (dict "ctx" . "daemon" "NAMENODE") */}}
{{- define "hdfs.metrics.env" -}}
{{- if .ctx.Values.metrics.enabled }}
- name: HDFS_{{ .daemon }}_OPTS
  value: "-javaagent:{{ include "hdfs.metrics.agentJar" .ctx }}={{ .ctx.Values.metrics.port }}:/etc/hadoop/jmx-exporter.yaml"
{{- end }}
{{- end -}}

{{/* The init container that downloads the agent (the image's `hdfs dfs -cat <url>`) and checks its SHA-256 */}}
{{- define "hdfs.metrics.initContainer" -}}
{{- if .Values.metrics.enabled }}
- name: metrics-agent
  image: {{ include "hdfs.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  securityContext:
    {{- toYaml .Values.containerSecurityContext | nindent 4 }}
  env:
    {{- include "hdfs.env" (dict "ctx" . "heap" .Values.initHeapSize) | nindent 4 }}
    - name: AGENT_URL
      value: {{ .Values.metrics.agent.url | quote }}
    - name: AGENT_SHA256
      value: {{ .Values.metrics.agent.sha256 | quote }}
  command:
    - /bin/bash
    - -c
    - |
      set -euo pipefail
      jar={{ include "hdfs.metrics.agentJar" . }}
      echo "downloading the Prometheus JMX exporter's agent from $AGENT_URL"
      # bounded: a stalled connection (no read timeout in the client) is cut after 60 s and tried again
      for attempt in 1 2 3 4 5; do
        timeout 60 hdfs dfs -cat "$AGENT_URL" >"$jar.tmp" && break
        [ "$attempt" -lt 5 ] || { echo "failed to download $AGENT_URL: 5 attempts of at most 60 s each"; exit 1; }
        echo "download attempt $attempt of $AGENT_URL failed or took over 60 s; retrying in 5 s"
        sleep 5
      done
      if ! echo "$AGENT_SHA256  $jar.tmp" | sha256sum -c >/dev/null; then
        echo "failed to verify $AGENT_URL: its SHA-256 is $(sha256sum "$jar.tmp" | cut -d' ' -f1), not metrics.agent.sha256"
        exit 1
      fi
      mv "$jar.tmp" "$jar"
  resources:
    {{- toYaml .Values.initResources | nindent 4 }}
  volumeMounts:
    - name: metrics-agent
      mountPath: /opt/bigdata/metrics
    {{- include "hdfs.configMounts" . | nindent 4 }}
{{- end }}
{{- end -}}

{{/* The daemon container's metrics port */}}
{{- define "hdfs.metrics.port" -}}
{{- if .Values.metrics.enabled }}
- name: metrics
  containerPort: {{ .Values.metrics.port }}
{{- end }}
{{- end -}}

{{/* The daemon container's mount of the agent */}}
{{- define "hdfs.metrics.mount" -}}
{{- if .Values.metrics.enabled }}
- name: metrics-agent
  mountPath: /opt/bigdata/metrics
  readOnly: true
{{- end }}
{{- end -}}

{{/* The pod's volume for the agent */}}
{{- define "hdfs.metrics.volume" -}}
{{- if .Values.metrics.enabled }}
- name: metrics-agent
  emptyDir:
    sizeLimit: 32Mi
{{- end }}
{{- end -}}

{{/* Prometheus' scrape annotations of a daemon's pod (as a dict, merged into the pod's annotations) */}}
{{- define "hdfs.metrics.annotations" -}}
{{- if .Values.metrics.enabled -}}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .Values.metrics.port | quote }}
prometheus.io/path: /metrics
{{- else -}}
{}
{{- end -}}
{{- end -}}
