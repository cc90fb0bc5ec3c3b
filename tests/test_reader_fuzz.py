"""Mutated PDFs and images: the reader either reads them or refuses them with ReaderError.

Any other exception would crash the worker's processing of that mail three times and
send it to staff; the contract is a clear ``attachment.unreadable`` instead.
"""

from __future__ import annotations

import functools
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testkit.forms import Variant, degrade, encode_image, random_form, render_image, render_pdf
from config.profile import load_profile
from parsers.catalog import bundled_certificates
from parsers.documents import ReaderLimits
from parsers.errors import ReaderError
from parsers.reader import read_attachment

PROFILE = load_profile("anhui-2025")
LIMITS = ReaderLimits(max_seconds=60)


@functools.cache
def seeds() -> dict[str, bytes]:
    spec = random_form("summary", seed=5, rows=3)
    small = degrade(render_image(spec, dpi=100), Variant(colour="gray"), seed=5)
    return {"form.pdf": render_pdf([spec]), "scan.jpg": encode_image(small, "JPEG"),
            "scan.png": encode_image(small, "PNG")}


@st.composite
def mutated(draw) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(seeds())))
    data = bytearray(seeds()[name])
    for _ in range(draw(st.integers(1, 8))):
        action = draw(st.sampled_from(["flip", "cut", "splice", "zero"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if action == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif action == "cut":
            del data[at : at + draw(st.integers(1, 4096))]
        elif action == "splice":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        else:
            data[at : at + 64] = bytes(min(64, len(data) - at))
    return name, bytes(data)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_files_are_read_or_refused_cleanly(sample):
    name, data = sample
    started = time.monotonic()
    try:
        read_attachment(data, name, profile=PROFILE, certificates=bundled_certificates(), limits=LIMITS)
    except ReaderError as exc:
        assert str(exc), "a refusal must say why"
    assert time.monotonic() - started < 90
