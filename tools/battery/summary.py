#!/usr/bin/env python3
"""Renders the reliability battery's results and figures as Markdown.

    python3 tools/battery/summary.py RESULTS.tsv FIGURES_DIR > SUMMARY.md

RESULTS.tsv has one line per part (name, verdict, seconds, log path), written by run.sh;
FIGURES_DIR holds the `<name>.json` figures the tests wrote (tickrail_tests::battery::figure).
Nested figures are flattened to dotted keys. Python 3 standard library only.
"""

import json
import sys
from pathlib import Path


def flatten(value, prefix=""):
    """(dotted key, value) pairs of a JSON value; lists of scalars stay whole."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        for i, v in enumerate(value):
            yield from flatten(v, f"{prefix}[{i}]")
    else:
        yield prefix, value


def show(v):
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, list):
        return ", ".join(show(x) for x in v)
    return "null" if v is None else str(v)


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    results, figures = Path(argv[1]), Path(argv[2])
    out = ["# tickrail reliability battery", "", "| part | verdict | seconds | log |", "| --- | --- | --- | --- |"]
    if results.is_file():
        for line in results.read_text().splitlines():
            name, verdict, secs, log = (line.split("\t") + ["", "", "", ""])[:4]
            out.append(f"| {name} | {verdict} | {secs} | `{log}` |")
    out += ["", "## Figures", ""]
    files = sorted(figures.glob("*.json")) if figures.is_dir() else []
    if not files:
        out.append("No figures were written.")
    for f in files:
        try:
            data = json.loads(f.read_text())
        except (OSError, json.JSONDecodeError) as e:
            out += [f"### {f.stem}", "", f"unreadable: {e}", ""]
            continue
        out += [f"### {f.stem}", "", "| figure | value |", "| --- | --- |"]
        out += [f"| {k or '(value)'} | {show(v)} |" for k, v in flatten(data)]
        out.append("")
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv)
