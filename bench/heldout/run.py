"""Measure the reader on the second test set, both halves side by side.

    python -m bench.heldout --per-category 6            # 8 categories × 6 per half = 96 files
    python -m bench.heldout --halves tuning             # the tuning half alone (for tuning)

1. Render (cached under ``--out``, keyed on ``samples.RENDERER_VERSION``) in
   ``--render-workers`` processes.
2. Read each file through the reader's public surface — ``parsers.reader.read_attachment``
   turned into ``intake read --json``'s shape (``cli.read.reading_json``) — in ``--workers``
   processes that load the OCR models once (a warm-up page before the clock starts);
   ``--via cli`` runs the console script ``intake read FILE --json`` per file instead (cold).
3. Score against the truth beside each file and print, per half and per category: cells
   right, forms fully right, silent errors, fields flagged for review, forms decided without
   a person, unit right, stamp right, forms not found, median seconds per page; and per half
   the median seconds per scanned page by table size.

Scoring. Fields: kind, unit, stamp, total (summary), and per line certificate, level and
each number. Read lines are aligned to the form's lines in order (dynamic programming on
matching fields); a line not read counts all its fields wrong, a line read that is not on
the form one wrong field. A field's *confidence* is its own flag (``unit_confident``,
``stamp_confident``, ``total_confident``, the line's ``confident``) and, for lines and kind,
``table_confident``; a line not read is "confident" when the table claimed to be complete.
**Silent error** = a wrong field reported as confident. **Flagged** = fields reported not
confident. A page no form was found on is counted apart ("not found": at the mailbox that is
``form.unrecognized``, a rejection), its fields wrong and neither silent nor flagged.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import unicodedata
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.heldout.samples import CATEGORIES, HALVES, RENDERER_VERSION, plan, render_sample
from bench.heldout.truth import Truth

ROOT = Path(__file__).resolve().parents[2]
SIZE_BUCKETS = ((3, 10), (11, 20), (21, 30))


# --- rendering (worker processes) -------------------------------------------------------

def render_to(sample_id: str, out_dir: str) -> tuple[str, float]:
    """Render one sample into ``out_dir`` unless it is there already; returns (id, seconds)."""
    out = Path(out_dir)
    truth_path = out / f"{sample_id}.json"
    if truth_path.exists():
        return sample_id, 0.0
    t0 = time.perf_counter()
    data, ext, truth = render_sample(sample_id)
    (out / f"{sample_id}{ext}").write_bytes(data)
    tmp = truth_path.with_suffix(".tmp")
    tmp.write_text(truth.to_json(), encoding="utf-8")
    tmp.replace(truth_path)  # the truth last: its presence means the sample is complete
    return sample_id, time.perf_counter() - t0


# --- reading (worker processes, models loaded once) -------------------------------------

_READER: dict = {}


def _page_json_fallback(reading) -> dict:
    """``intake read --json``'s shape, built by hand when ``cli.read`` cannot be imported."""
    pages = []
    for p in reading.pages:
        out = {"page": p.index + 1, "kind": p.kind, "source": p.source}
        f = p.form
        if f is not None:
            out.update(unit=f.unit, unit_confident=f.unit_confident, stamp=f.stamp, stamp_confident=f.stamp_confident,
                       total=getattr(f, "total", None), total_confident=getattr(f, "total_confident", True),
                       table_confident=f.table_confident, lines=[])
            for l in f.lines:
                line = {"certificate": l.certificate, "level": l.level, "confident": l.confident}
                if hasattr(l, "count"):
                    line["count"] = l.count
                else:
                    line.update(approved=l.approved, requested=l.requested)
                out["lines"].append(line)
        out["notes"] = list(p.notes)
        pages.append(out)
    return {"file": reading.filename, "pages": pages}


def _init_reader(warmup: str | None) -> None:
    from config.profile import load_profile
    from parsers.catalog import bundled_certificates
    from parsers.reader import read_attachment

    try:
        from cli.read import reading_json
    except ImportError:  # the command line is being moved: same shape, built here
        reading_json = _page_json_fallback
    _READER.update(read=read_attachment, profile=load_profile(os.environ.get("INTAKE_PROFILE", "anhui-2025")),
                   certificates=bundled_certificates(), to_json=reading_json)
    if warmup:  # load the OCR models before any page is timed
        _read_inproc(warmup)


