#!/usr/bin/env python3
"""Checks of the monitoring chart's Grafana dashboards, as the chart renders them (`helm template` output).

  dashboards.py static MANIFESTS              every dashboard parses, has its uid (bigdata-<name>), unique panel ids,
                                              panels inside the 24-column grid, and every panel's and query's
                                              datasource is one the chart provisions
  dashboards.py metrics MANIFESTS [--skip NAME]... FILE...
                                              every metric a query reads is exported: it appears in one of the
                                              FILEs (the components' /metrics, as scraped), or Prometheus makes it;
                                              a FILE.rs gives the metrics the Rust jobs register (the names
                                              of their "bigdata_..." string literals, and a histogram's series);
                                              the dashboards NAMEd by --skip are left out (said in the summary)
  dashboards.py queries MANIFESTS URL [--at UNIXTIME] [NAME...]  every query (of the dashboards NAMEd, e.g. hdfs;
                                              default all), run by the Prometheus at URL (at that instant: e.g. while
                                              a Spark application that has ended ran), succeeds and returns data

Prints one line per problem and a summary; exit 1 on a problem.
"""
import json
import re
import sys
import urllib.parse
import urllib.request

import yaml

# Series Prometheus makes itself for every target.
PROMETHEUS_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_series_added"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset", "bool",
            "inf", "nan"}


def load(manifests):
    """The provisioned datasource uids and the dashboards {configmap key: parsed JSON}."""
    datasources, dashboards = set(), {}
    with open(manifests) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    for doc in docs:
        if doc.get("kind") != "ConfigMap":
            continue
        name, data = doc["metadata"]["name"], doc.get("data") or {}
        if "datasources.yaml" in data:
            for ds in yaml.safe_load(data["datasources.yaml"]).get("datasources", []):
                datasources.add(ds["uid"])
        if name.endswith("-dashboards"):
            for key, text in data.items():
                try:
                    dashboards[key] = json.loads(text)
                except json.JSONDecodeError as e:
                    dashboards[key] = e
    return datasources, dashboards


def panels(dashboard):
    """Every panel, those inside rows too."""
    for p in dashboard.get("panels", []):
        yield p
        yield from p.get("panels", [])


def queries(dashboards):
    """(dashboard key, panel title, expr) of every query."""
    for key, d in sorted(dashboards.items()):
        if isinstance(d, Exception):
            continue
        for p in panels(d):
            for t in p.get("targets", []):
                yield key, p.get("title", "?"), t.get("expr", "")


def metric_names(expr):
    """The metric names a PromQL expression reads (not functions, keywords, label names or values)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    e = re.sub(r"\{[^}]*\}", " ", e)  # label matchers
    e = re.sub(r"\[[^\]]*\]", " ", e)  # ranges
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)  # label lists
    names = set()
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", e):
        word, rest = m.group(0), e[m.end():].lstrip()
        if rest.startswith("(") or word.lower() in KEYWORDS:
            continue
        if re.fullmatch(r"[0-9.eE+-]+", word):
            continue
        names.add(word)
    return names


def exported(files):
    """The metric names in Prometheus text-format FILEs, and those the Rust jobs' FILE.rs register."""
    names = set()
    for path in files:
        with open(path) as f:
            if path.endswith(".rs"):
                for name in re.findall(r'"(bigdata_[a-z0-9_]+)"', f.read()):
                    names |= {name, f"{name}_bucket", f"{name}_sum", f"{name}_count"}
                continue
            for line in f:
                if line.strip() and not line.startswith("#"):
                    names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def check_static(datasources, dashboards):
    problems = []
    if not datasources:
        problems.append("no datasource is provisioned")
    if not dashboards:
        problems.append("no dashboard is provisioned")
    for key, d in sorted(dashboards.items()):
        if isinstance(d, Exception):
            problems.append(f"{key}: not JSON: {d}")
            continue
        want_uid = "bigdata-" + key.removesuffix(".json")
        if d.get("uid") != want_uid:
            problems.append(f"{key}: uid {d.get('uid')!r}, expected {want_uid!r} (the helm test looks for it)")
        if not d.get("title"):
            problems.append(f"{key}: no title")
        ids = [p.get("id") for p in panels(d)]
        if len(ids) != len(set(ids)) or None in ids:
            problems.append(f"{key}: panel ids are missing or repeated: {ids}")
        for p in panels(d):
            title = p.get("title", "?")
            g = p.get("gridPos", {})
            if g.get("x", 0) + g.get("w", 0) > 24:
                problems.append(f"{key}: panel {title!r} goes past the 24 columns: {g}")
            if p.get("type") == "row":
                continue
            uids = {(p.get("datasource") or {}).get("uid")}
            uids |= {(t.get("datasource") or {}).get("uid") for t in p.get("targets", []) if t.get("datasource")}
            for uid in uids - datasources:
                problems.append(f"{key}: panel {title!r} uses datasource {uid!r}, not provisioned "
                                f"(provisioned: {sorted(datasources)})")
            if not p.get("targets"):
                problems.append(f"{key}: panel {title!r} has no query")
            for t in p.get("targets", []):
                if not t.get("expr", "").strip():
                    problems.append(f"{key}: panel {title!r} has an empty query ({t.get('refId')})")
    count = sum(1 for _ in queries(dashboards))
    return problems, f"{len(dashboards)} dashboards, {count} queries, datasources {sorted(datasources)}"


