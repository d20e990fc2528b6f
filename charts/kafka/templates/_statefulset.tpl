{{/* The StatefulSet of one node pool. Usage: include "kafka.statefulset" (dict "ctx" . "pool" "broker") */}}
{{- define "kafka.statefulset" -}}
{{- $ctx := .ctx -}}
{{- $v := $ctx.Values -}}
{{- $pool := .pool -}}
{{- $isController := eq $pool "controller" -}}
{{- $pv := ternary $v.nodePools.controllers $v.nodePools.brokers $isController -}}
{{- $fullname := include "kafka.fullname" $ctx -}}
{{- $port := ternary 9093 9092 $isController -}}
{{- $portName := ternary "controller" "internal" $isController -}}
{{- $checksum := include (print $ctx.Template.BasePath "/configmap-" $pool ".yaml") $ctx | sha256sum -}}
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ $fullname }}-{{ $pool }}
  labels:
    {{- include "kafka.labels" (dict "ctx" $ctx "component" $pool) | nindent 4 }}
spec:
  replicas: {{ $pv.replicas }}
  serviceName: {{ ternary (include "kafka.controller.headless" $ctx) (include "kafka.broker.headless" $ctx) $isController }}
  podManagementPolicy: Parallel
  updateStrategy:
    type: RollingUpdate
  selector:
    matchLabels:
      {{- include "kafka.componentSelector" (dict "ctx" $ctx "component" $pool) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "kafka.labels" (dict "ctx" $ctx "component" $pool) | nindent 8 }}
      annotations:
        {{- include "kafka.podAnnotations" (dict "ctx" $ctx "extra" $pv.podAnnotations "checksum" $checksum "metrics" true) | nindent 8 }}
    spec:
      {{- with $v.global.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $v.podSecurityContext | nindent 8 }}
      enableServiceLinks: false
      terminationGracePeriodSeconds: {{ ternary 30 120 $isController }}
      {{- with $pv.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $pv.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      affinity:
        {{- include "kafka.affinity" (dict "ctx" $ctx "component" $pool "affinity" $pv.affinity) | trim | nindent 8 }}
      initContainers:
        {{- include "kafka.metrics.initContainer" $ctx | nindent 8 }}
        # Format the log dir ONLY when it is empty (no meta.properties); --ignore-formatted as a second guard.
        - name: format-storage
          image: {{ include "kafka.image" $ctx }}
          imagePullPolicy: {{ $v.image.pullPolicy }}
          securityContext:
            {{- toYaml $v.containerSecurityContext | nindent 12 }}
          command:
            - /bin/bash
            - -c
            - |
              set -eu
              CONFIG=/etc/kafka/bigdata/server-${POD_NAME##*-}.properties
              DATA_DIR=/var/lib/kafka/data/logs
              if [ -f "$DATA_DIR/meta.properties" ]; then
                echo "$DATA_DIR is formatted: $(grep -E '^(cluster.id|node.id)=' "$DATA_DIR/meta.properties" | tr '\n' ' ')"
                exit 0
              fi
              mkdir -p "$DATA_DIR"
              echo "$DATA_DIR is empty: formatting with cluster id $CLUSTER_ID"
              exec /opt/kafka/bin/kafka-storage.sh format --cluster-id "$CLUSTER_ID" --config "$CONFIG" --ignore-formatted
          env:
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            - name: CLUSTER_ID
              valueFrom:
                configMapKeyRef:
                  name: {{ include "kafka.clusterIdConfigMap" $ctx }}
                  key: cluster.id
            {{- include "kafka.jvmEnv" (dict "heap" $v.initHeapSize "tool" true) | nindent 12 }}
          resources:
            {{- toYaml $v.initResources | nindent 12 }}
          volumeMounts:
            - name: data
              mountPath: /var/lib/kafka/data
            - name: config
              mountPath: /etc/kafka/bigdata
              readOnly: true
            - name: tmp
              mountPath: /tmp
      containers:
        - name: kafka
          image: {{ include "kafka.image" $ctx }}
          imagePullPolicy: {{ $v.image.pullPolicy }}
          securityContext:
            {{- toYaml $v.containerSecurityContext | nindent 12 }}
          command:
            - /bin/bash
            - -c
            - {{ include "kafka.metrics.opts" $ctx }} exec /opt/kafka/bin/kafka-server-start.sh "/etc/kafka/bigdata/server-${POD_NAME##*-}.properties"
          env:
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            {{- include "kafka.jvmEnv" (dict "heap" $pv.heapSize) | nindent 12 }}
          ports:
            - name: {{ $portName }}
              containerPort: {{ $port }}
            {{- if and (not $isController) $v.listeners.external.enabled }}
            - name: external
              containerPort: 9094
            {{- end }}
            {{- if $v.metrics.enabled }}
            - name: metrics
              containerPort: {{ $v.metrics.port }}
            {{- end }}
          startupProbe:
            tcpSocket:
              port: {{ $portName }}
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 120
          readinessProbe:
            tcpSocket:
              port: {{ $portName }}
            periodSeconds: 10
            timeoutSeconds: 5
            failureThreshold: 3
          livenessProbe:
            tcpSocket:
              port: {{ $portName }}
            periodSeconds: 20
            timeoutSeconds: 5
            failureThreshold: 6
          resources:
            {{- toYaml $pv.resources | nindent 12 }}
          volumeMounts:
            - name: data
              mountPath: /var/lib/kafka/data
            - name: config
              mountPath: /etc/kafka/bigdata
              readOnly: true
            - name: tmp
              mountPath: /tmp
            {{- if $v.metrics.enabled }}
            - name: metrics-agent
              mountPath: /opt/bigdata/metrics
              readOnly: true
            {{- end }}
      volumes:
        - name: config
          configMap:
            name: {{ $fullname }}-{{ $pool }}-config
        - name: tmp
          emptyDir: {}
        {{- if $v.metrics.enabled }}
        - name: metrics-agent
          emptyDir:
            sizeLimit: 32Mi
        {{- end }}
  volumeClaimTemplates:
    - metadata:
        name: data
        labels:
          {{- include "kafka.componentSelector" (dict "ctx" $ctx "component" $pool) | nindent 10 }}
      spec:
        accessModes: [ReadWriteOnce]
        {{- include "kafka.storageClass" (dict "ctx" $ctx "sc" $pv.storage.storageClass) | nindent 8 }}
        resources:
          requests:
            storage: {{ $pv.storage.size }}
{{- end -}}
