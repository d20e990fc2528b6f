#!/usr/bin/env python3
"""Puts the tables the benchmarks wrote (docs/benchmarks/<name>.md) into docs/benchmarks.md, between the
markers <!-- bench:<name> --> and <!-- /bench:<name> -->, so that the prose around them stays as written.

usage: assemble.py DOCS_DIR   (the directory holding benchmarks.md and benchmarks/)
"""
import pathlib
import re
import sys


def main() -> int:
    docs = pathlib.Path(sys.argv[1])
    page = docs / "benchmarks.md"
    text = page.read_text()
    replaced = []
    for name in re.findall(r"<!-- bench:([a-z-]+) -->", text):
        table = docs / "benchmarks" / f"{name}.md"
        if not table.exists():
            continue
        block = f"<!-- bench:{name} -->\n{table.read_text().strip()}\n<!-- /bench:{name} -->"
        text, n = re.subn(
            rf"<!-- bench:{name} -->.*?<!-- /bench:{name} -->", lambda _: block, text, flags=re.S
        )
        if n != 1:
            print(f"error: benchmarks.md has {n} closed blocks for {name}", file=sys.stderr)
            return 1
        replaced.append(name)
    page.write_text(text)
    print(f"docs/benchmarks.md: updated {', '.join(replaced) or 'nothing'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