def check_metrics(dashboards, args):
    skipped, files = [], list(args)
    while files[:1] == ["--skip"] and len(files) > 1:
        skipped.append(files[1])
        files = files[2:]
    dashboards = {k: v for k, v in dashboards.items() if k.removesuffix(".json") not in skipped}
    names = exported(files) | PROMETHEUS_SERIES
    problems, used = [], set()
    for key, title, expr in queries(dashboards):
        for name in sorted(metric_names(expr)):
            used.add(name)
            if name not in names:
                problems.append(f"{key}: panel {title!r} reads {name}, which no component exports "
                                f"(in {len(files)} scraped /metrics)")
    left_out = f" (not checked here: {', '.join(skipped)})" if skipped else ""
    return problems, f"{len(used)} metrics read, all among the {len(names)} exported{left_out}"


def run_query(url, expr, at=None):
    q = urllib.parse.urlencode({"query": expr, **({"time": at} if at else {})})
    with urllib.request.urlopen(f"{url.rstrip('/')}/api/v1/query?{q}", timeout=10) as r:
        return json.load(r)


def check_queries(dashboards, url, names, at=None):
    if names:
        unknown = {f"{n}.json" for n in names} - set(dashboards)
        if unknown:
            return [f"no dashboard {sorted(unknown)} (known: {sorted(dashboards)})"], ""
        dashboards = {k: v for k, v in dashboards.items() if k.removesuffix(".json") in names}
    problems, answered, total = [], 0, 0
    for key, title, expr in queries(dashboards):
        total += 1
        try:
            body = run_query(url, expr, at)
        except Exception as e:  # HTTP 400 carries Prometheus's parse error
            detail = e.read().decode(errors="replace") if hasattr(e, "read") else str(e)
            problems.append(f"{key}: panel {title!r}: {expr}: {detail.strip()}")
            continue
        if body.get("status") != "success":
            problems.append(f"{key}: panel {title!r}: {expr}: {body}")
        elif body["data"]["result"]:
            answered += 1
        else:
            problems.append(f"{key}: panel {title!r}: {expr}: no data")
    return problems, f"{answered} of {total} queries returned data ({', '.join(sorted(dashboards))})"


def main(argv):
    if len(argv) < 3 or argv[1] not in ("static", "metrics", "queries"):
        sys.exit(__doc__)
    datasources, dashboards = load(argv[2])
    if argv[1] == "static":
        problems, summary = check_static(datasources, dashboards)
    elif argv[1] == "metrics":
        problems, summary = check_metrics(dashboards, argv[3:])
    else:
        names, at = argv[4:], None
        if names[:1] == ["--at"] and len(names) > 1:
            names, at = names[2:], names[1]
        problems, summary = check_queries(dashboards, argv[3], names, at)
    for p in problems:
        print(f"dashboards: {p}")
    print(f"dashboards {argv[1]}: {summary}" if not problems else f"dashboards {argv[1]}: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
