"""``make bench``: the reader against ground truth, per category, printed.

For each category of ``testkit.forms.samples`` it renders samples, reads them with
``parsers.reader.read_attachment`` and prints: field accuracy (exact certificate,
level, each number, unit, total, stamp), silent errors (a wrong field reported as
confident — the number that must be zero), pages per second, median seconds per
form page, peak memory. Each category runs in its own process so its peak RSS is
its own. The same page images are also read by naive full-page Tesseract
(``--psm 6``) for comparison.

    python -m bench.run [--per-category N] [--category C ...] [--no-baseline] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

from testkit.forms.samples import CATEGORIES, make_sample

LEVELS = ("初级", "中级", "高级")


# ---------------------------------------------------------------- scoring


@dataclass
class Score:
    fields: int = 0
    correct: int = 0
    silent: int = 0  # wrong but reported confident
    flagged: int = 0  # reported not confident (goes to review)
    kind_errors: int = 0
    pages: int = 0  # form pages in the truth
    exact_pages: int = 0
    seconds: list[float] = field(default_factory=list)  # per form page
    rows: list[int] = field(default_factory=list)  # table rows of the sample's form, beside ``seconds``
    errors: list[str] = field(default_factory=list)  # examples of silent errors
    wrong: dict = field(default_factory=dict)  # field kind -> wrong count

    def add(self, ok: bool, confident: bool, what: str, kind: str = "row") -> None:
        self.fields += 1
        self.correct += ok
        self.flagged += not confident
        if not ok:
            self.wrong[kind] = self.wrong.get(kind, 0) + 1
        if not ok and confident:
            self.silent += 1
            if len(self.errors) < 8:
                self.errors.append(what)


def score_page(score: Score, truth: dict, page, name: str) -> bool:
    """Compare one truth page with its reading; True when every field is right."""
    if page is None or page.kind != truth["kind"] or page.form is None:
        score.kind_errors += 1
        n = 3 + len(truth["lines"]) * (4 if truth["kind"] == "increase" else 3)
        score.fields += n  # nothing read: every field wrong, none confident
        score.flagged += n
        return False
    form = page.form
    before = score.correct, score.fields
    score.add(form.unit == truth["unit"], form.unit_confident, f"{name} unit {form.unit!r}≠{truth['unit']!r}", "unit")
    score.add(form.stamp == truth["stamp"], form.stamp_confident, f"{name} stamp {form.stamp}≠{truth['stamp']}", "stamp")
    if truth["kind"] == "summary":
        score.add(form.total == truth["total"], form.total_confident, f"{name} total {form.total}≠{truth['total']}", "total")
    else:
        score.fields += 1  # keep the field count comparable: the increase form has no total
        score.correct += 1
    by_row = {}
    for line in form.lines:
        by_row.setdefault(line.row, line)
    numbers = ("count",) if truth["kind"] == "summary" else ("approved", "requested")
    for t in truth["lines"]:
        line = by_row.get(t["row"])
        if line is None:
            for _ in range(2 + len(numbers)):
                score.add(False, False, "", "missing row")
            continue
        conf = line.confident
        score.add(line.certificate == t["certificate"], conf, f"{name} r{t['row']} cert {line.certificate!r}≠{t['certificate']!r}", "certificate")
        score.add(line.level == t["level"], conf, f"{name} r{t['row']} level {line.level!r}≠{t['level']!r}", "level")
        for n in numbers:
            got = getattr(line, n)
            score.add(got == t[n], conf, f"{name} r{t['row']} {n} {got}≠{t[n]}", "number")
    truth_rows = {t["row"] for t in truth["lines"]}
    for line in form.lines:  # rows read that are not there
        if line.row not in truth_rows:
            score.add(False, line.confident, f"{name} phantom row {line.row}", "phantom row")
    return score.correct - before[0] == score.fields - before[1]


# ---------------------------------------------------------------- naive baseline


def naive_page(image, catalogue, kind: str) -> tuple[list[dict], float]:
    """Full-page Tesseract ``--psm 6`` and a forgiving line parse: the approach we compare against.

    Each OCR line whose letters match a catalogue name becomes a row (no 序号 needed);
    its level is any 初级/中级/高级 on the line, its numbers the last digit groups.
    """
    import pytesseract

    started = time.monotonic()
    text = pytesseract.image_to_string(image, lang="chi_sim", config="--psm 6", timeout=120)
    elapsed = time.monotonic() - started
    rows = []
    for raw in text.splitlines():
        line = re.sub(r"[^0-9A-Za-z\u4e00-\u9fff（）()]+", " ", raw)
        level = next((lv for lv in LEVELS if lv in line), "")
        runs = re.findall(r"[\u4e00-\u9fffA-Za-z（）()]{4,}", line.replace(level, " ") if level else line)
        match = next((m for m in map(catalogue.match, runs) if m.name is not None), None)
        if match is None:
            continue
        digits = [int(d) for d in re.findall(r"\d+", line)]
        row = {"certificate": match.name, "level": level}
        if kind == "summary":
            row["count"] = digits[-1] if digits else None
        else:
            row["approved"], row["requested"] = (digits[-2], digits[-1]) if len(digits) >= 2 else (None, None)
        rows.append(row)
    return rows, elapsed


def naive_score(truth: dict, rows: list[dict]) -> tuple[int, int]:
    """Generous: each truth line is compared with the naive row of the same certificate (and level)."""
    correct = fields = 0
    numbers = ("count",) if truth["kind"] == "summary" else ("approved", "requested")
    for t in truth["lines"]:
        same = [r for r in rows if r["certificate"] == t["certificate"]]
        got = next((r for r in same if r["level"] == t["level"]), same[0] if same else {})
        for f in ("certificate", "level", *numbers):
            fields += 1
            correct += got.get(f) == t[f]
    return correct, fields


# ---------------------------------------------------------------- one category (child process)


def run_category(category: str, per_category: int, baseline: bool, seed: int) -> dict:
    from config.profile import load_profile
    from parsers.catalog import Catalogue, bundled_certificates
    from parsers.documents import iter_pages
    from parsers.errors import ReaderError
    from parsers.reader import read_attachment

    certificates = bundled_certificates()
    catalogue = Catalogue(certificates)
    score = Score()
    page_count = 0
    total_seconds = 0.0
    naive = {"correct": 0, "fields": 0, "seconds": []}
    for k in range(per_category):
        sample = make_sample(category, seed + k)
        profile = load_profile(sample.truth["profile"])
        started = time.monotonic()
        try:
            reading = read_attachment(sample.data, sample.filename, profile=profile, certificates=certificates)
            pages = list(reading.pages)
        except ReaderError as exc:
            pages = []
            score.errors.append(f"{sample.name}: unreadable: {exc}")
        elapsed = time.monotonic() - started
        total_seconds += elapsed
        page_count += max(1, len(sample.truth["pages"]))
        form_pages = [i for i, p in enumerate(sample.truth["pages"]) if p["kind"] in ("summary", "increase")]
        for i, truth in enumerate(sample.truth["pages"]):
            page = pages[i] if i < len(pages) else None
            if truth["kind"] == "application":
                if page is None or page.kind != "application":
                    score.kind_errors += 1
                continue
            score.pages += 1
            score.exact_pages += score_page(score, truth, page, sample.name)
        score.seconds.append(elapsed / max(1, len(form_pages)))
        score.rows.append(max((len(sample.truth["pages"][i]["lines"]) for i in form_pages), default=0))
        if sys.stderr.isatty():
            print(f"\r  {category}: {k + 1}/{per_category} samples", end="", file=sys.stderr, flush=True)
        if baseline and category != "text_pdf":
            images = [p.render() for p in iter_pages(sample.data, sample.filename)]
            for i in form_pages:
                rows, secs = naive_page(images[i], catalogue, sample.truth["pages"][i]["kind"])
                c, f = naive_score(sample.truth["pages"][i], rows)
                naive["correct"] += c
                naive["fields"] += f
                naive["seconds"].append(secs)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "category": category,
        "samples": per_category,
        "pages": score.pages,
        "fields": score.fields,
        "correct": score.correct,
        "silent": score.silent,
        "flagged": score.flagged,
        "kind_errors": score.kind_errors,
        "exact_pages": score.exact_pages,
        "median_s": statistics.median(score.seconds) if score.seconds else None,
        "pages_per_s": page_count / total_seconds if total_seconds else None,
        "peak_mb": peak_mb,
        "silent_examples": score.errors,
        "wrong_by_field": score.wrong,
        "naive": naive,
        "timed": list(zip(score.rows, score.seconds)),
    }


# ---------------------------------------------------------------- report


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.2f}%" if b else "-"


def table(results: list[dict]) -> str:
    head = (
        "| category | form pages | fields | field accuracy | silent errors | flagged for review | pages exact "
        "| median s/page | pages/s | peak MB | naive psm6 accuracy | naive median s/page |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for r in results:
        nv = r["naive"]
        naive = (
            f"{_pct(nv['correct'], nv['fields'])} | {statistics.median(nv['seconds']):.2f}" if nv["seconds"] else "- | -"
        )
        rows.append(
            f"| {r['category']} | {r['pages']} | {r['fields']} | {_pct(r['correct'], r['fields'])} | {r['silent']} "
            f"| {_pct(r['flagged'], r['fields'])} | {r['exact_pages']}/{r['pages']} "
            f"| {r['median_s']:.2f} | {r['pages_per_s']:.2f} | {r['peak_mb']:.0f} | {naive} |"
        )
    return head + "\n".join(rows) + "\n"


SIZES = ((3, 10), (11, 20), (21, 30))


def by_size(results: list[dict]) -> str:
    """Median seconds per scanned form page by the size of its table (time grows with the rows)."""
    timed = [(rows, s) for r in results if r["category"] != "text_pdf" for rows, s in r["timed"]]
    if not timed:
        return ""
    head = "| table rows | scanned form pages | median s/page |\n|---|---|---|\n"
    lines = []
    for low, high in SIZES:
        secs = [s for rows, s in timed if low <= rows <= high]
        if secs:
            lines.append(f"| {low}–{high} | {len(secs)} | {statistics.median(secs):.2f} |")
    lines.append(f"| all | {len(timed)} | {statistics.median(s for _, s in timed):.2f} |")
    return head + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-category", type=int, default=4)
    parser.add_argument("--text-samples", type=int, default=20, help="samples of text_pdf (cheap)")
    parser.add_argument("--category", action="append", choices=CATEGORIES)
    parser.add_argument("--seed", type=int, default=1000, help="first sample seed (tests use small seeds)")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--markdown", help="also write the table to this file")
    parser.add_argument("--worker", choices=CATEGORIES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        n = args.text_samples if args.worker == "text_pdf" else args.per_category
        print(json.dumps(run_category(args.worker, n, not args.no_baseline, args.seed), ensure_ascii=False))
        return

    results = []
    for category in args.category or CATEGORIES:
        cmd = [sys.executable, "-m", "bench.run", "--worker", category, "--per-category", str(args.per_category),
               "--text-samples", str(args.text_samples), "--seed", str(args.seed)]
        if args.no_baseline:
            cmd.append("--no-baseline")
        # The worker's stderr (its progress, or why it failed) goes straight to the terminal.
        done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, timeout=3600, check=False)
        if sys.stderr.isatty():
            print("\r\033[K", end="", file=sys.stderr)
        if done.returncode != 0:
            print(f"{category}: failed (exit code {done.returncode}, its error is above)", file=sys.stderr)
            continue
        result = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(result)
        print(f"{category}: {_pct(result['correct'], result['fields'])} correct, {result['silent']} silent, "
              f"median {result['median_s']:.2f} s/page, wrong fields by kind {result['wrong_by_field']}", flush=True)
        for example in result["silent_examples"]:
            print(f"    silent: {example}")
    text = table(results) + "\n" + by_size(results)
    print()
    print(text)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
