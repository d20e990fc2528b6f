#!/usr/bin/env python3
"""Helpers of ci/fidelity: read what `helm template` rendered, and rewrite ONLY addresses, ports and paths so the
rendered configuration files (and the charts' own container scripts) run on this machine, on 127.0.0.1.

Every other property stays byte-for-byte as rendered. Each `prepare-*` command writes, besides the files, a
`rewritten.txt` listing every change (`file: key: old -> new`), and fails when a value still names a Kubernetes
address (a `*.svc.<domain>` name, a chart Service, or 0.0.0.0) after the rewrite: a new address property in a chart
then fails loudly instead of silently pointing nowhere.

Stdlib only, plus PyYAML (Debian's python3-yaml) to read the manifests.

  fidelity.py prepare-kafka  MANIFEST WORKDIR           -> WORKDIR/nodes.tsv, WORKDIR/<pod>/..., WORKDIR/jobs/...
  fidelity.py prepare-hdfs   MANIFEST WORKDIR           -> WORKDIR/etc/hadoop/*, WORKDIR/ports.env, WORKDIR/helm-test.sh
                                                           (metrics.enabled: WORKDIR/metrics.env, metrics-agent.sh)
  fidelity.py prepare-hive   MANIFEST WORKDIR JDBC_HOSTPORT DEFAULT_FS WAREHOUSE THRIFT_PORT -> WORKDIR/conf/*
  fidelity.py cm-data        MANIFEST CONFIGMAP KEY     -> the value on stdout
  fidelity.py free-ports     N                          -> N distinct free TCP ports on 127.0.0.1
"""
import json
import os
import re
import shutil
import socket
import sys
import xml.etree.ElementTree as ET

HOST = "127.0.0.1"


def die(msg):
    sys.stderr.write("fidelity.py: %s\n" % msg)
    sys.exit(1)


# ----------------------------------------------------------------------------------------------- YAML in

def load_manifest(path):
    try:
        import yaml  # noqa: PLC0415
    except ImportError:
        die("PyYAML is missing: apt-get install python3-yaml (or pip install pyyaml) for %s" % sys.executable)
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if isinstance(d, dict)]


def find(docs, kind, name):
    for d in docs:
        if d.get("kind") == kind and (d.get("metadata") or {}).get("name") == name:
            return d
    die("the rendered chart has no %s %s" % (kind, name))


def cm_data(docs, name, key):
    data = find(docs, "ConfigMap", name).get("data") or {}
    if key not in data:
        die("ConfigMap %s has no key %s (keys: %s)" % (name, key, ", ".join(sorted(data))))
    return data[key]


def container(docs, kind, name, cname, init=False):
    d = find(docs, kind, name)
    spec = d["spec"]
    pod = spec["template"]["spec"] if kind in ("StatefulSet", "Deployment", "Job") else spec
    for c in pod.get("initContainers" if init else "containers") or []:
        if c["name"] == cname:
            return c
    die("%s %s has no %scontainer %s" % (kind, name, "init " if init else "", cname))


def script_of(c):
    """The shell script of a container whose command is [/bin/bash, -c, SCRIPT] (or args carry it)."""
    argv = (c.get("command") or []) + (c.get("args") or [])
    if len(argv) >= 3 and argv[0] in ("/bin/bash", "bash", "/bin/sh", "sh") and argv[1] == "-c":
        return argv[2]
    die("container %s does not run a `bash -c SCRIPT`: %r" % (c.get("name"), argv))


def plain_env(c):
    return {e["name"]: e["value"] for e in c.get("env") or [] if "value" in e}


# --------------------------------------------------------------------------------------------- rewriting

