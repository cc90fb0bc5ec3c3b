"""Measure the OCR layer alone: ``python -m bench.ocr_bench [--per-category N]``.

Renders both forms (``testkit.ocr_samples``, a view of ``testkit.forms``) in every
degradation, runs ``ocr.scan_page`` and, on the same images, naive full-page Tesseract
(``chi_sim --psm 6``). Prints per category: field accuracy (certificate, level, each
number: exact text), silent errors (a wrong field reported as confident), seconds per
page, peak memory.

A field counts as *confident* by the rule ``parsers.forms`` applies to OCR cells: a number
when both engines read the same digits with confidence ≥ 0.8, a text cell when the engines
agreed or its confidence is ≥ 0.8. (The forms layer adds the catalogue match and the
total-against-sum check on top, which this OCR-only bench leaves out.) ``--corpus
generate`` scores levels and numbers on the image categories of ``testkit.forms.samples`` instead.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
import unicodedata

import pytesseract

from testkit.ocr_samples import CATEGORIES, make_sample, scan
from ocr.engines import default_engines
from ocr.model import Cell, PageScan
from ocr.scan import scan_page
from parsers.columns import ANY_FORM

VERBOSE = False
NUMBER_CONFIDENT = 0.8
TEXT_CONFIDENT = 0.8


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the Tesseract runs)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace(" ", "")


def confident(cell: Cell, numeric: bool) -> bool:
    """The rule ``parsers.forms`` applies to OCR cells (numbers need both engines)."""
    if numeric:
        return cell.agreed is True and cell.confidence >= NUMBER_CONFIDENT
    return cell.agreed is True or cell.confidence >= TEXT_CONFIDENT


def score_scan(scan_: PageScan, truth: dict) -> tuple[int, int, int, int]:
    """(fields, correct, silent errors, unsure fields) for one page."""
    header = truth["header"]
    rows = truth["rows"]
    fields = correct = silent = unsure = 0
    grid = scan_.grid
    numeric_cols = [i for i, h in enumerate(header) if "人数" in h]
    if grid is None:
        n = len(rows) * (len(header) - 1)
        return n, 0, 0, n
    for r, row in enumerate(rows, start=1):
        for col in range(1, len(header)):
            fields += 1
            cell = grid.cell(r, col)
            numeric = col in numeric_cols
            if cell is None:
                unsure += 1
                continue
            ok = norm(cell.text) == norm(row[col])
            sure = confident(cell, numeric)
            if VERBOSE and (not ok or not sure):
                print(f"    row {r} col {col}: read {cell.text!r} want {row[col]!r} conf {cell.confidence} agreed {cell.agreed} alt {cell.alternatives}")
            correct += ok
            silent += (not ok) and sure
            unsure += not sure
    if truth.get("total") is not None:
        fields += 1
        cell = grid.cell(len(rows) + truth.get("blank_rows", 0) + 1, len(header) - 1)
        if cell is None:
            unsure += 1
        else:
            ok = norm(cell.text) == str(truth["total"])
            sure = confident(cell, True)
            correct += ok
            silent += (not ok) and sure
            unsure += not sure
    return fields, correct, silent, unsure


def score_naive(text: str, truth: dict) -> tuple[int, int]:
    """Generous to the naive reader: a field counts if it appears on the best-matching output line."""
    lines = [norm(ln) for ln in text.splitlines() if ln.strip()]
    fields = correct = 0
    for row in truth["rows"]:
        wanted = [norm(v) for v in row[1:]]
        best = max(lines, key=lambda ln: sum(w in ln for w in wanted), default="")
        fields += len(wanted)
        correct += sum(w in best for w in wanted)
    return fields, correct


def score_generated(scan_: PageScan, truth: dict) -> tuple[int, int, int, int]:
    """Score against a ``testkit.forms.samples`` page truth: levels and numbers (names are the
    forms layer's business: the truth holds canonical names, the page a written variant)."""
    grid = scan_.grid
    lines = truth["lines"]
    keys = ["count"] if truth["kind"] == "summary" else ["approved", "requested"]
    fields = correct = silent = unsure = 0
    expected: list[tuple[int, int, str, bool]] = []  # row, col, text, numeric
    for line in lines:
        expected.append((line["row"], 2, line["level"], False))
        expected += [(line["row"], 3 + k, str(line[key]), True) for k, key in enumerate(keys)]
    if truth.get("total") is not None and grid is not None:
        expected.append((grid.n_rows - 1, grid.n_cols - 1, str(truth["total"]), True))
    for row, col, text, numeric in expected:
        fields += 1
        cell = grid.cell(row, col) if grid is not None else None
        if cell is None:
            unsure += 1
            continue
        ok = norm(cell.text) == text
        sure = confident(cell, numeric)
        if VERBOSE and (not ok or not sure):
            print(f"    row {row} col {col}: read {cell.text!r} want {text!r} conf {cell.confidence} agreed {cell.agreed} alt {cell.alternatives}")
        correct += ok
        silent += (not ok) and sure
        unsure += not sure
    return fields, correct, silent, unsure


def run_generated(engines, categories: list[str], per_category: int) -> None:
    """The forms engineer's corpus (``testkit.forms.samples``), image categories, OCR layer only."""
    from PIL import Image, ImageOps
    import io

    from testkit.forms import samples as generate

    print(f"{'category':<18} {'pages':>5} {'fields':>6} {'acc %':>7} {'silent':>6} {'unsure':>6} {'s/page med':>10} {'cpu s med':>9}")
    for cat in categories:
        fields = correct = silent = unsure = 0
        times, cpus = [], []
        for seed in range(per_category):
            sample = generate.make_sample(cat, seed)
            if sample.filename.endswith(".pdf"):
                continue
            image = ImageOps.exif_transpose(Image.open(io.BytesIO(sample.data)))
            t0, c0 = time.perf_counter(), cpu_seconds()
            result = scan_page(image, columns=ANY_FORM, engines=engines)
            times.append(time.perf_counter() - t0)
            cpus.append(cpu_seconds() - c0)
            if VERBOSE:
                print(f"  {sample.name}: grid {result.grid and (result.grid.n_rows, result.grid.n_cols)} notes {result.notes}")
            f, c, s, u = score_generated(result, sample.truth["pages"][0])
            fields, correct, silent, unsure = fields + f, correct + c, silent + s, unsure + u
        if times:
            print(
                f"{cat:<18} {len(times):>5} {fields:>6} {100 * correct / max(1, fields):>7.2f} {silent:>6} {unsure:>6}"
                f" {statistics.median(times):>10.2f} {statistics.median(cpus):>9.2f}",
                flush=True,
            )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-category", type=int, default=3)
    ap.add_argument("--category", action="append", help="only these categories")
    ap.add_argument("--no-naive", action="store_true", help="skip the naive Tesseract comparison")
    ap.add_argument("--corpus", choices=["samples", "generate"], default="samples",
                    help="samples: testkit.ocr_samples (default); generate: testkit.forms.samples image categories")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every wrong or unsure field")
    args = ap.parse_args(argv)
    global VERBOSE
    VERBOSE = args.verbose
    engines = default_engines()
    print(f"engines: {', '.join(e.name for e in engines)}")
    if args.corpus == "generate":
        from testkit.forms import samples as generate

        cats = args.category or [c for c in generate.CATEGORIES if c not in ("text_pdf", "scan_pdf_page2")]
        run_generated(engines, cats, args.per_category)
        return
    cats = args.category or list(CATEGORIES)
    header = (
        f"{'category':<10} {'pages':>5} {'fields':>6} {'acc %':>7} {'silent':>6} {'unsure':>6}"
        f" {'s/page med':>10} {'s/page max':>10} {'cpu s med':>9}"
    )
    if not args.no_naive:
        header += f" {'naive acc %':>11} {'naive s med':>11}"
    print(header)
    totals = [0, 0, 0, 0]
    all_times: list[float] = []
    all_cpus: list[float] = []
    for cat in cats:
        fields = correct = silent = unsure = 0
        times, naive_times, cpus = [], [], []
        naive_f = naive_c = 0
        for i in range(args.per_category):
            seed = 1000 * (list(CATEGORIES).index(cat) + 1) + i
            kind = "summary" if i % 2 == 0 else "increase"
            sample = make_sample(seed, kind)
            image = scan(sample, CATEGORIES[cat], seed)
            truth = sample.truth
            t0, c0 = time.perf_counter(), cpu_seconds()
            result = scan_page(image, columns=ANY_FORM, engines=engines)
            times.append(time.perf_counter() - t0)
            cpus.append(cpu_seconds() - c0)
            f, c, s, u = score_scan(result, truth)
            fields, correct, silent, unsure = fields + f, correct + c, silent + s, unsure + u
            if not args.no_naive:
                t0 = time.perf_counter()
                text = pytesseract.image_to_string(image, lang="chi_sim", config="--psm 6", timeout=120)
                naive_times.append(time.perf_counter() - t0)
                nf, nc = score_naive(text, truth)
                naive_f, naive_c = naive_f + nf, naive_c + nc
        totals = [totals[0] + fields, totals[1] + correct, totals[2] + silent, totals[3] + unsure]
        all_times += times
        all_cpus += cpus
        line = (
            f"{cat:<10} {args.per_category:>5} {fields:>6} {100 * correct / max(1, fields):>7.2f} {silent:>6} {unsure:>6}"
            f" {statistics.median(times):>10.2f} {max(times):>10.2f} {statistics.median(cpus):>9.2f}"
        )
        if not args.no_naive:
            line += f" {100 * naive_c / max(1, naive_f):>11.2f} {statistics.median(naive_times):>11.2f}"
        print(line, flush=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{'all':<10} {len(all_times):>5} {totals[0]:>6} {100 * totals[1] / max(1, totals[0]):>7.2f} {totals[2]:>6} {totals[3]:>6}"
        f" {statistics.median(all_times):>10.2f} {max(all_times):>10.2f} {statistics.median(all_cpus):>9.2f}"
    )
    print(f"peak RSS of this process: {peak_mb:.0f} MB; load average at end: {open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
    main()
