"""Writes the install benchmark's table (markdown) and plot (SVG) from the measured runs.

usage: report_install.py OUT_DIR "DAG_MS ..." "SEQUENTIAL_MS ..."
"""
import statistics
import sys
from pathlib import Path

CRITICAL_PATH_S = 6 + 18 + 3  # hdfs -> hive-metastore -> spark
SUM_S = 2 + 6 + 18 + 3 + 10


def main() -> None:
    out = Path(sys.argv[1])
    dag = [int(x) / 1000 for x in sys.argv[2].split()]
    seq = [int(x) / 1000 for x in sys.argv[3].split()]
    d, s = statistics.median(dag), statistics.median(seq)
    rows = [
        ("helm bigdata install (DAG)", d, dag),
        ("helm install --wait, one per component", s, seq),
    ]
    import datetime
    import os

    load = open("/proc/loadavg").read().split()[:3]
    table = [
        f"Measured {datetime.date.today()}, {len(dag)} runs each, {os.environ.get('BENCH_VERSIONS', '')}"
        f" load average before: {' '.join(load)}.",
        "",
        "| way | median wall time | runs | vs critical path (27 s) |",
        "| --- | ---: | --- | ---: |",
    ]
    for name, median, runs in rows:
        runs_text = ", ".join(f"{r:.1f}" for r in runs)
        table.append(f"| {name} | {median:.1f} s | {runs_text} | {median / CRITICAL_PATH_S:.2f}x |")
    table.append("")
    table.append(
        f"DAG / sequential: **{d / s:.2f}** (the DAG is {s / d:.2f}x faster); the DAG is "
        f"{(d / CRITICAL_PATH_S - 1) * 100:.0f}% over the critical path (target: within 10%)."
    )
    (out / "install.md").write_text("\n".join(table) + "\n")
    (out / "install.svg").write_text(svg(rows))
    print("\n".join(table))


def svg(rows) -> str:
    width, bar_h, gap, left = 640, 34, 18, 290
    scale = (width - left - 70) / max(SUM_S, *(r[1] for r in rows))
    height = 60 + len(rows) * (bar_h + gap) + 50
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="13">',
        f'<text x="10" y="22" font-size="15" font-weight="bold">install of profile full in the lab (seconds, median)</text>',
    ]
    y = 45
    for (name, median, _), colour in zip(rows, ("#2b7bb9", "#b0b0b0")):
        parts.append(f'<text x="10" y="{y + bar_h * 0.65:.0f}">{name}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{median * scale:.1f}" height="{bar_h}" fill="{colour}"/>')
        parts.append(f'<text x="{left + median * scale + 6:.1f}" y="{y + bar_h * 0.65:.0f}">{median:.1f}</text>')
        y += bar_h + gap
    for offset, (label, value) in enumerate((("critical path 27 s", CRITICAL_PATH_S), ("sum of delays 39 s", SUM_S))):
        x = left + value * scale
        parts.append(f'<line x1="{x:.1f}" y1="40" x2="{x:.1f}" y2="{y + offset * 18}" stroke="#d33" stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{x:.1f}" y="{y + 14 + offset * 18}" fill="#d33" text-anchor="middle">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    main()