class Rewriter:
    """Maps Kubernetes addresses to 127.0.0.1 with free ports, and absolute paths under a root directory.

    identity(host) names the "machine" a host stands for (a pod, or one shared machine), so that the same
    host:port always maps to the same local port; 0.0.0.0 (a bind address) is the node itself."""

    def __init__(self, identity, is_k8s_host):
        self.identity = identity
        self.is_k8s_host = is_k8s_host
        self.ports = {}
        self.held = []
        self.changes = []

    def port(self, ident, port):
        key = "%s:%s" % (ident, port)
        if key not in self.ports:
            s = socket.socket()
            s.bind((HOST, 0))
            self.held.append(s)  # held until release(): every allocated port is distinct
            self.ports[key] = s.getsockname()[1]
        return self.ports[key]

    def release(self):
        for s in self.held:
            s.close()
        self.held = []

    def address(self, value, self_ident):
        def repl(m):
            host, port = m.group(1), m.group(2)
            if host == "0.0.0.0":
                ident = self_ident
            elif self.is_k8s_host(host):
                ident = self.identity(host)
            else:
                return m.group(0)
            return "%s:%d" % (HOST, self.port(ident, int(port)))
        out = re.sub(r"([A-Za-z0-9][A-Za-z0-9.-]*):(\d{2,5})\b", repl, value)
        return HOST if out == "0.0.0.0" else out

    def path(self, value, root):
        def one(v):
            if v.startswith("file:///"):
                return "file://" + root + v[len("file://"):]
            if v.startswith("/"):
                return root + v
            return v
        return ",".join(one(v) for v in value.split(","))

    def value(self, where, key, value, self_ident, root):
        new = self.path(self.address(value, self_ident), root) if root else self.address(value, self_ident)
        if new != value:
            self.changes.append("%s: %s: %s -> %s" % (where, key, value, new))
        return new

    def leftovers(self, where, key, value):
        if re.search(r"0\.0\.0\.0|\.svc\.|\bsvc\.cluster", value) or any(
                self.is_k8s_host(h) for h in re.findall(r"[A-Za-z0-9][A-Za-z0-9.-]*(?=:\d)", value)):
            return ["%s: %s=%s still names a Kubernetes address after the rewrite" % (where, key, value)]
        return []


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)


def rewrite_properties(text, rw, where, self_ident, root):
    """server.properties: rewrite values line by line; comments, order and every other line are kept."""
    out, problems = [], []
    for line in text.split("\n"):
        m = re.match(r"^([^#!\s][^=:]*?)\s*=\s*(.*)$", line)
        if not m:
            out.append(line)
            continue
        key, val = m.group(1), m.group(2)
        new = rw.value(where, key, val, self_ident, root)
        problems += rw.leftovers(where, key, new)
        out.append("%s=%s" % (key, new))
    return "\n".join(out), problems


def rewrite_hadoop_xml(text, rw, where, self_ident, root, overrides=None):
    """A Hadoop *-site.xml: rewrite <value>s; overrides (name -> value) replace a value outright."""
    overrides = overrides or {}
    tree = ET.ElementTree(ET.fromstring(text))
    problems = []
    seen = set()
    for prop in tree.getroot().iter("property"):
        name = prop.findtext("name")
        v = prop.find("value")
        if name is None or v is None:
            die("%s: a <property> without <name> or <value>" % where)
        seen.add(name)
        old = v.text or ""
        if name in overrides:
            new = overrides[name]
            if new != old:
                rw.changes.append("%s: %s: %s -> %s" % (where, name, old, new))
        else:
            new = rw.value(where, name, old, self_ident, root)
        problems += rw.leftovers(where, name, new)
        v.text = new
    for name in overrides:
        if name not in seen:
            problems.append("%s: expected property %s is not rendered" % (where, name))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(tree.getroot(), encoding="unicode") + "\n", problems


# ------------------------------------------------------------------------------------------------- kafka

def kafka_metrics(docs, kind, name, rules, conf_dir, root, main, port_for):
    """metrics.enabled, in a Kafka node or Connect worker (the workload KIND NAME): the exporter's RULES in its config
    dir (CONF_DIR under ROOT), ROOT/metrics-agent.sh (the init container that downloads the agent) and the main
    script with the agent on port_for(the rendered port). -> (main script, port)."""
    write(os.path.join(root, conf_dir, "jmx-exporter.yaml"), rules)
    c = container(docs, kind, name, "metrics-agent", init=True)
    mounts = {m["mountPath"] for m in c.get("volumeMounts") or []}
    write(os.path.join(root, "metrics-agent.sh"), env_prefix(plain_env(c), root) + pod_script(script_of(c), mounts, root), 0o755)
    m = re.search(r"-javaagent:[^=\s]+=(\d+):", main)
    if not m:
        die("%s %s: metrics.enabled but no -javaagent in the container's command" % (kind, name))
    port = port_for(int(m.group(1)))
    return main[: m.start(1)] + str(port) + main[m.end(1):], port


