"""The originals store: content-addressed, relative to its root, checked when read."""

from __future__ import annotations

import shutil

import pytest

from intake import originals


def test_a_mail_is_kept_once_under_its_hash_and_found_from_another_mount_point(tmp_path):
    raw = b"Subject: =?utf-8?b?5rWL6K+V?=\r\n\r\nbody"
    sha, stored = originals.keep(tmp_path / "a", raw)
    assert not stored.is_absolute() and stored.stem == sha == originals.digest(raw)
    assert originals.keep(tmp_path / "a", raw) == (sha, stored)  # the same bytes again: nothing new
    shutil.copytree(tmp_path / "a", tmp_path / "b")  # machine B mounts the shared store elsewhere
    assert originals.load(tmp_path / "b", stored) == raw
    assert originals.load(tmp_path / "elsewhere", tmp_path / "a" / stored) == raw  # older rows: absolute paths


def test_a_damaged_original_is_refused_not_trusted(tmp_path):
    sha, stored = originals.keep(tmp_path, b"From: a@b.cn\r\n\r\n300")
    (tmp_path / stored).write_bytes(b"From: a@b.cn\r\n\r\n900")
    with pytest.raises(originals.DamagedOriginal, match="restore the file"):
        originals.load(tmp_path, stored)
