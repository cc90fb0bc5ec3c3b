"""Lease holders: who claimed a stored message or a queued reply, and whether they are gone.

A holder is ``host:pid:run.nonce``: ``run`` is drawn once per process, ``nonce`` once per
holder (each ``Worker``), so two workers of one process never share a name. A lease
normally ends when its time runs out, but a worker restarted on the same machine need not
wait for that: a holder on this host whose process no longer runs, or an earlier process
that had our pid (e.g. PID 1 in a restarted container: another ``run``), is gone, and so
is an earlier attempt of this very holder. Another holder of this process may still be at
work (a second ``Worker`` in a thread) and is waited out, as are holders on other machines,
which cannot be checked.
"""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path

_RUN = secrets.token_hex(4)  # this process; a process started later with our pid draws another


def new_holder() -> str:
    """A name for one claimer, unique even among the claimers of one process."""
    return f"{socket.gethostname()}:{os.getpid()}:{_RUN}.{secrets.token_hex(4)}"


def _split(holder: str) -> tuple[str, int, str] | None:
    """``(host, pid, run)``; holders written before runs were named have a bare nonce, another run."""
    host, _, rest = holder.partition(":")
    pid, _, nonce = rest.partition(":")
    return (host, int(pid), nonce.partition(".")[0]) if pid.isdigit() and nonce else None


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed process nobody has reaped yet still answers kill(0)
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def holder_gone(holder: str, me: str) -> bool:
    """True when ``holder`` certainly no longer works on what it claimed."""
    if holder == me:
        return True  # this holder claimed it and did not finish: e.g. the database went away
    theirs, mine = _split(holder), _split(me)
    if theirs is None or mine is None or theirs[0] != mine[0]:
        return False
    if theirs[1] == mine[1]:
        return theirs[2] != mine[2]  # our pid: gone if an earlier process's, at work if this one's
    return not _running(theirs[1])