def prepare_kafka(manifest, work):
    docs = load_manifest(manifest)
    full = None
    for d in docs:
        n = (d.get("metadata") or {}).get("name", "")
        if d.get("kind") == "ConfigMap" and n.endswith("-kafka-cluster-id"):
            full = n[: -len("-cluster-id")]
    if not full:
        die("no <platform>-kafka-cluster-id ConfigMap rendered")
    cluster_id = cm_data(docs, full + "-cluster-id", "cluster.id")

    # Kubernetes names: <full>-<pool>-<i>.<headless>.<ns>.svc.<domain> (a pod) and <full>-bootstrap (Service).
    def is_k8s_host(h):
        return h.startswith(full + "-") or ".svc." in h

    def identity(h):
        return h.split(".")[0]

    rw = Rewriter(identity, is_k8s_host)
    problems, nodes = [], []
    for pool in ("controller", "broker"):
        sts = find(docs, "StatefulSet", "%s-%s" % (full, pool))
        replicas = int(sts["spec"]["replicas"])
        data = cm_data_all(docs, "%s-%s-config" % (full, pool))
        init_c = container(docs, "StatefulSet", sts["metadata"]["name"], "format-storage", init=True)
        main_c = container(docs, "StatefulSet", sts["metadata"]["name"], "kafka")
        mounts = {m["mountPath"] for m in main_c.get("volumeMounts") or []}
        for i in range(replicas):
            key = "server-%d.properties" % i
            if key not in data:
                die("ConfigMap %s-%s-config has no %s" % (full, pool, key))
            pod = "%s-%s-%d" % (full, pool, i)
            root = os.path.join(work, pod)
            text, p = rewrite_properties(data[key], rw, "%s/%s" % (pod, key), pod, root)
            problems += p
            write(os.path.join(root, "etc/kafka/bigdata", key), text)
            env = plain_env(main_c)
            env.update(POD_NAME=pod, CLUSTER_ID=cluster_id)
            metrics_port = 0
            for name, c in (("init", init_c), ("main", main_c)):
                e = dict(env, **plain_env(c))
                s = pod_script(script_of(c), mounts, root)
                if name == "main" and "jmx-exporter.yaml" in data:
                    s, metrics_port = kafka_metrics(docs, "StatefulSet", sts["metadata"]["name"], data["jmx-exporter.yaml"],
                                                    "etc/kafka/bigdata", root, s, lambda p: rw.port(pod + "-metrics", p))
                write(os.path.join(root, name + ".sh"), env_prefix(e, root) + s, 0o755)
            props = dict(l.split("=", 1) for l in text.split("\n") if "=" in l and not l.startswith("#"))
            nodes.append((pod, pool, props["node.id"], listener_port(props, pool), metrics_port))
    connect_port = connect_metrics_port = None
    if any_named(docs, "ConfigMap", full + "-connect"):
        connect_port = rw.port("connect", 8083)
        if "jmx-exporter.yaml" in cm_data_all(docs, full + "-connect"):
            connect_metrics_port = rw.port("connect-metrics", 9404)
    registry_ports = None
    if any_named(docs, "Deployment", full + "-schema-registry"):
        registry_ports = (rw.port("schema-registry", 8080), rw.port("schema-registry-management", 9000))
    rw.release()
    brokers = ",".join("%s:%s" % (HOST, n[3]) for n in nodes if n[1] == "broker")
    if connect_port:
        prepare_kafka_connect(docs, full, rw, brokers, connect_port, connect_metrics_port, work)
    if registry_ports:
        problems += prepare_schema_registry(docs, full, rw, brokers, registry_ports, work)
    # the REST APIs the hook Jobs and helm tests ask (API_HOST, API_PORT): Service name -> the port here
    api_ports = {full + "-connect": connect_port}
    if registry_ports:
        api_ports[full + "-schema-registry"] = registry_ports[0]

    # The hook Job and the helm test: their scripts, with the bootstrap Service pointing at every broker.
    jobs = [("topics", "Job", full + "-topics", "topics"), ("connectors", "Job", full + "-connect-connectors", "connectors")]
    for d in docs:
        if d.get("kind") == "Pod" and "helm.sh/hook" in ((d.get("metadata") or {}).get("annotations") or {}):
            jobs.append(("helm-test-" + d["metadata"]["name"], "Pod", d["metadata"]["name"], None))
    for label, kind, name, cname in jobs:
        if not any(d.get("kind") == kind and d["metadata"]["name"] == name for d in docs):
            continue
        d = find(docs, kind, name)
        spec = d["spec"]["template"]["spec"] if kind == "Job" else d["spec"]
        c = spec["containers"][0] if cname is None else container(docs, kind, name, cname)
        root = os.path.join(work, "jobs", label)
        s = script_of(c).replace("%s-bootstrap:9092" % full, brokers)
        rw.changes.append("%s: %s-bootstrap:9092 -> %s" % (label, full, brokers))
        s = pod_script(s, {m["mountPath"] for m in c.get("volumeMounts") or []}, root)
        for h in re.findall(r"[A-Za-z0-9][A-Za-z0-9.-]*(?=:\d)", s):
            if is_k8s_host(h):
                problems.append("%s: script still names %s" % (label, h))
        env = plain_env(c)
        if "API_HOST" in env:  # a REST API: Kafka Connect's (the connectors Job, its helm test), the schema registry's
            port = api_ports.get(env["API_HOST"])
            if port is None:
                problems.append("%s: API_HOST %s is no REST API this chart renders" % (label, env["API_HOST"]))
                continue
            rw.changes.append("%s: REST API %s:%s -> %s:%s" % (label, env["API_HOST"], env.get("API_PORT"), HOST, port))
            env.update(API_HOST=HOST, API_PORT=str(port))
            connectors_dir = os.path.join(work, "connect", "connectors")
            for m in c.get("volumeMounts") or []:
                if m["mountPath"] == "/etc/kafka/connectors":
                    shutil.copytree(connectors_dir, root + m["mountPath"], dirs_exist_ok=True)
        write(os.path.join(root, "run.sh"), env_prefix(env, root) + s, 0o755)

    with open(os.path.join(work, "nodes.tsv"), "w") as f:
        for n in nodes:
            f.write("\t".join(str(x) for x in n) + "\n")
    write(os.path.join(work, "bootstrap"), brokers + "\n")
    write(os.path.join(work, "cluster.id"), cluster_id + "\n")
    finish(work, rw, problems)


