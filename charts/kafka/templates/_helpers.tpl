{{/* Common names, labels and configuration helpers of the kafka chart. */}}

{{/* <platform>-kafka: the prefix of every resource name, whatever the release is called. */}}
{{- define "kafka.fullname" -}}
{{- printf "%s-kafka" (.Values.global.platformName | default "bigdata") | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "kafka.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kafka.selectorLabels" -}}
app.kubernetes.io/name: kafka
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Usage: include "kafka.labels" (dict "ctx" . "component" "broker") */}}
{{- define "kafka.labels" -}}
{{ include "kafka.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: bigdata
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
helm.sh/chart: {{ include "kafka.chart" .ctx }}
{{- end -}}

{{- define "kafka.componentSelector" -}}
{{ include "kafka.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "kafka.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}

{{/* Service names and addresses */}}
{{- define "kafka.bootstrap" -}}{{ include "kafka.fullname" . }}-bootstrap{{- end -}}
{{- define "kafka.bootstrapServers" -}}{{ include "kafka.bootstrap" . }}:9092{{- end -}}
{{- define "kafka.controller.headless" -}}{{ include "kafka.fullname" . }}-controller-headless{{- end -}}
{{- define "kafka.broker.headless" -}}{{ include "kafka.fullname" . }}-broker-headless{{- end -}}
{{- define "kafka.clusterIdConfigMap" -}}{{ include "kafka.fullname" . }}-cluster-id{{- end -}}

{{/* Usage: include "kafka.podFqdn" (dict "ctx" . "pool" "broker" "i" 0) */}}
{{- define "kafka.podFqdn" -}}
{{- $svc := ternary (include "kafka.controller.headless" .ctx) (include "kafka.broker.headless" .ctx) (eq .pool "controller") -}}
{{- printf "%s-%s-%d.%s.%s.svc.%s" (include "kafka.fullname" .ctx) .pool (int .i) $svc .ctx.Release.Namespace .ctx.Values.clusterDomain -}}
{{- end -}}

{{/* controller.quorum.voters: <id>@<host>:9093,... */}}
{{- define "kafka.quorumVoters" -}}
{{- $c := .Values.nodePools.controllers -}}
{{- $v := list -}}
{{- range $i := until (int $c.replicas) -}}
{{- $v = append $v (printf "%d@%s:9093" (add (int $c.nodeIdOffset) $i) (include "kafka.podFqdn" (dict "ctx" $ "pool" "controller" "i" $i))) -}}
{{- end -}}
{{- join "," $v -}}
{{- end -}}

{{/* Replication defaults */}}
{{- define "kafka.replicationFactor" -}}
{{- if kindIs "invalid" .Values.defaultReplicationFactor -}}
{{- min 3 (int .Values.nodePools.brokers.replicas) -}}
{{- else -}}
{{- int .Values.defaultReplicationFactor -}}
{{- end -}}
{{- end -}}

{{- define "kafka.minInsyncReplicas" -}}
{{- if kindIs "invalid" .Values.minInsyncReplicas -}}
{{- ternary 2 1 (ge (int (include "kafka.replicationFactor" .)) 3) -}}
{{- else -}}
{{- int .Values.minInsyncReplicas -}}
{{- end -}}
{{- end -}}

{{/* A value as text; whole numbers parsed by YAML as float64 print without an exponent. */}}
{{- define "kafka.scalar" -}}
{{- if and (kindIs "float64" .) (eq (. | float64) (. | int64 | float64)) -}}
{{- . | int64 -}}
{{- else -}}
{{- . | toString -}}
{{- end -}}
{{- end -}}

{{/* Shell single-quoting */}}
{{- define "kafka.sq" -}}
'{{ . | replace "'" "'\\''" }}'
{{- end -}}

{{/* Cluster-wide topic defaults (both roles: in KRaft the controllers apply defaults of CreateTopics). */}}
{{- define "kafka.clusterDefaults" -}}
{{- $rf := int (include "kafka.replicationFactor" .) -}}
{{- $p := dict -}}
{{- $_ := set $p "default.replication.factor" $rf -}}
{{- $_ := set $p "min.insync.replicas" (include "kafka.minInsyncReplicas" .) -}}
{{- $_ := set $p "offsets.topic.replication.factor" $rf -}}
{{- $_ := set $p "transaction.state.log.replication.factor" $rf -}}
{{- $_ := set $p "transaction.state.log.min.isr" (min 2 $rf) -}}
{{- $_ := set $p "share.coordinator.state.topic.replication.factor" $rf -}}
{{- $_ := set $p "share.coordinator.state.topic.min.isr" (min 2 $rf) -}}
{{- $_ := set $p "num.partitions" .Values.numPartitions -}}
{{- $_ := set $p "auto.create.topics.enable" .Values.autoCreateTopics -}}
{{- $_ := set $p "log.retention.hours" .Values.logRetentionHours -}}
{{- toYaml $p -}}
{{- end -}}

{{/* server-<i>.properties of one pod. Usage: include "kafka.serverProperties" (dict "ctx" . "pool" "broker" "i" 0) */}}
{{- define "kafka.serverProperties" -}}
{{- $ctx := .ctx -}}
{{- $v := $ctx.Values -}}
{{- $isController := eq .pool "controller" -}}
{{- $poolValues := ternary $v.nodePools.controllers $v.nodePools.brokers $isController -}}
{{- $nodeId := add (int $poolValues.nodeIdOffset) .i -}}
{{- $fqdn := include "kafka.podFqdn" (dict "ctx" $ctx "pool" .pool "i" .i) -}}
{{- $ext := $v.listeners.external -}}
{{- $p := dict -}}
{{- $_ := set $p "node.id" $nodeId -}}
{{- $_ := set $p "controller.quorum.voters" (include "kafka.quorumVoters" $ctx) -}}
{{- $_ := set $p "controller.listener.names" "CONTROLLER" -}}
{{- $_ := set $p "log.dirs" "/var/lib/kafka/data/logs" -}}
{{- if $isController -}}
{{- $_ := set $p "process.roles" "controller" -}}
{{- $_ := set $p "listeners" "CONTROLLER://0.0.0.0:9093" -}}
{{- $_ := set $p "advertised.listeners" (printf "CONTROLLER://%s:9093" $fqdn) -}}
{{- $_ := set $p "listener.security.protocol.map" "CONTROLLER:PLAINTEXT,INTERNAL:PLAINTEXT" -}}
{{- else -}}
{{- $_ := set $p "process.roles" "broker" -}}
{{- $_ := set $p "inter.broker.listener.name" "INTERNAL" -}}
{{- if $ext.enabled -}}
{{- $extHost := "" -}}
{{- $extPort := 9094 -}}
{{- if eq $ext.type "NodePort" -}}
{{- $extHost = $ext.advertisedHost -}}
{{- $extPort = add (int $ext.nodePortBase) .i -}}
{{- else -}}
{{- $extHost = index $ext.advertisedHosts .i -}}
{{- end -}}
{{- $_ := set $p "listeners" "INTERNAL://0.0.0.0:9092,EXTERNAL://0.0.0.0:9094" -}}
{{- $_ := set $p "advertised.listeners" (printf "INTERNAL://%s:9092,EXTERNAL://%s:%d" $fqdn $extHost (int $extPort)) -}}
{{- $_ := set $p "listener.security.protocol.map" "CONTROLLER:PLAINTEXT,INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT" -}}
{{- else -}}
{{- $_ := set $p "listeners" "INTERNAL://0.0.0.0:9092" -}}
{{- $_ := set $p "advertised.listeners" (printf "INTERNAL://%s:9092" $fqdn) -}}
{{- $_ := set $p "listener.security.protocol.map" "CONTROLLER:PLAINTEXT,INTERNAL:PLAINTEXT" -}}
{{- end -}}
{{- $_ := set $p "group.initial.rebalance.delay.ms" 3000 -}}
{{- end -}}
{{- $p = merge (fromYaml (include "kafka.clusterDefaults" $ctx)) $p -}}
{{- range $k, $val := $v.config -}}
{{- $_ := set $p $k $val -}}
{{- end -}}
{{- range $k, $val := $poolValues.config -}}
{{- $_ := set $p $k $val -}}
{{- end -}}
# server.properties of {{ .pool }} node.id={{ $nodeId }} (pod {{ include "kafka.fullname" $ctx }}-{{ .pool }}-{{ .i }}), rendered by the bigdata kafka chart.
{{- range $k := keys $p | sortAlpha }}
{{ $k }}={{ include "kafka.scalar" (index $p $k) }}
{{- end }}
{{- end -}}

{{/* Checks across values that the schema cannot express. */}}
{{- define "kafka.validate" -}}
{{- $c := .Values.nodePools.controllers -}}
{{- $b := .Values.nodePools.brokers -}}
{{- $cLo := int $c.nodeIdOffset -}}{{- $cHi := add $cLo (int $c.replicas) -}}
{{- $bLo := int $b.nodeIdOffset -}}{{- $bHi := add $bLo (int $b.replicas) -}}
{{- if and (lt $cLo $bHi) (lt $bLo $cHi) -}}
{{- fail (printf "nodePools: controller node ids [%d..%d) and broker node ids [%d..%d) overlap; change nodePools.brokers.nodeIdOffset or nodePools.controllers.nodeIdOffset" $cLo $cHi $bLo $bHi) -}}
{{- end -}}
{{- $rf := int (include "kafka.replicationFactor" .) -}}
{{- if gt $rf (int $b.replicas) -}}
{{- fail (printf "defaultReplicationFactor (%d) must not exceed nodePools.brokers.replicas (%d)" $rf (int $b.replicas)) -}}
{{- end -}}
{{- if gt (int (include "kafka.minInsyncReplicas" .)) $rf -}}
{{- fail (printf "minInsyncReplicas (%s) must not exceed the replication factor (%d)" (include "kafka.minInsyncReplicas" .) $rf) -}}
{{- end -}}
{{- $names := dict -}}
{{- range $i, $t := .Values.topics -}}
{{- if hasKey $names $t.name -}}
{{- fail (printf "topics[%d].name: topic %q is declared twice" $i $t.name) -}}
{{- end -}}
{{- $_ := set $names $t.name true -}}
{{- if and (not (kindIs "invalid" $t.replicas)) (hasKey $t "replicas") -}}
{{- if gt (int $t.replicas) (int $b.replicas) -}}
{{- fail (printf "topics[%d].replicas (%d) for topic %q must not exceed nodePools.brokers.replicas (%d)" $i (int $t.replicas) $t.name (int $b.replicas)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if .Values.connect.enabled -}}
{{- $connectors := dict -}}
{{- range $i, $c := .Values.connect.connectors -}}
{{- if hasKey $connectors $c.name -}}
{{- fail (printf "connect.connectors[%d].name: connector %q is declared twice; each connector needs its own name" $i $c.name) -}}
{{- end -}}
{{- $_ := set $connectors $c.name true -}}
{{- end -}}
{{- end -}}
{{- if and .Values.connect.enabled (gt (int (include "kafka.connect.replicationFactor" .)) (int $b.replicas)) -}}
{{- fail (printf "connect.replicationFactor (%s) must not exceed nodePools.brokers.replicas (%d): Connect could not create its internal topics" (include "kafka.connect.replicationFactor" .) (int $b.replicas)) -}}
{{- end -}}
{{- $ext := .Values.listeners.external -}}
{{- if $ext.enabled -}}
{{- if and (eq $ext.type "NodePort") (not $ext.advertisedHost) -}}
{{- fail "listeners.external.advertisedHost must be set when listeners.external.enabled=true and type=NodePort (a node's host name or IP that clients reach)" -}}
{{- end -}}
{{- if and (eq $ext.type "LoadBalancer") (lt (len $ext.advertisedHosts) (int $b.replicas)) -}}
{{- fail (printf "listeners.external.advertisedHosts needs one host per broker (%d) when listeners.external.type=LoadBalancer" (int $b.replicas)) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.strimzi.enabled (not (.Capabilities.APIVersions.Has "kafka.strimzi.io/v1beta2/Kafka")) -}}
{{- fail "strimzi.enabled=true but this cluster has no Strimzi CRDs (kafka.strimzi.io/v1beta2 Kafka). Install the Strimzi operator first (e.g. helm install strimzi oci://quay.io/strimzi-helm/strimzi-kafka-operator), or set strimzi.enabled=false to run Kafka from this chart's own StatefulSets. (helm template: pass --api-versions kafka.strimzi.io/v1beta2/Kafka)" -}}
{{- end -}}
{{- end -}}

{{- define "kafka.podAnnotations" -}}
{{- $a := dict -}}
{{- with .checksum }}{{ $_ := set $a "checksum/config" . }}{{ end -}}
{{- if .metrics }}{{ $a = merge $a (include "kafka.metrics.annotations" .ctx | fromYaml) }}{{ end -}}
{{- $a = merge $a (.extra | default dict) (.ctx.Values.global.podAnnotations | default dict) -}}
{{- toYaml $a -}}
{{- end -}}

{{- define "kafka.storageClass" -}}
{{- $sc := .sc | default .ctx.Values.global.storageClass -}}
{{- if $sc }}
{{- if eq $sc "-" }}
storageClassName: ""
{{- else }}
storageClassName: {{ $sc | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "kafka.affinity" -}}
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
            {{- include "kafka.componentSelector" (dict "ctx" .ctx "component" .component) | nindent 12 }}
{{- end }}
{{- end -}}

{{/* The environment of a JVM the image runs: its heap (`heap`, both -Xms and -Xmx) and its logs under /tmp. A tool
     (`tool`: kafka-storage.sh, kafka-topics.sh, ..., a few seconds each) also starts cheaply: the C1 compiler only
     and the serial GC, instead of the image's C2 and G1 for servers (kafka-topics.sh --list: 1.0 CPU-seconds instead
     of 1.6, measured 2026-12-06). */}}
{{- define "kafka.jvmEnv" -}}
- name: KAFKA_HEAP_OPTS
  value: "-Xms{{ .heap }} -Xmx{{ .heap }}"
{{- if .tool }}
- name: KAFKA_JVM_PERFORMANCE_OPTS
  value: "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true"
{{- end }}
- name: LOG_DIR
  value: /tmp/kafka-app-logs
{{- end -}}

{{/* Shell: wait until every broker (nodePools.brokers.replicas) answers, for at most 5 minutes (used by the hook
     and test pods and the schema registry's init container); /tmp/api-versions.txt keeps the last answer. */}}
{{- define "kafka.waitForBrokers" -}}
B={{ include "kafka.bootstrapServers" . }}
BIN=/opt/kafka/bin
WANT={{ .Values.nodePools.brokers.replicas }}
for attempt in $(seq 1 60); do
  answering=0
  if "$BIN/kafka-broker-api-versions.sh" --bootstrap-server "$B" >/tmp/api-versions.txt 2>&1; then
    answering=$(grep -c '(id: ' /tmp/api-versions.txt || true)
    if [ "$answering" -ge "$WANT" ]; then break; fi
  fi
  if [ "$attempt" = 60 ]; then echo "$answering of the $WANT brokers at $B answer"; cat /tmp/api-versions.txt; exit 1; fi
  echo "waiting for the brokers at $B ($answering of $WANT answer)"; sleep 5
done
{{- end -}}

{{/* ---- metrics (metrics.enabled): the Prometheus JMX exporter's agent in every broker and controller */}}

{{- define "kafka.metrics.agentJar" -}}/opt/bigdata/metrics/jmx_prometheus_javaagent.jar{{- end -}}

{{/* The init container that downloads the agent (the image's wget) and checks its SHA-256 */}}
{{- define "kafka.metrics.initContainer" -}}
{{- if .Values.metrics.enabled }}
- name: metrics-agent
  image: {{ include "kafka.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  securityContext:
    {{- toYaml .Values.containerSecurityContext | nindent 4 }}
  env:
    - name: AGENT_URL
      value: {{ .Values.metrics.agent.url | quote }}
    - name: AGENT_SHA256
      value: {{ .Values.metrics.agent.sha256 | quote }}
  command:
    - /bin/bash
    - -c
    - |
      set -euo pipefail
      jar={{ include "kafka.metrics.agentJar" . }}
      echo "downloading the Prometheus JMX exporter's agent from $AGENT_URL"
      # bounded: a stalled connection (no read timeout in the client) is cut after 60 s and tried again
      for attempt in 1 2 3 4 5; do
        timeout 60 wget -q -O "$jar.tmp" "$AGENT_URL" && break
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
    - name: tmp
      mountPath: /tmp
{{- end }}
{{- end -}}

{{/* The broker's or controller's start: the agent in KAFKA_OPTS of that JVM only (a tool run in the container,
     such as kafka-topics.sh, does not load it) */}}
{{- define "kafka.metrics.opts" -}}
{{- if .Values.metrics.enabled -}}
export KAFKA_OPTS="${KAFKA_OPTS:-} -javaagent:{{ include "kafka.metrics.agentJar" . }}={{ .Values.metrics.port }}:/etc/kafka/bigdata/jmx-exporter.yaml" &&
{{- end -}}
{{- end -}}

{{/* Prometheus' scrape annotations (a YAML map) */}}
{{- define "kafka.metrics.annotations" -}}
{{- if .Values.metrics.enabled -}}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .Values.metrics.port | quote }}
prometheus.io/path: /metrics
{{- else -}}
{}
{{- end -}}
{{- end -}}

{{/* ---- Kafka Connect (connect.enabled) */}}

{{- define "kafka.connect.fullname" -}}{{ include "kafka.fullname" . }}-connect{{- end -}}

{{/* Replication factor of Connect's internal topics: connect.replicationFactor, else min(3, brokers) */}}
{{- define "kafka.connect.replicationFactor" -}}
{{- if kindIs "invalid" .Values.connect.replicationFactor -}}
{{- min 3 (int .Values.nodePools.brokers.replicas) -}}
{{- else -}}
{{- int .Values.connect.replicationFactor -}}
{{- end -}}
{{- end -}}

{{/* connect-distributed.properties: the chart's settings, then connect.config over them. Plugins are found by
     their ServiceLoader manifests only (plugin.discovery=service_load: Kafka's own have them; the worker's REST API
     answered in 3.3 s instead of 5.8 s with the default scan, measured here) */}}
{{- define "kafka.connect.properties" -}}
{{- $name := include "kafka.connect.fullname" . -}}
{{- $rf := include "kafka.connect.replicationFactor" . -}}
{{- $p := dict
  "bootstrap.servers" (include "kafka.bootstrapServers" .)
  "group.id" $name
  "config.storage.topic" (printf "%s-configs" $name)
  "offset.storage.topic" (printf "%s-offsets" $name)
  "status.storage.topic" (printf "%s-status" $name)
  "config.storage.replication.factor" $rf
  "offset.storage.replication.factor" $rf
  "status.storage.replication.factor" $rf
  "key.converter" "org.apache.kafka.connect.json.JsonConverter"
  "value.converter" "org.apache.kafka.connect.json.JsonConverter"
  "key.converter.schemas.enable" "false"
  "value.converter.schemas.enable" "false"
  "listeners" (printf "http://0.0.0.0:%d" (int .Values.connect.port))
  "offset.flush.interval.ms" "10000"
  "plugin.discovery" "service_load"
-}}
{{- $p = merge (deepCopy (.Values.connect.config | default dict)) $p -}}
{{- range $k := keys $p | sortAlpha }}
{{ $k }}={{ include "kafka.scalar" (index $p $k) }}
{{- end }}
{{- end -}}

{{/* Shell: http METHOD PATH [FILE] asks the REST API at $API_HOST:$API_PORT (Kafka Connect's, the schema
     registry's) with FILE's JSON as the body (HTTP/1.0 over bash's /dev/tcp: the image has no curl, and busybox's
     wget cannot PUT) and sets CODE and BODY. */}}
{{- define "kafka.http" -}}
http() {
  local method=$1 path=$2 file=${3:-} body="" len=0 resp
  CODE=000 BODY=""
  if [ -n "$file" ]; then body=$(cat "$file"); len=$(printf '%s' "$body" | LC_ALL=C wc -c); fi
  if ! { exec 3<>"/dev/tcp/$API_HOST/$API_PORT"; } 2>/dev/null; then
    BODY="cannot connect to $API_HOST:$API_PORT"
    return 1
  fi
  printf '%s %s HTTP/1.0\r\nHost: %s\r\nAccept: application/json\r\nContent-Type: application/json\r\nContent-Length: %s\r\n\r\n%s' \
    "$method" "$path" "$API_HOST" "$len" "$body" >&3
  resp=$(timeout 60 cat <&3 || true)
  exec 3<&-
  CODE=$(printf '%s\n' "$resp" | head -n 1 | cut -d' ' -f2)
  BODY=${resp#*$'\r\n\r\n'}
  [ -n "$CODE" ] || CODE=000
}
{{- end -}}

{{/* Shell: http (above), and running NAME: the connector and each of its tasks (at least one) RUNNING; FAILED
     ends the wait */}}
{{- define "kafka.connect.http" -}}
{{ include "kafka.http" . }}
running() {
  local states
  http GET "/connectors/$1/status" || return 1
  [ "$CODE" = 200 ] || return 1
  states=$(printf '%s' "$BODY" | grep -o '"state":"[A-Z]*"' | cut -d'"' -f4 | tr '\n' ' ')
  case " $states" in *" FAILED "*) echo "connector $1 failed: $BODY"; exit 1 ;; esac
  [ "$(printf '%s' "$states" | wc -w)" -ge 2 ] && [ -z "$(printf '%s' "$states" | tr ' ' '\n' | grep -vx 'RUNNING' | grep .)" ]
}
{{- end -}}

{{/* ---- the schema registry (schemaRegistry.enabled) */}}

{{- define "kafka.schemaRegistry.fullname" -}}{{ include "kafka.fullname" . }}-schema-registry{{- end -}}
{{- define "kafka.schemaRegistry.image" -}}{{ .Values.schemaRegistry.image.repository }}:{{ .Values.schemaRegistry.image.tag }}{{- end -}}
{{- define "kafka.schemaRegistry.topic" -}}{{ .Values.schemaRegistry.topic | default (printf "%s-schemas" (include "kafka.fullname" .)) }}{{- end -}}
{{/* The URL of Confluent's Schema Registry API it serves, inside the cluster */}}
{{- define "kafka.schemaRegistry.ccompatUrl" -}}
http://{{ include "kafka.schemaRegistry.fullname" . }}:{{ .Values.schemaRegistry.port }}/apis/ccompat/v7
{{- end -}}

{{/* The registry's configuration, as environment (name: value): the kafkasql storage on this cluster (its consumer's
     poll timeout 1 s, not 5: it polls the snapshots topic at start, and a start took 10 s longer), the ports, no
     tracing exporter (nothing listens for it), then schemaRegistry.env over them */}}
{{- define "kafka.schemaRegistry.env" -}}
{{- $topic := include "kafka.schemaRegistry.topic" . -}}
{{- $e := dict
  "APICURIO_STORAGE_KIND" "kafkasql"
  "APICURIO_KAFKASQL_BOOTSTRAP_SERVERS" (include "kafka.bootstrapServers" .)
  "APICURIO_KAFKASQL_TOPIC" $topic
  "APICURIO_KAFKASQL_SNAPSHOTS_TOPIC" (printf "%s-snapshots" $topic)
  "APICURIO_KAFKASQL_CONSUMER_POLL_TIMEOUT" "1000"
  "QUARKUS_HTTP_PORT" (toString .Values.schemaRegistry.port)
  "QUARKUS_MANAGEMENT_PORT" (toString .Values.schemaRegistry.managementPort)
  "QUARKUS_OTEL_ENABLED" "false"
  "JAVA_OPTS_APPEND" (printf "-Xms%s -Xmx%s" .Values.schemaRegistry.heapSize .Values.schemaRegistry.heapSize)
-}}
{{- $e = merge (deepCopy (.Values.schemaRegistry.env | default dict)) $e -}}
{{- range $k := keys $e | sortAlpha }}
- name: {{ $k }}
  value: {{ index $e $k | toString | quote }}
{{- end }}
{{- end -}}
