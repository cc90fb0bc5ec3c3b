"""Certificate names as schools write them → canonical names, never a confident wrong one."""

from __future__ import annotations

import pytest

from domain.state import CertificateRef
from parsers.catalog import Catalogue, bundled_certificates, normalise

CATALOGUE = Catalogue(bundled_certificates())


def test_bundled_catalogue_loads_names_and_levels():
    refs = {r.name: r for r in bundled_certificates()}
    assert len(refs) >= 70
    assert refs["建筑信息模型（BIM）"].levels == frozenset({"初级", "中级", "高级"})
    assert refs["Web前端开发"].levels == frozenset()  # the list does not say


@pytest.mark.parametrize(
    "written, canonical",
    [
        ("建筑信息模型（BIM）", "建筑信息模型（BIM）"),
        ("建筑信息模型(BIM)职业技能等级证书", "建筑信息模型（BIM）"),  # half-width brackets + suffix
        ("建筑信息模型 ( bim )", "建筑信息模型（BIM）"),  # spaces, lower case
        ("下一代互联网（IPv6）搭建与运维职业技能等级证书", "下一代互联网（IPv6）搭建与运维"),
        ("ｗｅｂ前端开发", "Web前端开发"),  # full-width Latin
        ("智能终端产品调试与维修职业技能\n等级证书", "智能终端产品调试与维修"),  # wrapped in its cell
    ],
)
def test_exact_after_normalisation(written, canonical):
    match = CATALOGUE.match(written)
    assert match.name == canonical
    assert match.exact and match.confident


def test_one_misread_character_matches_with_margin():
    match = CATALOGUE.match("工业机器人应用编桯")  # 程 → 桯
    assert match.name == "工业机器人应用编程"
    assert not match.exact
    assert match.score < 100


def test_near_twins_are_not_confused_silently():
    # 网络安全评估 / 网络安全运维 differ in two characters: a name halfway between
    # them must not be matched to either.
    match = CATALOGUE.match("网络安全评维")
    assert match.name is None or not match.confident
    assert not match.confident


def test_unknown_name_is_not_matched():
    match = CATALOGUE.match("区块链应用操作")
    assert match.name is None and not match.confident


def test_empty_text_matches_nothing():
    assert CATALOGUE.match("  ").name is None


def test_normalise_keeps_short_names_that_end_like_a_suffix():
    assert normalise("证书") == "证书"
    assert normalise("数据标注职业技能等级证书") == "数据标注"


def test_duplicate_keys_keep_first_canonical_name():
    cat = Catalogue([CertificateRef("数据标注"), CertificateRef("数据标注 ")])
    assert len(cat) == 1
    assert cat.match("数据标注证书").name == "数据标注"


@pytest.mark.parametrize(
    "read, canonical",
    [
        ("云计算平台运维与开发职业技能等", "云计算平台运维与开发"),  # suffix cut at the cell edge
        ("计算开发与运维职业技能等级书", "云计算开发与运维"),  # suffix misread, first character lost
        ("工业互联网网络运维职业支能等级证-3", "工业互联网网络运维"),  # 技 misread, a stroke of 书 left
        ("智能终端产品调试与维修职业支能等级证=", "智能终端产品调试与维修"),
    ],
)
def test_damaged_suffix_from_ocr_is_stripped_before_matching(read, canonical):
    assert CATALOGUE.match(read).name == canonical
