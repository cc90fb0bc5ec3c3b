"""Content-addressed store of original messages: the raw bytes, kept forever.

The file name is the SHA-256 of the bytes, so an attachment's or a sender's
name never reaches the file system, and storing the same mail twice is a no-op.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def path_for(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / f"{sha256}.eml"


def keep(root: Path, raw: bytes) -> tuple[str, Path]:
    """Write ``raw`` durably (temp file, fsync, rename) and return (sha256, path)."""
    sha = digest(raw)
    path = path_for(root, sha)
    if path.exists():
        return sha, path
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
    return sha, path


def load(path: str | Path) -> bytes:
    return Path(path).read_bytes()