def any_named(docs, kind, name):
    return any(d.get("kind") == kind and (d.get("metadata") or {}).get("name") == name for d in docs)


def prepare_kafka_connect(docs, full, rw, brokers, port, metrics_port, work):
    """connect.enabled: WORK/connect/main.sh (the Deployment's container command) with its worker properties, the
    brokers and REST listener rewritten; the declared connectors in WORK/connect/connectors/<name>.json, the
    bootstrap Service in their values pointing at every broker; with metrics.enabled, WORK/connect/metrics-agent.sh
    (the init container's download) and the agent on METRICS_PORT."""
    name = full + "-connect"
    data = cm_data_all(docs, name)
    root = os.path.join(work, "connect")
    lines = []
    for line in data["connect-distributed.properties"].split("\n"):
        key = line.split("=", 1)[0]
        new = {"bootstrap.servers": "bootstrap.servers=" + brokers,
               "listeners": "listeners=http://%s:%d" % (HOST, port)}.get(key, line)
        if new != line:
            rw.changes.append("connect: %s -> %s" % (line, new))
        lines.append(new)
    write(os.path.join(root, "etc/kafka/connect/connect-distributed.properties"), "\n".join(lines))
    for key, text in data.items():
        if key.endswith(".json"):
            new = text.replace("%s-bootstrap:9092" % full, brokers)
            if new != text:
                rw.changes.append("connect: connector %s: %s-bootstrap:9092 -> %s" % (key[:-5], full, brokers))
            write(os.path.join(root, "connectors", key), new)
    c = container(docs, "Deployment", name, "connect")
    env = dict(plain_env(c), POD_IP=HOST)
    s = pod_script(script_of(c), {m["mountPath"] for m in c.get("volumeMounts") or []}, root)
    if metrics_port:
        def allocated(rendered):
            rw.changes.append("connect: metrics agent port %d -> %d" % (rendered, metrics_port))
            return metrics_port
        s, _ = kafka_metrics(docs, "Deployment", name, data["jmx-exporter.yaml"], "etc/kafka/connect", root, s, allocated)
        write(os.path.join(root, "metrics-port"), "%d\n" % metrics_port)
    write(os.path.join(root, "main.sh"), env_prefix(env, root) + s, 0o755)
    write(os.path.join(root, "port"), "%d\n" % port)


