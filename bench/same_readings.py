"""Does a refactor keep the readings byte for byte? Read a fixed set of pages before and after.

    python -m bench.same_readings write DIR              # render the pages once (kept outside the tree)
    python -m bench.same_readings read DIR OUT.json      # read them: CLI JSON, PageReading, raw PageScans
    python -m bench.same_readings read DIR OUT.json --pinned
    python -m bench.same_readings compare A.json B.json  # every difference, with the cell's text

Run ``read`` on the tree before the change and after it (``git archive HEAD | tar -x -C
/tmp/before`` gives a clean "before"; run from inside it with ``PYTHONPATH`` set to it).

The two engines share the certificate-name cells at run time (whoever is free takes the
next one, ``ocr.schedule._Names``), so which engine read a name, and with it the raw
scan's confidences, can differ from run to run on the same tree. ``--pinned`` takes that
race out (the checker takes no name cell; the reader reads them all): two pinned runs
of one tree are byte-identical, so a pinned difference is a change of behaviour.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from pathlib import Path

# Colour, gray, black-and-white, turned, low-resolution JPEG, 附件1 in front, photos;
# summary and increase forms, Anhui and Jiangsu profiles, a text-layer PDF.
CHOSEN = (("text_pdf", 0), ("scan_color", 0), ("scan_color", 3), ("scan_gray", 0), ("scan_bw", 1),
          ("scan_rotated", 3), ("scan_rotated", 0), ("scan_lowres_jpeg", 1), ("scan_pdf_page2", 0),
          ("photo", 0), ("photo", 3))


def write(folder: Path) -> None:
    from testkit.forms.samples import make_sample

    folder.mkdir(parents=True, exist_ok=True)
    for category, seed in CHOSEN:
        sample = make_sample(category, seed)
        (folder / sample.filename).write_bytes(sample.data)
        (folder / f"{sample.name}.profile").write_text(sample.truth["profile"])
        print(sample.filename, sample.truth["profile"], [p["kind"] for p in sample.truth["pages"]])


def read(folder: Path, out: Path, pinned: bool) -> None:
    import ocr.scan
    import parsers.reader
    from config.profile import load_profile
    from parsers.catalog import bundled_certificates

    try:
        from cli.read import reading_json  # `intake read FILE --json`
    except ImportError:  # a tree from before the one command-line edge
        from parsers.cli import reading_json

    if pinned:
        names = getattr(ocr.scan, "_Names", None) or __import__("ocr.schedule", fromlist=["_Names"])._Names
        take = names.take
        names.take = lambda self, top, width=0.0: take(self, top, width) if top else []
    scans: list[dict] = []
    original = ocr.scan.scan_page

    def recording(*args, **kwargs):
        result = original(*args, **kwargs)
        scans.append(dataclasses.asdict(result))
        return result

    ocr.scan.scan_page = recording  # the reader imports it from ocr.scan when it reads
    certificates = bundled_certificates()
    dump = {}
    for path in sorted(p for p in folder.iterdir() if p.suffix != ".profile"):
        profile = load_profile(path.with_suffix(".profile").read_text())
        scans.clear()
        reading = parsers.reader.read_attachment(path.read_bytes(), path.name, profile=profile, certificates=certificates)
        dump[path.name] = {"cli": reading_json(reading), "reading": dataclasses.asdict(reading), "scans": list(scans)}
        print(path.name, len(scans), "page(s) through OCR", file=sys.stderr)
    out.write_text(json.dumps(dump, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")


def compare(a_path: Path, b_path: Path) -> int:
    a, b = (json.loads(p.read_text(encoding="utf-8")) for p in (a_path, b_path))
    found: list[tuple[str, object, object]] = []

    def walk(x, y, path: str) -> None:
        if isinstance(x, dict) and isinstance(y, dict):
            for k in sorted(set(x) | set(y)):
                walk(x.get(k), y.get(k), f"{path}.{k}")
        elif isinstance(x, list) and isinstance(y, list):
            if len(x) != len(y):
                found.append((f"{path}.len", len(x), len(y)))
            for i, (p, q) in enumerate(zip(x, y)):
                walk(p, q, f"{path}[{i}]")
        elif x != y:
            found.append((path, x, y))

    walk(a, b, "")
    for path, x, y in found:
        cell = re.match(r"\.([^.]+\.\w+)\.scans\[(\d+)\]\.grid\.cells\[(\d+)\]", path)
        text = a[cell[1]]["scans"][int(cell[2])]["grid"]["cells"][int(cell[3])]["text"] if cell else ""
        print(path, repr(x), "->", repr(y), text)
    print(f"{len(found)} difference(s)")
    return 1 if found else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("write").add_argument("folder", type=Path)
    r = sub.add_parser("read")
    r.add_argument("folder", type=Path)
    r.add_argument("out", type=Path)
    r.add_argument("--pinned", action="store_true", help="the reader reads every name cell (no race)")
    c = sub.add_parser("compare")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    args = parser.parse_args(argv)
    if args.command == "write":
        write(args.folder)
    elif args.command == "read":
        read(args.folder, args.out, args.pinned)
    else:
        return compare(args.a, args.b)
    return 0


if __name__ == "__main__":
    sys.exit(main())
