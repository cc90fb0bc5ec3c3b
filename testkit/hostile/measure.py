"""What one hostile input costs the real decision path, in time and peak memory.

Each input runs in a fresh Python process that does exactly what the worker's processing
stage does with a stored original — ``intake.message.decode`` with the limits from the
default settings, then ``intake.pipeline.process`` with the real reader
(``parsers.reader.read_attachment``, OCR included) — and reports the decision. The input is
built by another process and handed over as a file. The child reports its resident size
after importing everything, before reading the mail (``VmRSS``), and its high-water mark at
the end (``VmHWM``, reset by exec): a ``Row`` holds both the process peak and what the input
added to it. The parent also reads the child's own ``ru_maxrss`` with ``os.wait4`` — the
peak when the child died before reporting (it also counts the forked copy of the parent,
small here). Both processes are ``python -m testkit.hostile``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from testkit.hostile.inputs import CONTACT, INPUTS, MB, RECEIVED, UNIT, Input

ROOT = Path(__file__).resolve().parents[2]
CHILD_TIMEOUT = 1800.0


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def child(path: str) -> None:
    """Decode and decide one stored mail exactly as the worker's processing stage does."""
    import functools

    import ocr.scan  # noqa: F401 - imported lazily by the reader; load it before the baseline
    from config.profile import load_profile
    from config.settings import Settings
    from domain.state import LedgerState, UnitRef
    from intake.message import decode
    from intake.pipeline import process
    from intake.worker import limits_from_settings
    from parsers.catalog import bundled_certificates
    from parsers.reader import read_attachment

    settings = Settings()
    mime_limits, reader_limits = limits_from_settings(settings)
    read = functools.partial(read_attachment, limits=reader_limits)
    profile = load_profile("anhui-2025")
    state = LedgerState(units=(UnitRef(UNIT, "高职", "合肥市", contacts=(CONTACT,)),),
                        certificates=bundled_certificates())
    baseline_kb = _status_kb("VmRSS")

    started, cpu_started = time.perf_counter(), time.process_time()
    raw = Path(path).read_bytes()
    envelope = decode(raw, RECEIVED, limits=mime_limits)
    del raw
    result = process(envelope, profile, state, read)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    decision = result.decision
    reasons = [] if decision is None else [(str(r.code), r.detail) for r in decision.reasons]
    print(json.dumps({
        "outcome": "ignored" if decision is None else str(decision.outcome),
        "codes": [] if decision is None else decision.codes,
        "reasons": reasons,
        "note": result.note,
        "problems": list(envelope.problems)[:3],
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "baseline_mb": baseline_kb / 1024,
        "hwm_mb": _status_kb("VmHWM") / 1024,
    }, ensure_ascii=False))


# --------------------------------------------------------------------------- the parent


@dataclass
class Row:
    name: str
    size: int
    outcome: str = ""
    codes: str = ""
    detail: str = ""
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # of the decision alone: what the input costs, whatever else the machine does
    peak_mb: float = 0.0
    added_mb: float = 0.0
    rusage_mb: float = 0.0  # ru_maxrss from wait4 (the fallback when the child died)
    error: str = ""


def build(name: str, path: str) -> None:
    """Write one input's bytes (in a process of its own, so the parent stays small)."""
    item = next(i for i in INPUTS if i.name == name)
    Path(path).write_bytes(item.build())


def run_one(item: Input, workdir: Path) -> Row:
    path = workdir / "mail.eml"
    # Built in another process: the measured child is forked from this one, and Linux
    # counts the forked copy's resident set in the child's ru_maxrss until exec.
    subprocess.run([sys.executable, "-m", "testkit.hostile", "--build", item.name, str(path)],
                   check=True, cwd=ROOT)
    size = 300 * MB if item.note == "server size" else path.stat().st_size
    row = Row(item.name, size)
    out_path, err_path = workdir / "out", workdir / "err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "testkit.hostile", "--child", str(path)],
                                stdout=out, stderr=err, cwd=ROOT)
    timer = threading.Timer(CHILD_TIMEOUT, proc.kill)
    timer.start()
    started = time.monotonic()
    # wait4, not wait: the rusage of this one child (its own peak resident set), nothing else.
    _, status, usage = os.wait4(proc.pid, 0)
    timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    row.seconds = time.monotonic() - started
    # Kilobytes on Linux. Also counts the forked copy of this process until exec: exact
    # here (the parent is small), an over-estimate under pytest; VmHWM below is not.
    row.rusage_mb = row.peak_mb = usage.ru_maxrss / 1024
    lines = [ln for ln in out_path.read_text(errors="replace").splitlines() if ln.startswith("{")]
    if proc.returncode != 0:
        last = err_path.read_text(errors="replace").strip().splitlines()[-1:]
        killed = row.seconds >= CHILD_TIMEOUT and proc.returncode < 0
        row.error = f"timeout after {CHILD_TIMEOUT:.0f} s" if killed else f"exit {proc.returncode}"
        row.detail = last[0][:90] if last else ""
    if lines:
        data = json.loads(lines[-1])
        row.outcome = data["outcome"]
        row.codes = ",".join(data["codes"]) or data["note"]
        row.detail = (data["reasons"][0][1] if data["reasons"] else "; ".join(data["problems"]))[:90]
        row.seconds = data["seconds"]
        row.cpu_seconds = data["cpu_seconds"]
        row.added_mb = data["hwm_mb"] - data["baseline_mb"]
        row.peak_mb = data["hwm_mb"]
    path.unlink(missing_ok=True)
    return row