def _read_inproc(path: str) -> tuple[dict, float, object]:
    """The reading as ``intake read --json`` prints it, the seconds, and the reading itself
    (or the exception the reader raised) for the mailbox-level decision."""
    data = Path(path).read_bytes()
    t0 = time.perf_counter()
    try:
        reading = _READER["read"](data, Path(path).name, profile=_READER["profile"], certificates=_READER["certificates"])
        out = _READER["to_json"](reading)
    except Exception as exc:  # noqa: BLE001 - an unreadable attachment (or a crash) is a result, not the bench's end
        out = {"file": Path(path).name, "error": type(exc).__name__, "message": str(exc)}
        reading = exc
    return out, time.perf_counter() - t0, reading


def read_one(path: str, via: str) -> tuple[str, dict, float, object]:
    if via == "cli":
        exe = ROOT / ".venv" / "bin" / "intake"
        cmd = [str(exe) if exe.exists() else "intake", "read", path, "--json"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        seconds = time.perf_counter() - t0
        try:
            out = json.loads(proc.stdout)
        except json.JSONDecodeError:
            out = {"file": Path(path).name, "error": f"exit {proc.returncode}", "message": proc.stderr[-500:]}
        return path, out, seconds, None
    return path, *_read_inproc(path)


# --- scoring ----------------------------------------------------------------------------

def _norm(text) -> str:
    if text is None:
        return ""
    return "".join(unicodedata.normalize("NFKC", str(text)).split())


NUMBER_FIELDS = {"summary": ("count",), "increase": ("approved", "requested")}


@dataclass
class Score:
    id: str
    category: str
    half: str
    rows: int
    seconds_per_page: float
    found: bool = True
    fields: int = 0
    right: int = 0
    silent: int = 0
    flagged: int = 0
    unit_right: bool = False
    stamp_right: bool = False
    wrong: list[str] = field(default_factory=list)
    rejected_for: list[str] = field(default_factory=list)  # what the rules would wrongly reject on
    flagged_for: set[str] = field(default_factory=set)  # REVIEW_GROUPS of the flagged fields
    decided: str = ""  # the worker's decision on the sample's mail (bench.heldout.mailbox), "" when not run

    def add(self, name: str, ok: bool, confident: bool, *, found: bool = True) -> None:
        self.fields += 1
        self.right += ok
        if not ok:
            self.wrong.append(name + ("" if not found else (" (confident)" if confident else " (flagged)")))
            if found and confident:
                self.silent += 1
        if found and not confident:
            self.flagged += 1
            self.flagged_for.add(review_group(name))

    @property
    def fully_right(self) -> bool:
        return self.found and self.right == self.fields

    @property
    def auto(self) -> bool:
        """Decided without a person: the worker's decision is no review (without the mailbox
        line: a form found and no field flagged)."""
        if self.decided:
            return self.decided != "review"
        return self.found and self.flagged == 0


REVIEW_GROUPS = ("stamp", "unit", "total", "numbers", "certificate", "level", "table")


def review_group(name: str) -> str:
    """What a flagged field asks staff to look at: stamp, unit, total, a line's numbers,
    certificate or level, or the table itself (its kind, lines missing or extra)."""
    if name in ("stamp", "unit", "total"):
        return name
    last = name.split()[-1]
    if name.startswith("line ") and last in ("certificate", "level"):
        return last
    if name.startswith("line ") and last in ("count", "approved", "requested"):
        return "numbers"
    return "table"


def _line_fields(kind: str) -> tuple[str, ...]:
    return ("certificate", "level") + NUMBER_FIELDS[kind]


def _same(kind: str, name: str, a: dict, b: dict) -> bool:
    if name in ("certificate", "level"):
        return _norm(a.get(name)) == _norm(b.get(name))
    return a.get(name) is not None and a.get(name) == b.get(name)


def _align(kind: str, truth: list[dict], read: list[dict]) -> list[tuple[int | None, int | None]]:
    """Pairs (truth index, read index) in order, maximising matching fields (a gap costs nothing,
    a pair is worth its matching fields plus one half, so a misread row still pairs with its place)."""
    names = _line_fields(kind)
    n, m = len(truth), len(read)
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            pair = sum(_same(kind, f, truth[i], read[j]) for f in names) + 0.5
            best[i][j] = max(best[i + 1][j], best[i][j + 1], pair + best[i + 1][j + 1])
    out, i, j = [], 0, 0
    while i < n and j < m:
        pair = sum(_same(kind, f, truth[i], read[j]) for f in names) + 0.5
        if best[i][j] == pair + best[i + 1][j + 1]:
            out.append((i, j))
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            out.append((i, None))
            i += 1
        else:
            out.append((None, j))
            j += 1
    out += [(k, None) for k in range(i, n)] + [(None, k) for k in range(j, m)]
    return out


def wrongful_rejections(truth: Truth, page: dict | None, units: tuple) -> list[str]:
    """Reason codes the office's rules would reject this correctly made form with, because of
    what the reader believed: a unit read far from (or as another than) the subject's, a seal
    the truth has judged absent with confidence, no form found. The mailbox-level cost."""
    from domain.names import UnitMatch, match_unit

    if page is None:
        return ["form.unrecognized"]
    out = []
    if page.get("unit_confident") and match_unit(page.get("unit") or "", truth.unit, units)[0] in (
            UnitMatch.OTHER_UNIT, UnitMatch.FAR):
        out.append("form.unit_mismatch")
    if truth.stamp and not page.get("stamp") and page.get("stamp_confident"):
        out.append("form.stamp_missing")
    return out


def score(truth: Truth, reading: dict, seconds: float, units: tuple = ()) -> Score:
    s = Score(truth.id, truth.category, truth.half, truth.rows, seconds / max(1, truth.pages))
    kind = truth.kind
    pages = reading.get("pages") or []
    forms = [p for p in pages if p.get("kind") in ("summary", "increase") and "lines" in p]
    # the page the form is on; else the first page read as this kind, else as any form
    page = next((p for p in forms if p.get("page") == truth.form_page), None)
    page = page or next((p for p in forms if p["kind"] == kind), forms[0] if forms else None)
    line_names = _line_fields(kind)
    s.rejected_for = wrongful_rejections(truth, page, units)
    if page is None:
        s.found = False
        for name in ("kind", "unit", "stamp") + (("total",) if kind == "summary" else ()):
            s.add(name, False, False, found=False)
        for k in range(len(truth.lines)):
            for name in line_names:
                s.add(f"line {k + 1} {name}", False, False, found=False)
        return s
    table_ok = bool(page.get("table_confident", True))
    s.add("kind", page["kind"] == kind, table_ok)
    s.unit_right = _norm(page.get("unit")) == _norm(truth.unit)
    s.add("unit", s.unit_right, bool(page.get("unit_confident")))
    s.stamp_right = bool(page.get("stamp")) == truth.stamp
    s.add("stamp", s.stamp_right, bool(page.get("stamp_confident")))
    if kind == "summary":
        s.add("total", page.get("total") == truth.total and truth.total is not None, bool(page.get("total_confident")))
    read_lines = page.get("lines") or []
    for ti, ri in _align(kind, truth.lines, read_lines):
        if ti is not None and ri is not None:
            conf = bool(read_lines[ri].get("confident")) and table_ok
            for name in line_names:
                s.add(f"line {ti + 1} {name}", _same(kind, name, truth.lines[ti], read_lines[ri]), conf)
        elif ti is not None:  # a line on the form the reader did not report
            for name in line_names:
                s.add(f"line {ti + 1} {name} missing", False, table_ok)
        else:  # a line reported that is not on the form
            conf = bool(read_lines[ri].get("confident")) and table_ok
            s.add(f"extra line {read_lines[ri].get('certificate')!r}", False, conf)
    return s


# --- report -----------------------------------------------------------------------------

def _pct(a: int, b: int) -> str:
    return f"{100.0 * a / b:.2f}" if b else "-"


def _median(xs: list[float]) -> str:
    return f"{statistics.median(xs):.2f}" if xs else "-"


def summarise(scores: list[Score], halves) -> dict:
    out: dict = {}
    cats = [c for c in CATEGORIES if any(s.category == c for s in scores)]
    for half in halves:
        rows = {}
        for cat in cats + ["all"]:
            g = [s for s in scores if s.half == half and (cat == "all" or s.category == cat)]
            if not g:
                continue
            fields = sum(s.fields for s in g)
            rows[cat] = {
                "forms": len(g),
                "fields": fields,
                "cells_right": _pct(sum(s.right for s in g), fields),
                "forms_right": f"{sum(s.fully_right for s in g)}/{len(g)}",
                "silent": sum(s.silent for s in g),
                "silent_forms": sum(s.silent > 0 for s in g),
                "flagged": _pct(sum(s.flagged for s in g), fields),
                "auto": f"{sum(s.auto for s in g)}/{len(g)}",
                "unit_right": f"{sum(s.unit_right for s in g)}/{len(g)}",
                "stamp_right": f"{sum(s.stamp_right for s in g)}/{len(g)}",
                "not_found": sum(not s.found for s in g),
                "wrongly_rejected": sum(bool(s.rejected_for) for s in g),
                "median_s": _median([s.seconds_per_page for s in g]),
            }
        sizes = {}
        for lo, hi in SIZE_BUCKETS:
            g = [s.seconds_per_page for s in scores if s.half == half and s.category != "text_pdf" and lo <= s.rows <= hi]
            sizes[f"{lo}–{hi}"] = (len(g), _median(g))
        g = [s.seconds_per_page for s in scores if s.half == half and s.category != "text_pdf"]
        sizes["all"] = (len(g), _median(g))
        mine = [s for s in scores if s.half == half and s.found]
        why = {group: sum(group in s.flagged_for for s in mine) for group in REVIEW_GROUPS}
        only = {group: sum(s.flagged_for == {group} for s in mine) for group in REVIEW_GROUPS}
        out[half] = {"categories": rows, "by_size": sizes, "review": {"forms": len(mine), "why": why, "only": only}}
    return out


COLUMNS = (("cells_right", "cells right %"), ("forms_right", "forms fully right"), ("silent", "silent errors"),
           ("flagged", "fields flagged %"), ("auto", "decided without staff"), ("unit_right", "unit right"),
           ("stamp_right", "stamp right"), ("not_found", "form not found"),
           ("wrongly_rejected", "rejected for a misread"), ("median_s", "median s/page"))


def print_report(summary: dict, halves, console) -> None:
    from rich.table import Table

    names = {"tuning": "tuning", "heldout": "held-out"}
    table = Table(title="Second test set: each cell is  tuning │ held-out", show_lines=False)
    table.add_column("category", no_wrap=True)
    table.add_column("forms", justify="right", no_wrap=True)
    for _, label in COLUMNS:
        table.add_column(label, justify="right", no_wrap=True)
    cats = list(dict.fromkeys(c for h in halves for c in summary[h]["categories"]))
    for cat in cats:
        cells = [cat]
        per = [summary[h]["categories"].get(cat) for h in halves]
        cells.append(" │ ".join(str(p["forms"]) if p else "-" for p in per))
        for key, _ in COLUMNS:
            cells.append(" │ ".join(str(p[key]) if p else "-" for p in per))
        table.add_row(*cells, end_section=cat == cats[-2] if len(cats) > 1 else False)
    console.print(table)
    size = Table(title="Median seconds per scanned page by table size (warm models)")
    size.add_column("table rows")
    for h in halves:
        size.add_column(f"{names[h]} pages", justify="right")
        size.add_column(f"{names[h]} s/page", justify="right")
    for bucket in summary[halves[0]]["by_size"]:
        row = [bucket]
        for h in halves:
            n, med = summary[h]["by_size"][bucket]
            row += [str(n), med]
        size.add_row(*row)
    console.print(size)
    why = Table(title="Why forms need a person: forms with a flagged field of each kind (only that kind)")
    why.add_column("flagged")
    for h in halves:
        why.add_column(f"{names[h]} forms", justify="right")
    for group in REVIEW_GROUPS:
        why.add_row(group, *(f"{summary[h]['review']['why'][group]} ({summary[h]['review']['only'][group]})"
                             for h in halves))
    console.print(why)
    if "mailbox" in summary:
        print_mailbox(summary["mailbox"], halves, console)


def markdown(summary: dict, halves) -> str:
    names = {"tuning": "tuning", "heldout": "held-out"}
    lines = []
    head = ["category", "forms"] + [label for _, label in COLUMNS]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    cats = list(dict.fromkeys(c for h in halves for c in summary[h]["categories"]))
    for cat in cats:
        per = [summary[h]["categories"].get(cat) for h in halves]
        row = [f"**{cat}**" if cat == "all" else cat, " · ".join(str(p["forms"]) if p else "-" for p in per)]
        row += [" · ".join(str(p[k]) if p else "-" for p in per) for k, _ in COLUMNS]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines.append("| table rows | " + " | ".join(f"{names[h]}: pages | {names[h]}: median s/page" for h in halves) + " |")
    lines.append("|---|" + "---|---|" * len(halves))
    for bucket in summary[halves[0]]["by_size"]:
        cells = []
        for h in halves:
            n, med = summary[h]["by_size"][bucket]
            cells += [str(n), med]
        lines.append(f"| {bucket} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("| flagged (forms, only this kind) | " + " | ".join(names[h] for h in halves) + " |")
    lines.append("|---|" + "---|" * len(halves))
    for group in REVIEW_GROUPS:
        lines.append(f"| {group} | " + " | ".join(
            f"{summary[h]['review']['why'][group]} ({summary[h]['review']['only'][group]})" for h in halves) + " |")
    if "mailbox" in summary:
        from bench.heldout.mailbox import OUTCOMES

        mailbox = summary["mailbox"]
        lines += ["", "| at the mailbox, per 100 mails | " + " | ".join(
            f"{names[h]} ({mailbox[h]['mails']} mails)" for h in halves) + " |", "|---|" + "---|" * len(halves)]
        for verdict in OUTCOMES:
            lines.append(f"| {verdict} | " + " | ".join(
                f"{mailbox[h]['verdicts'][verdict]} ({mailbox[h]['counts'][verdict]})" for h in halves) + " |")
        for key, label in (("review_reasons", "why review"), ("wrong_rejection_reasons", "wrong rejections for")):
            lines.append(f"| {label} | " + " | ".join(
                ", ".join(f"{code} {n}" for code, n in mailbox[h][key].items()) or "-" for h in halves) + " |")
    return "\n".join(lines) + "\n"


def mailbox_line(scores: list[Score], truths: dict, readings: dict, cache: Path, registry: tuple, halves) -> dict:
    """Per half, per 100 mails: right, wrongly accepted, wrongly rejected, needlessly reviewed
    (``bench.heldout.mailbox``). Each score's ``rejected_for`` becomes what the worker's own
    decision wrongly rejected the mail for (the reader-level guess is only for ``--via cli``)."""
    from bench.heldout.mailbox import decide, per_hundred
    from config.profile import load_profile
    from parsers.catalog import bundled_certificates

    profile = load_profile(os.environ.get("INTAKE_PROFILE", "anhui-2025"))
    certificates = bundled_certificates()
    by_id = {s.id: s for s in scores}
    out = {}
    for half in halves:
        outcomes = []
        for sid, truth in sorted(truths.items()):
            if truth.half != half or sid not in readings:
                continue
            outcome = decide(truth, (cache / truth.file).read_bytes(), readings[sid], profile, registry, certificates)
            by_id[sid].rejected_for = list(outcome.reasons) if outcome.verdict == "wrong rejection" else []
            by_id[sid].decided = outcome.got
            outcomes.append(outcome)
        out[half] = per_hundred(outcomes)
    return out


def print_mailbox(mailbox: dict, halves, console) -> None:
    from rich.table import Table

    from bench.heldout.mailbox import OUTCOMES

    names = {"tuning": "tuning", "heldout": "held-out"}
    table = Table(title="At the mailbox: each sample sent as a school's mail, the worker's decision against "
                        "the decision on the form read right (per 100 mails)")
    table.add_column("")
    for h in halves:
        table.add_column(f"{names[h]} ({mailbox[h]['mails']} mails)", justify="right")
    for verdict in OUTCOMES:
        table.add_row(verdict, *(f"{mailbox[h]['verdicts'][verdict]} ({mailbox[h]['counts'][verdict]})" for h in halves))
    for key, label in (("review_reasons", "why review"), ("wrong_rejection_reasons", "wrong rejections for")):
        table.add_row(label, *(", ".join(f"{code} {n}" for code, n in mailbox[h][key].items()) or "-" for h in halves))
    console.print(table)


# --- main -------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.heldout", description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-category", type=int, default=6, help="samples per category in each half (default 6)")
    ap.add_argument("--categories", default=",".join(CATEGORIES), help="comma-separated subset")
    ap.add_argument("--halves", default=",".join(HALVES), help="tuning, heldout or both (default both)")
    ap.add_argument("--out", default=str(ROOT / "var" / "bench-heldout"), help="sample cache and results")
    ap.add_argument("--workers", type=int, default=1,
                    help="reader processes (default 1: one page already keeps both cores busy)")
    ap.add_argument("--render-workers", type=int, default=2)
    ap.add_argument("--via", choices=("inproc", "cli"), default="inproc",
                    help="inproc: read_attachment in worker processes (models loaded once); cli: `intake read --json` per file")
    ap.add_argument("--markdown", help="also write the tables as Markdown to this file")
    ap.add_argument("--show-wrong", action="store_true", help="list the wrong fields of the TUNING half (never the held-out)")
    args = ap.parse_args(argv)

    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console()
    if not console.is_terminal:  # a log file or a pipe: wide enough for the side-by-side table
        console = Console(width=200)
    cats = [c.strip() for c in args.categories.split(",") if c.strip()]
    halves = [h.strip() for h in args.halves.split(",") if h.strip()]
    bad = [c for c in cats if c not in CATEGORIES] + [h for h in halves if h not in HALVES]
    if bad:
        ap.error(f"unknown: {', '.join(bad)}")
    cache = Path(args.out) / f"v{RENDERER_VERSION}"
    cache.mkdir(parents=True, exist_ok=True)
    todo = plan(args.per_category, cats, halves)
    started = time.perf_counter()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())

    render_seconds = []
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("rendering", total=len(todo))
        with ProcessPoolExecutor(max_workers=max(1, args.render_workers)) as pool:
            futures = [pool.submit(render_to, sid, str(cache)) for sid, _, _ in todo]
            for fut in as_completed(futures):
                _, sec = fut.result()
                if sec:
                    render_seconds.append(sec)
                progress.advance(task)
    rendered_at = time.perf_counter()
    truths = {sid: Truth.load(cache / f"{sid}.json") for sid, _, _ in todo}

    # scanned pages first: long jobs early keep the bar honest
    order = sorted(todo, key=lambda t: (t[1] == "text_pdf", t[0]))
    warm = None
    if args.via == "inproc":
        warm_id = "scan_color-warmup"
        render_to(warm_id, str(cache))
        warm = str(cache / Truth.load(cache / f"{warm_id}.json").file)
    results: dict[str, tuple[dict, float]] = {}
    readings: dict[str, object] = {}  # the reading objects (inproc only), for the mailbox line
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(f"reading ({args.via}, {args.workers} process{'es' if args.workers > 1 else ''})", total=len(order))
        if args.via == "inproc":
            pool = ProcessPoolExecutor(max_workers=max(1, args.workers), initializer=_init_reader, initargs=(warm,))
        else:
            pool = ProcessPoolExecutor(max_workers=max(1, args.workers))
        with pool:
            futures = {pool.submit(read_one, str(cache / truths[sid].file), args.via): sid for sid, _, _ in order}
            for fut in as_completed(futures):
                sid = futures[fut]
                _, out, sec, readings[sid] = fut.result()
                results[sid] = (out, sec)
                progress.advance(task)
    finished = time.perf_counter()

    from domain.state import UnitRef
    from testkit.ledger import anhui_schools

    # The registered units: the province's schools and every unit the samples name.
    registry = tuple(UnitRef(name=n) for n in sorted({t.unit for t in truths.values()}
                                                      | {row["name"] for row in anhui_schools()}))
    scores = [score(truths[sid], *results[sid], units=registry) for sid, _, _ in todo]
    mailbox = mailbox_line(scores, truths, readings, cache, registry, halves) if args.via == "inproc" else None
    summary = summarise(scores, halves)
    if mailbox:
        summary["mailbox"] = mailbox
    print_report(summary, halves, console)
    console.print(
        f"{len(todo)} files ({args.per_category} per category per half); rendering {rendered_at - started:.0f} s "
        f"({len(render_seconds)} new), reading {finished - rendered_at:.0f} s, total {finished - started:.0f} s. "
        f"Cache: {cache}"
    )
    if args.show_wrong:
        for s in scores:
            if s.half == "tuning" and s.wrong:
                console.print(f"[bold]{s.id}[/]: " + "; ".join(s.wrong[:12]) + (" …" if len(s.wrong) > 12 else ""))
        flagged = [f"{s.id} ({', '.join(sorted(s.flagged_for))})" for s in scores if s.half == "tuning" and s.flagged_for]
        console.print("Flagged for a person (tuning): " + "; ".join(flagged))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    record = {
        "when": stamp, "argv": sys.argv[1:], "renderer": RENDERER_VERSION, "seconds": round(finished - started, 1),
        "summary": summary,
        "samples": [{**s.__dict__, "flagged_for": sorted(s.flagged_for), "reading": results[s.id][0]} for s in scores],
    }
    (Path(args.out) / f"results-{stamp}.json").write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.markdown:
        Path(args.markdown).write_text(markdown(summary, halves), encoding="utf-8")
    return 0
