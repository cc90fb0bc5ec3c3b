"""Hostile and broken input: what each costs the real decision path, in time and peak memory.

Every input (``testkit.hostile.inputs``) is a whole mail as the worker would hold it (for a
mail over the size limit: the marked header block it stores). Each runs in a fresh Python
process that does exactly what the worker's processing stage does with a stored original —
``intake.message.decode`` with the limits from the default settings, then
``intake.pipeline.process`` with the real reader (``parsers.reader.read_attachment``, OCR
included) — and reports the decision (``testkit.hostile.measure``). The table shows both the
process peak and what the input added to it. Exit status 1 when an input went over 1 GB or
over the read time limit.

    python -m bench.hostile                   # every input, table on stdout
    python -m bench.hostile --only png,pdf    # inputs whose name contains one of the words
    python -m bench.hostile --markdown out.md # also write the table as Markdown
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from testkit.hostile import INPUTS, Row, run_one
from testkit.hostile.inputs import MB


def _size(n: int) -> str:
    if n >= MB:
        return f"{n / MB:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} B"


def markdown(rows: list[Row]) -> str:
    lines = ["| input | mail size | decision | reason codes | wall s | peak RSS MB | added MB | reason (first, cut) |",
             "|---|---:|---|---|---:|---:|---:|---|"]
    for r in rows:
        outcome = r.error or r.outcome
        lines.append(f"| {r.name} | {_size(r.size)} | {outcome} | {r.codes} | {r.seconds:.2f} | "
                     f"{r.peak_mb:.0f} | {r.added_mb:.0f} | {r.detail.replace('|', '/')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated words; run inputs whose name contains one")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    words = [w.strip().lower() for w in args.only.split(",") if w.strip()]
    chosen = [i for i in INPUTS if not words or any(w in i.name.lower() for w in words)]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        for number, item in enumerate(chosen, 1):
            print(f"[{number}/{len(chosen)}] {item.name} …", end=" ", flush=True)
            built = time.monotonic()
            row = run_one(item, Path(tmp))
            rows.append(row)
            print(f"{row.error or row.outcome} {row.codes} | {row.seconds:.2f} s | peak {row.peak_mb:.0f} MB "
                  f"(+{row.added_mb:.0f}; ru_maxrss {row.rusage_mb:.0f}) | {time.monotonic() - built:.0f} s with building",
                  flush=True)
    table = markdown(rows)
    print()
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n", encoding="utf-8")
    from config.settings import Settings

    slow = Settings().max_read_seconds
    bound = [r for r in rows if r.error or r.peak_mb > 1024 or r.seconds > slow]
    return 1 if bound else 0


if __name__ == "__main__":
    sys.exit(main())
