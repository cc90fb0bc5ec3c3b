"""Peak memory of hostile mail on the real decision path, measured as ``bench.hostile`` does.

Each input runs in a fresh process (decode → pipeline.process with the real reader); the
process's own peak resident set comes from ``os.wait4``. The interpreter with numpy,
OpenCV, Pillow, pdfium and pdfplumber loaded is ~130 MB of it. These inputs once took
over 1 GB, tens of seconds, or a RecursionError (no reply) before their limits were
checked on the raw bytes.
"""

from __future__ import annotations

import pytest

from testkit import hostile

# input name → (text of the reason, peak RSS bound in MB)
BOUNDED = {
    "MIME with ~480,000 parts (49 MB)": ("邮件结构过于复杂", 400),  # was 1.1 GB and 75 s
    "MIME nested 10,000 deep": ("邮件结构过于复杂", 300),  # was a RecursionError: ignored, no reply
    "zip with 100,000 entries": ("超过上限 50 个", 300),  # was 3.5 s in zipfile, twice
    # A mail at the size limit that is one header line: the stdlib parser holds ~12 copies
    # of it (about 720 MB), bounded by INTAKE_MAX_MESSAGE_MB; the address parser took 8 s per 20 MB.
    "From line of 49 MB": ("", 1024),
}


@pytest.mark.parametrize("name", sorted(BOUNDED))
def test_hostile_mail_is_decided_in_bounded_time_and_memory(name, tmp_path):
    reason, peak_mb = BOUNDED[name]
    (item,) = [i for i in hostile.INPUTS if i.name == name]
    row = hostile.run_one(item, tmp_path)
    assert not row.error, row.error
    assert row.outcome == "rejected"
    assert reason in row.detail
    assert row.cpu_seconds < 5.0, row.cpu_seconds  # CPU, not wall time: a loaded machine must not fail it
    assert row.peak_mb < peak_mb, (row.peak_mb, row.added_mb)
