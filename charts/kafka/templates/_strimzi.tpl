{{/* A Strimzi KafkaNodePool. Usage: include "kafka.strimziNodePool" (dict "ctx" . "pool" "broker") */}}
{{- define "kafka.strimziNodePool" -}}
{{- $ctx := .ctx -}}
{{- $v := $ctx.Values -}}
{{- $isController := eq .pool "controller" -}}
{{- $pv := ternary $v.nodePools.controllers $v.nodePools.brokers $isController -}}
{{- $lo := int $pv.nodeIdOffset -}}
apiVersion: kafka.strimzi.io/v1beta2
kind: KafkaNodePool
metadata:
  name: {{ include "kafka.fullname" $ctx }}-{{ .pool }}
  labels:
    {{- include "kafka.labels" (dict "ctx" $ctx "component" .pool) | nindent 4 }}
    strimzi.io/cluster: {{ include "kafka.fullname" $ctx }}
  annotations:
    # deterministic node ids, as without Strimzi: controllers from 0, brokers from 100
    strimzi.io/next-node-ids: "[{{ $lo }}-{{ add $lo 99 }}]"
spec:
  replicas: {{ $pv.replicas }}
  roles: [{{ .pool }}]
  storage:
    type: jbod
    volumes:
      - id: 0
        type: persistent-claim
        size: {{ $pv.storage.size }}
        deleteClaim: false
        kraftMetadata: shared
        {{- $sc := $pv.storage.storageClass | default $v.global.storageClass }}
        {{- if and $sc (ne $sc "-") }}
        class: {{ $sc | quote }}
        {{- end }}
  resources:
    {{- toYaml $pv.resources | nindent 4 }}
  jvmOptions:
    -Xms: {{ $pv.heapSize | quote }}
    -Xmx: {{ $pv.heapSize | quote }}
  template:
    pod:
      metadata:
        annotations:
          {{- include "kafka.podAnnotations" (dict "ctx" $ctx "extra" $pv.podAnnotations) | nindent 10 }}
      securityContext:
        {{- toYaml $v.podSecurityContext | nindent 8 }}
      {{- with $pv.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $pv.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    kafkaContainer:
      securityContext:
        {{- toYaml $v.containerSecurityContext | nindent 8 }}
{{- end -}}