def prepare_schema_registry(docs, full, rw, brokers, ports, work):
    """schemaRegistry.enabled: WORK/schema-registry/main.sh, the image's entrypoint (ci/images.d/apicurio/run-java.sh,
    $FIDELITY_RUN_JAVA) with the Deployment's environment: its kafkasql storage on the brokers here, its ports
    rewritten; the app is $FIDELITY_REGISTRY_APP, on the Java 21 of $FIDELITY_JAVA21, as in the lab's image. Also
    the port files and the path of the readiness probe. Returns the problems (a Kubernetes host left)."""
    name = full + "-schema-registry"
    c = container(docs, "Deployment", name, "registry")
    root = os.path.join(work, "schema-registry")
    env = plain_env(c)
    port, mport = ports
    new = {"APICURIO_KAFKASQL_BOOTSTRAP_SERVERS": brokers, "QUARKUS_HTTP_PORT": str(port),
           "QUARKUS_MANAGEMENT_PORT": str(mport)}
    for k, v in new.items():
        if k not in env:
            return ["schema registry: the Deployment sets no %s" % k]
        rw.changes.append("schema registry: %s=%s -> %s" % (k, env[k], v))
        env[k] = v
    # a bind address, as a pod's 0.0.0.0 is its own
    env.update(QUARKUS_HTTP_HOST=HOST, QUARKUS_MANAGEMENT_HOST=HOST)
    problems = ["schema registry: %s still names %s" % (k, h) for k, v in env.items()
                for h in re.findall(r"[A-Za-z0-9][A-Za-z0-9.-]*(?=:\d)", v) if h.startswith(full + "-") or ".svc." in h]
    probe = c["readinessProbe"]["httpGet"]
    if probe["port"] != "management":
        problems.append("schema registry: the readiness probe asks port %s, not management" % probe["port"])
    script = ('export JAVA_APP_JAR="$FIDELITY_REGISTRY_APP/quarkus-run.jar" PATH="$FIDELITY_JAVA21/bin:$PATH"\n'
              '# the image\'s own JAVA_OPTS\n'
              'export JAVA_OPTS="-Djava.util.logging.manager=org.jboss.logmanager.LogManager"\n'
              'exec "$FIDELITY_RUN_JAVA"\n')
    write(os.path.join(root, "main.sh"), env_prefix(env, root) + script, 0o755)
    write(os.path.join(root, "port"), "%d\n" % port)
    write(os.path.join(root, "management-port"), "%d\n" % mport)
    write(os.path.join(root, "ready-path"), probe["path"] + "\n")
    return problems


def cm_data_all(docs, name):
    return find(docs, "ConfigMap", name).get("data") or {}


def listener_port(props, pool):
    want = "CONTROLLER" if pool == "controller" else props.get("inter.broker.listener.name", "INTERNAL")
    for l in props.get("listeners", "").split(","):
        name, _, rest = l.partition("://")
        if name == want:
            return rest.rsplit(":", 1)[1]
    die("no %s listener in %s" % (want, props.get("listeners")))


def pod_script(script, mounts, root):
    """A container script on this machine: its volume mount paths under ROOT (created), /opt/kafka/bin ->
    $FIDELITY_BIN (stand-ins for Kafka's bin/*.sh that run the same classes from the Maven jars)."""
    s = script.replace("/opt/kafka/bin", "$FIDELITY_BIN")
    for m in mounts:
        os.makedirs(root + m, exist_ok=True)
    if not mounts:
        return s
    # one pass, longest mount first: a root that itself lies under /tmp is not rewritten twice
    alt = "|".join(re.escape(m) for m in sorted(mounts, key=len, reverse=True))
    return re.sub(r"(?<![\w/$])(%s)(?=[/\"'\s]|$)" % alt, lambda m: root + m.group(1), s)


