"""The second test set (bench/heldout): deterministic, its truth is what it draws, its split is stable."""

from __future__ import annotations

import io
import json
import unicodedata

import pdfplumber
import pytest

from bench.heldout import samples
from bench.heldout.run import score
from bench.heldout.truth import Truth

pytest.importorskip("augraphy")


def _norm(text: str | None) -> str:
    return "".join(unicodedata.normalize("NFKC", text or "").split())


@pytest.mark.parametrize("sample_id", ["text_pdf-0002", "scan_gray-0001", "image_pdf-0000"])
def test_a_sample_is_the_same_bytes_every_time(sample_id):
    first = samples.render_sample(sample_id)
    again = samples.render_sample(sample_id)
    assert first[0] == again[0]
    assert first[2].to_json() == again[2].to_json()


@pytest.mark.parametrize("sample_id", ["text_pdf-0000", "text_pdf-0001", "text_pdf-0002", "text_pdf-0003"])
def test_the_truth_is_what_a_text_pdf_says(sample_id):
    data, ext, truth = samples.render_sample(sample_id)
    assert ext == ".pdf"
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        page = pdf.pages[0]
        text = _norm(page.extract_text())
        rows = [[_norm((c or "").replace("\n", "")) for c in row] for t in page.extract_tables() for row in t]
    assert _norm(truth.unit) in text
    assert ("汇总表" in text) == (truth.kind == "summary")
    assert ("调增" in text) == (truth.kind == "increase")
    numbers = ("count",) if truth.kind == "summary" else ("approved", "requested")
    for i, line in enumerate(truth.lines, start=1):
        name = _norm(line["certificate"])
        hits = [
            r for r in rows
            if str(i) in r and line["level"] in r and any(c in (name, name + "职业技能等级证书") for c in r)
            and all(str(line[k]) in r for k in numbers)
        ]
        assert hits, f"line {i} {line} not in the PDF's table"
    if truth.total is not None:
        assert any(any(c in ("合计", "总计") for c in r) and str(truth.total) in r for r in rows)


def test_the_split_is_a_hash_of_the_id_and_never_moves():
    assert [samples.half_of(f"photo-{n:04d}") for n in range(6)] == [
        samples.half_of(f"photo-{n:04d}") for n in range(6)
    ]
    small = samples.plan(2, ("scan_bw", "photo"))
    big = samples.plan(5, ("scan_bw", "photo"))
    assert set(small) <= set(big)  # more samples add ids, never move one
    for sid, cat, half in big:
        assert half == samples.half_of(sid) and sid.startswith(cat + "-")
    for cat in ("scan_bw", "photo"):
        for half in samples.HALVES:
            assert sum(1 for _, c, h in big if c == cat and h == half) == 5
    # both halves are drawn from the same ids' stream, roughly one in two each
    halves = [samples.half_of(f"scan_color-{n:04d}") for n in range(400)]
    assert 160 < halves.count("heldout") < 240
    # pinned: a change of the hash would silently mix the halves
    assert [samples.half_of(f"text_pdf-{n:04d}") for n in range(4)] == ["tuning", "heldout", "heldout", "tuning"]


def _truth(**kw) -> Truth:
    base = {"id": "scan_color-0000", "category": "scan_color", "half": "tuning", "seed": 1, "file": "x.png",
            "kind": "summary", "unit": "亳州工业学校", "stamp": True, "total": 30, "rows": 2,
            "lines": [{"certificate": "物流管理", "level": "初级", "count": 10},
                      {"certificate": "老年照护", "level": "中级", "count": 20}]}
    base.update(kw)
    return Truth(**base)


def _reading(lines, **kw) -> dict:
    page = {"page": 1, "kind": "summary", "unit": "亳州工业学校", "unit_confident": True, "stamp": True,
            "stamp_confident": True, "total": 30, "total_confident": True, "table_confident": True, "lines": lines}
    page.update(kw)
    return {"pages": [page]}


def test_scoring_counts_a_confident_misread_as_silent_and_a_flagged_one_as_review():
    good = [{"certificate": "物流管理", "level": "初级", "count": 10, "confident": True},
            {"certificate": "老年照护", "level": "中级", "count": 20, "confident": True}]
    s = score(_truth(), _reading(good), 1.0)
    assert (s.fields, s.right, s.silent, s.flagged, s.fully_right, s.auto) == (10, 10, 0, 0, True, True)
    wrong = json.loads(json.dumps(good))
    wrong[1]["count"] = 28
    s = score(_truth(), _reading(wrong), 1.0)
    assert (s.right, s.silent, s.flagged) == (9, 1, 0)
    wrong[1]["confident"] = False
    s = score(_truth(), _reading(wrong), 1.0)
    assert (s.right, s.silent, s.flagged, s.auto) == (9, 0, 3, False)
    s = score(_truth(), _reading(good[:1]), 1.0)  # a line the reader never reported, table "complete"
    assert (s.right, s.silent) == (7, 3)
    s = score(_truth(), {"pages": [{"page": 1, "kind": "unknown"}]}, 1.0)
    assert (s.found, s.right, s.silent, s.flagged) == (False, 0, 0, 0)


def test_scoring_reads_the_page_the_form_is_on():
    cover = {"page": 1, "kind": "summary", "unit": "", "unit_confident": False, "stamp": False, "stamp_confident": False,
             "total": None, "total_confident": False, "table_confident": False, "lines": []}
    form = _reading([{"certificate": "物流管理", "level": "初级", "count": 10, "confident": True},
                     {"certificate": "老年照护", "level": "中级", "count": 20, "confident": True}])["pages"][0]
    form["page"] = 2
    s = score(_truth(form_page=2, pages=2), {"pages": [cover, form]}, 2.0)
    assert s.fully_right and s.seconds_per_page == 1.0


def test_the_mailbox_line_tells_the_three_ways_to_be_wrong():
    """The worker's own rules on a sample's mail: read right is right; a confident "no stamp"
    on a stamped form is a wrong rejection; an unsure unit a needless review."""
    from dataclasses import replace

    from bench.heldout.mailbox import decide, truth_reading
    from config.profile import load_profile
    from domain.state import UnitRef
    from parsers.catalog import bundled_certificates

    profile = load_profile("anhui-2025")
    certificates = bundled_certificates()
    truth = Truth(id="text_pdf-9999", category="text_pdf", half="tuning", seed=1, file="x.pdf", kind="increase",
                  unit="安徽职业技术学院", stamp=True, total=None,
                  lines=[{"certificate": "物流管理", "level": "中级", "approved": 20, "requested": 35}])
    units = (UnitRef("安徽职业技术学院"), UnitRef("安徽工业经济职业技术学院"))
    perfect = truth_reading(truth)
    assert decide(truth, b"", perfect, profile, units, certificates).verdict == "right"

    page = perfect.pages[0]
    unstamped = replace(perfect, pages=(replace(page, form=replace(page.form, stamp=False)),))
    outcome = decide(truth, b"", unstamped, profile, units, certificates)
    assert outcome.verdict == "wrong rejection" and "form.stamp_missing (校章)" in outcome.reasons[0]
    unsure = replace(perfect, pages=(replace(page, form=replace(page.form, unit="安徽工业", unit_confident=False)),))
    assert decide(truth, b"", unsure, profile, units, certificates).verdict == "needless review"
