"""Writes the batch benchmark's tables (markdown) and plot (SVG) from the measured runs of ci/bench.d/batch.sh.

usage: report_batch.py OUT_DIR RESULTS.tsv LOADS.tsv META.env FOOTPRINT.tsv

RESULTS.tsv: label, bytes, peer, run, wall seconds, CPU seconds, peak RSS KiB, 1-minute load average at the
start (one line per process run).
LOADS.tsv: label, load averages before (3), after (3), words, distinct words (one line per size).
META.env: key=value lines (date, machine, versions). FOOTPRINT.tsv: name, pid, RSS KiB, peak KiB, note.
Writes OUT_DIR/batch.md and OUT_DIR/batch.svg, and OUT_DIR/footprint.md if FOOTPRINT.tsv has rows (ci/bench's
assemble.py puts batch.md and footprint.md into docs/benchmarks.md between their markers); prints the markdown.
"""
import math
import statistics
import sys
from pathlib import Path

PEERS = {
    "raw": "raw hdfs-native read (no processing)",
    "rust": "**bigdata-jobs wordcount**",
    "spark": "Spark {spark} WordCount, local[2]",
    "mapreduce": "Hadoop {hadoop} MapReduce WordCount, local runner",
}
COLOURS = {"raw": "#9bbcd8", "rust": "#2b7bb9", "spark": "#e8913a", "mapreduce": "#b0b0b0"}
SHORT = {"raw": "raw read", "rust": "wordcount", "spark": "Spark local[2]", "mapreduce": "MapReduce local"}


def read_tsv(path):
    if path == "/dev/null" or not Path(path).exists():
        return []
    return [line.split("\t") for line in Path(path).read_text().splitlines() if line.strip()]


def mib(kib):
    return kib / 1024


def main() -> None:
    out = Path(sys.argv[1])
    results, loads = read_tsv(sys.argv[2]), read_tsv(sys.argv[3])
    meta = dict(line.split("=", 1) for line in Path(sys.argv[4]).read_text().splitlines() if "=" in line)
    footprint = read_tsv(sys.argv[5]) if len(sys.argv) > 5 else []

    sizes = []  # (label, bytes) in run order
    runs = {}  # (label, peer) -> [(wall, cpu, rss)]
    for label, nbytes, peer, _run, wall, cpu, rss, load in results:
        if (label, int(nbytes)) not in sizes:
            sizes.append((label, int(nbytes)))
        runs.setdefault((label, peer), []).append((float(wall), float(cpu), int(rss), load))

    # Per size and peer: median wall and CPU time, the largest peak RSS of the runs, MB/s from the median.
    stats = {}
    for (label, peer), rs in runs.items():
        nbytes = dict(sizes)[label]
        wall = statistics.median(r[0] for r in rs)
        stats[(label, peer)] = {
            "wall": wall,
            "cpu": statistics.median(r[1] for r in rs),
            "rss": mib(max(r[2] for r in rs)),
            "mbs": nbytes / 1e6 / wall,
            "walls": [r[0] for r in rs],
            "loads": [r[3] for r in rs],
        }

    md = []
    md.append(
        "| input | way | wall time | throughput | CPU time | peak RSS | wordcount vs it: throughput, RSS | load |"
    )
    md.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, nbytes in sizes:
        rust = stats.get((label, "rust"))
        for peer in PEERS:
            s = stats.get((label, peer))
            if s is None:
                continue
            name = PEERS[peer].format(**meta)
            walls = ", ".join(f"{w:.1f}" for w in s["walls"])
            wall = f"{s['wall']:.1f} s" + (f" ({walls})" if len(s["walls"]) > 1 else "")
            if peer == "rust" or rust is None:
                vs = ""
            else:
                vs = f"{rust['mbs'] / s['mbs']:.2f}x, {rust['rss'] / s['rss']:.3f}x"
            md.append(
                f"| {label} ({nbytes / 1e6:,.0f} MB) | {name} | {wall} | {s['mbs']:.1f} MB/s | "
                f"{s['cpu']:.1f} s | {s['rss']:,.0f} MiB | {vs} | {', '.join(s['loads'])} |"
            )
    md.append("")
    md.append(
        "Throughput: input bytes (10^6 per MB) / wall time of the whole process (JVM start, job, output "
        "commit). Peak RSS: the process's maximum resident set (`/usr/bin/time -f %M`). CPU: user + system. "
        "Load: the machine's 1-minute load average when the run started (2 cores: above 2, other work competed)."
    )
    md.append("")

    md.append("Targets (issue 7):")
    md.append("")
    md.append("| input | wordcount ≥ 5x Spark's throughput | wordcount ≤ 1/10 of Spark's peak RSS | wordcount within 2x of the raw read |")
    md.append("| --- | --- | --- | --- |")
    for label, _ in sizes:
        r, s, raw = (stats.get((label, p)) for p in ("rust", "spark", "raw"))
        if not (r and s and raw):
            continue
        speed = r["mbs"] / s["mbs"]
        mem = r["rss"] / s["rss"]
        ceiling = raw["mbs"] / r["mbs"]
        md.append(
            f"| {label} | {speed:.2f}x: {'met' if speed >= 5 else '**not met**'} "
            f"| {mem:.3f} (1/{1 / mem:.0f}): {'met' if mem <= 0.1 else '**not met**'} "
            f"| raw read {ceiling:.2f}x faster: {'met' if ceiling <= 2 else '**not met**'} |"
        )
    md.append("")

    if loads:
        md.append("| input | words | distinct | load average before | after |")
        md.append("| --- | ---: | ---: | --- | --- |")
        for row in loads:
            label, before, after, words, distinct = row[0], row[1], row[2], row[3], row[4]
            md.append(f"| {label} | {int(words):,} | {int(distinct):,} | {before} | {after} |")
        md.append("")
    md.append(
        f"Measured {meta.get('date', '?')} on {meta.get('cpu', '?')}, {meta.get('memory', '?')}, Linux "
        f"{meta.get('kernel', '?')}; Java {meta.get('java', '?')}, rustc {meta.get('rustc', '?')}, Hadoop "
        f"{meta.get('hadoop', '?')}, Spark {meta.get('spark', '?')}; commit {meta.get('commit', '?')}, "
        f"{meta.get('build', '?')} build, seed {meta.get('seed', '?')}, {meta.get('runs', '?')} run(s) per size "
        "(median)."
    )
    md.append("")

    (out / "batch.md").write_text("\n".join(md))
    print("\n".join(md))

    if footprint:
        fp = [
            "| service | RSS | peak RSS | note |",
            "| --- | ---: | ---: | --- |",
        ]
        for name, _pid, rss, hwm, note in footprint:
            fp.append(f"| {name} | {mib(int(rss)):,.0f} MiB | {mib(int(hwm)):,.0f} MiB | {note} |")
        fp.append("")
        fp.append(
            f"Measured by `ci/bench.d/footprint.sh` at the end of the batch run of {meta.get('date', '?')} (RSS: "
            "the service's process tree, VmRSS in /proc/PID/status; peak: the main process's VmHWM)."
        )
        fp.append("")
        (out / "footprint.md").write_text("\n".join(fp))
        print("\n".join(fp))
    (out / "batch.svg").write_text(svg(sizes, stats))