def env_prefix(env, root):
    lines = ["# Generated by ci/fidelity from the chart's rendered container: its env (paths under %s) and script.\n" % root]
    for k, v in sorted(env.items()):
        if v.startswith("/"):
            v = root + v
        lines.append("export %s=%s\n" % (k, shq(v)))
    return "".join(lines)


def shq(s):
    return "'" + s.replace("'", "'\\''") + "'"


def finish(work, rw, problems):
    write(os.path.join(work, "rewritten.txt"), "\n".join(rw.changes) + "\n")
    if problems:
        die("after the rewrite:\n  " + "\n  ".join(problems))


# -------------------------------------------------------------------------------------------------- hdfs

def prepare_hdfs(manifest, work):
    docs = load_manifest(manifest)
    cms = [d for d in docs if d.get("kind") == "ConfigMap" and "hdfs-site.xml" in (d.get("data") or {})]
    if len(cms) != 1:
        die("expected one ConfigMap with hdfs-site.xml, found %d" % len(cms))
    data = cms[0]["data"]
    full = cms[0]["metadata"]["name"][: -len("-config")]

    def is_k8s_host(h):
        return h.startswith(full + "-") or ".svc." in h

    # One machine: the NameNode Service and every bind address map to 127.0.0.1, each port to its own free port.
    rw = Rewriter(lambda h: "hdfs", is_k8s_host)
    root = os.path.join(work, "root")
    problems = []
    conf = os.path.join(work, "etc/hadoop")
    for name in ("core-site.xml", "hdfs-site.xml"):
        text, p = rewrite_hadoop_xml(data[name], rw, name, "hdfs", root)
        problems += p
        write(os.path.join(conf, name), text)
    write(os.path.join(conf, "log4j.properties"), data["log4j.properties"])
    if "jmx-exporter.yaml" in data:
        prepare_hdfs_metrics(docs, full, data, rw, work, conf, root)
    rw.release()
    env = ["HDFS_%s=%d\n" % (re.sub(r"\W", "_", k.split(":")[1]), v) for k, v in sorted(rw.ports.items())
           if not k.split(":")[0].endswith("-metrics")]
    write(os.path.join(work, "ports.env"), "".join(env))
    # The NameNode's init container "format" (its env, /data and /tmp under the root; HADOOP_CONF_DIR is ours).
    nn = [d for d in docs if d.get("kind") == "StatefulSet" and d["metadata"]["name"] == full + "-namenode"]
    if not nn:
        die("no StatefulSet %s-namenode rendered" % full)
    write(os.path.join(work, "format.sh"), namenode_init_script(docs, full, "format", root), 0o755)
    test = [d for d in docs if d.get("kind") == "Pod"]
    if test:
        c = test[0]["spec"]["containers"][0]
        # /tmp is the test pod's emptyDir: its local file moves under the root; /tmp/helm-test is an HDFS path, kept.
        s = script_of(c).replace("/tmp/local.txt", root + "/tmp/local.txt")
        write(os.path.join(work, "helm-test.sh"), s, 0o755)
    finish(work, rw, problems)


def prepare_hdfs_metrics(docs, full, data, rw, work, conf, root):
    """metrics.enabled: the exporter's rules, WORKDIR/metrics.env (each daemon's HDFS_<DAEMON>_OPTS as rendered, with
    the agent's jar under ROOT, its own free port and the rules in our conf; METRICS_<DAEMON>=port) and
    WORKDIR/metrics-agent.sh (the NameNode's init container that downloads the agent)."""
    write(os.path.join(conf, "jmx-exporter.yaml"), data["jmx-exporter.yaml"])
    lines = []
    for daemon in ("namenode", "datanode"):
        var = "HDFS_%s_OPTS" % daemon.upper()
        opts = plain_env(container(docs, "StatefulSet", "%s-%s" % (full, daemon), daemon)).get(var)
        if not opts:
            die("the %s container has no %s with metrics.enabled" % (daemon, var))
        m = re.match(r"^-javaagent:(/[^=]+)=(\d+):(/etc/hadoop/\S+)$", opts)
        if not m:
            die("unexpected %s: %s" % (var, opts))
        jar, port, rules = m.groups()
        local = rw.port("%s-metrics" % daemon, int(port))
        agent = "-javaagent:%s=%d:%s" % (root + jar, local, conf + rules[len("/etc/hadoop"):])
        lines.append("export %s=%s METRICS_%s=%d\n" % (var, shq(agent), daemon.upper(), local))
    write(os.path.join(work, "metrics.env"), "".join(lines))
    write(os.path.join(work, "metrics-agent.sh"), namenode_init_script(docs, full, "metrics-agent", root), 0o755)


