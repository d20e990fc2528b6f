#!/bin/bash
# The stand-in's /opt/entrypoint.sh: the contract of apache/spark's entrypoint, which Spark on Kubernetes relies on.
#   driver ARGS...    a driver pod: spark-submit in client mode, bound to the pod's IP (SPARK_DRIVER_BIND_ADDRESS)
#   executor          an executor pod: KubernetesExecutorBackend, configured by the SPARK_* variables Spark sets
#   anything else     run as given (the chart's history server, spark-submit, Spark Connect)
# The JVM's class path: SPARK_CONF_DIR (else $SPARK_HOME/conf), HADOOP_CONF_DIR, SPARK_CLASSPATH, the jars,
# SPARK_EXTRA_CLASSPATH, the working directory; SPARK_JAVA_OPT_* are the executor's JVM options.
set -eo pipefail

# an arbitrary uid (OpenShift) gets a passwd entry through nss_wrapper: Hadoop's login needs a user name
passwd_entry_for_any_uid() {
  getent passwd "$(id -u)" >/dev/null 2>&1 && return
  local lib
  for lib in /usr/lib/x86_64-linux-gnu/libnss_wrapper.so /usr/lib/libnss_wrapper.so; do
    [[ -s $lib ]] || continue
    export NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP LD_PRELOAD=$lib
    NSS_WRAPPER_PASSWD=$(mktemp) NSS_WRAPPER_GROUP=$(mktemp)
    echo "spark:x:$(id -u):$(id -g):${SPARK_USER_NAME:-anonymous uid}:$SPARK_HOME:/bin/false" >"$NSS_WRAPPER_PASSWD"
    echo "spark:x:$(id -g):" >"$NSS_WRAPPER_GROUP"
    return
  done
}

class_path() {
  local cp="${SPARK_CLASSPATH:-}:$SPARK_HOME/jars/*"
  [[ -n ${SPARK_EXTRA_CLASSPATH:-} ]] && cp+=":$SPARK_EXTRA_CLASSPATH"
  [[ -n ${HADOOP_CONF_DIR+x} ]] && cp="$HADOOP_CONF_DIR:$cp"
  cp="${SPARK_CONF_DIR:-$SPARK_HOME/conf}:$cp"
  echo "$cp:$PWD"
}

[[ -n ${JAVA_HOME:-} ]] || JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
[[ -n ${PYSPARK_PYTHON+x} ]] && export PYSPARK_PYTHON
[[ -n ${PYSPARK_DRIVER_PYTHON+x} ]] && export PYSPARK_DRIVER_PYTHON

case "${1:-}" in
  driver)
    shift
    passwd_entry_for_any_uid
    exec /usr/bin/tini -s -- "$SPARK_HOME/bin/spark-submit" \
      --conf "spark.driver.bindAddress=$SPARK_DRIVER_BIND_ADDRESS" \
      --conf "spark.executorEnv.SPARK_DRIVER_POD_IP=$SPARK_DRIVER_BIND_ADDRESS" \
      --deploy-mode client "$@"
    ;;
  executor)
    shift
    java_opts=()
    for v in "${!SPARK_JAVA_OPT_@}"; do java_opts+=("${!v}"); done
    passwd_entry_for_any_uid
    exec /usr/bin/tini -s -- "$JAVA_HOME/bin/java" "${java_opts[@]}" \
      -Xms"$SPARK_EXECUTOR_MEMORY" -Xmx"$SPARK_EXECUTOR_MEMORY" \
      -cp "$(class_path):${SPARK_DIST_CLASSPATH:-}" \
      org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend \
      --driver-url "$SPARK_DRIVER_URL" --executor-id "$SPARK_EXECUTOR_ID" --cores "$SPARK_EXECUTOR_CORES" \
      --app-id "$SPARK_APPLICATION_ID" --hostname "$SPARK_EXECUTOR_POD_IP" \
      --resourceProfileId "$SPARK_RESOURCE_PROFILE_ID" --podName "$SPARK_EXECUTOR_POD_NAME"
    ;;
  *)
    passwd_entry_for_any_uid
    exec "$@"
    ;;
esac
