"""Content-addressed store of original messages: the raw bytes, kept forever.

The file name is the SHA-256 of the bytes, so an attachment's or a sender's
name never reaches the file system, and storing the same mail twice is a no-op.
The ledger records the path relative to the store's root, so machines that mount a
shared store at different places all find the same file; reading checks the bytes
against their name, so a damaged store is noticed, not trusted.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def path_for(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / f"{sha256}.eml"


def keep(root: str | Path, raw: bytes) -> tuple[str, Path]:
    """Write ``raw`` durably (temp file, fsync, rename); return (sha256, path relative to ``root``)."""
    sha = digest(raw)
    path = path_for(Path(root), sha)
    relative = path.relative_to(root)
    if path.exists():
        return sha, relative
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return sha, relative


class DamagedOriginal(OSError):
    """The stored bytes no longer match the SHA-256 they were stored under."""


def load(root: str | Path, stored: str | Path) -> bytes:
    """The bytes kept at ``stored`` (relative to ``root``; an absolute path is taken as it is)."""
    path = Path(root) / stored
    raw = path.read_bytes()
    if re.fullmatch(r"[0-9a-f]{64}", path.stem) and digest(raw) != path.stem:
        raise DamagedOriginal(f"{path}: the bytes do not match their SHA-256 name; restore the file from a backup")
    return raw