def svg(sizes, stats) -> str:
    """Two panels side by side: throughput (MB/s) and peak RSS (MiB), one group of bars per input size."""
    peers = [p for p in PEERS if any((label, p) in stats for label, _ in sizes)]
    panel_w, label_w, bar_h, gap, group_gap = 330, 130, 14, 3, 16
    width = label_w + 2 * panel_w + 40
    group_h = len(peers) * (bar_h + gap) + group_gap
    top = 62
    height = top + len(sizes) * group_h + 52
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
        '<text x="10" y="20" font-size="15" font-weight="bold">wordcount on the same HDFS input: throughput and peak memory</text>',
    ]
    panels = (
        ("throughput, MB/s, log scale (higher is better)", "mbs", "{:.0f}", True),
        ("peak RSS, MiB (lower is better)", "rss", "{:,.0f}", False),
    )
    for i, (title, key, fmt, log) in enumerate(panels):
        x0 = label_w + i * (panel_w + 20)
        vmax = max(s[key] for s in stats.values()) or 1
        if log:
            # Bars start at 1 MB/s; a grid line at each power of ten.
            decades = max(1, math.ceil(math.log10(vmax)))
            scale = (panel_w - 60) / decades

            def length(v, scale=scale):
                return max(math.log10(max(v, 1)) * scale, 1)

            for d in range(decades + 1):
                x = x0 + d * scale
                parts.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 30}" stroke="#ddd"/>')
                parts.append(f'<text x="{x:.1f}" y="{height - 32}" fill="#888" text-anchor="middle" font-size="10">{10 ** d}</text>')
        else:
            scale = (panel_w - 60) / vmax

            def length(v, scale=scale):
                return max(v * scale, 1)

        parts.append(f'<text x="{x0}" y="44" font-weight="bold">{title}</text>')
        parts.append(f'<line x1="{x0}" y1="{top - 6}" x2="{x0}" y2="{height - 30}" stroke="#444"/>')
        y = top
        for label, _ in sizes:
            if i == 0:
                parts.append(f'<text x="10" y="{y + bar_h:.0f}" font-weight="bold">{label}</text>')
            for peer in peers:
                s = stats.get((label, peer))
                if s is not None:
                    w = length(s[key])
                    parts.append(f'<rect x="{x0}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{COLOURS[peer]}"/>')
                    parts.append(f'<text x="{x0 + w + 4:.1f}" y="{y + bar_h - 3}">{fmt.format(s[key])}</text>')
                y += bar_h + gap
            y += group_gap
    x = 10
    for peer in peers:
        parts.append(f'<rect x="{x}" y="{height - 22}" width="12" height="12" fill="{COLOURS[peer]}"/>')
        parts.append(f'<text x="{x + 16}" y="{height - 12}">{SHORT[peer]}</text>')
        x += 30 + 7 * len(SHORT[peer])
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    main()