def namenode_init_script(docs, full, name, root):
    """The NameNode pod's init container NAME on this machine (pod -0): its env and volume mounts under ROOT;
    HADOOP_CONF_DIR, HADOOP_LOG_DIR and /etc/hadoop are ours."""
    c = container(docs, "StatefulSet", full + "-namenode", name, init=True)
    mounts = {m["mountPath"] for m in c.get("volumeMounts") or [] if m["mountPath"] != "/etc/hadoop"}
    env = {k: v for k, v in plain_env(c).items() if k not in ("HADOOP_CONF_DIR", "HADOOP_LOG_DIR")}
    env["POD_NAME"] = full + "-namenode-0"
    return env_prefix(env, root) + pod_script(script_of(c), mounts, root)


# -------------------------------------------------------------------------------------------------- hive

def prepare_hive(manifest, work, jdbc_hostport, default_fs, warehouse, thrift_port):
    docs = load_manifest(manifest)
    cms = [d for d in docs if d.get("kind") == "ConfigMap" and "hive-site.xml" in (d.get("data") or {})]
    if len(cms) != 1:
        die("expected one ConfigMap with hive-site.xml, found %d" % len(cms))
    data = cms[0]["data"]
    site = ET.fromstring(data["hive-site.xml"])
    props = {p.findtext("name"): p.findtext("value") for p in site.iter("property")}
    url = props.get("javax.jdo.option.ConnectionURL") or die("hive-site.xml has no javax.jdo.option.ConnectionURL")
    m = re.match(r"^(jdbc:[a-z]+://)([^/]+)(/.*)$", url) or die("unexpected JDBC URL %s" % url)
    ov = {"javax.jdo.option.ConnectionURL": m.group(1) + jdbc_hostport + m.group(3)}
    old_fs = props.get("fs.defaultFS")
    for k, v in props.items():
        if k.endswith("warehouse.dir"):
            ov[k] = warehouse
        elif k == "fs.defaultFS":
            ov[k] = default_fs
        elif k.endswith("thrift.port") or k == "hive.metastore.port":
            ov[k] = thrift_port
        elif old_fs and v and v.startswith(old_fs):
            ov[k] = default_fs + v[len(old_fs):]
    rw = Rewriter(lambda h: h, lambda h: False)
    problems = []
    conf = os.path.join(work, "conf")
    text, p = rewrite_hadoop_xml(data["hive-site.xml"], rw, "hive-site.xml", None, None, ov)
    problems += p
    write(os.path.join(conf, "hive-site.xml"), text)
    text, p = rewrite_hadoop_xml(data["core-site.xml"], rw, "core-site.xml", None, None, {"fs.defaultFS": default_fs})
    problems += p
    write(os.path.join(conf, "core-site.xml"), text)
    finish(work, rw, problems)


def main(argv):
    if len(argv) < 2:
        die(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "prepare-kafka" and len(args) == 2:
        prepare_kafka(*args)
    elif cmd == "prepare-hdfs" and len(args) == 2:
        prepare_hdfs(*args)
    elif cmd == "prepare-hive" and len(args) == 6:
        prepare_hive(*args)
    elif cmd == "cm-data" and len(args) == 3:
        sys.stdout.write(cm_data(load_manifest(args[0]), args[1], args[2]))
    elif cmd == "free-ports" and len(args) == 1:
        rw = Rewriter(lambda h: h, lambda h: False)
        print(" ".join(str(rw.port("p", i)) for i in range(int(args[0]))))
        rw.release()
    else:
        die("bad arguments: %s\n%s" % (" ".join(argv[1:]), __doc__))


if __name__ == "__main__":
    main(sys.argv)
