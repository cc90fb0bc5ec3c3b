"""Where things go on the page: the notice's template as offices lay it out in Word or WPS.

``lay_out`` turns a filled form (``truth.Content``) into a ``Page`` of positioned
primitives in millimetres (text runs on a baseline, ruling lines, seals); ``render``
draws the same ``Page`` as pixels or as a PDF with a real text layer, so what the truth
says is what both backends draw.

What varies, each decided by the sample's own random generator:
- paper: A4 portrait or landscape (short tables), margins;
- faces: Song, Kai or Hei for the body, often another (bold) for the title; sizes;
- the title line (附件 label, province prefix, split over two lines, or a merged title row
  inside the table); the unit line's wording (填报单位（盖章）/学校名称（校章）/…), above
  the table or as a merged row inside it, with or without the date beside it;
- columns: widths, header wordings (several per column), a two-row header with a merged
  人数 cell over 原批准/调增后, extra columns (备注, 培训评价组织);
- rows 3–30, names wrapping to two lines in narrow columns (the row grows as Word does),
  blank ruled rows left at the bottom, a 合计 row merged over the first columns or not;
- the footer (填表人, 联系电话, 日期, a 负责人 signature line);
- hand-filled numbers (a handwriting face, jittered in the raster) in blue or black pen;
- the seal: shape, ink and pressure (``stamps``), over the unit name, the date, the table's
  corner, partly off the page — or no seal at all.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from bench.heldout import fonts, stamps
from bench.heldout.truth import Content

PT_MM = 25.4 / 72.0

# Header wordings as offices write them (the notice's own first, with more weight).
HEADERS = {
    "seq": [("序号", 8), ("序 号", 1), ("编号", 1)],
    "cert_summary": [("职业技能等级证书名称", 5), ("证书名称", 4), ("职业技能等级证书", 2), ("1+X证书名称", 1),
                     ("申报证书名称", 1), ("证书名称（全称）", 1)],
    "cert_increase": [("证书名称", 5), ("职业技能等级证书名称", 3), ("职业技能等级证书", 1), ("1+X证书名称", 1)],
    "level": [("级别", 5), ("证书级别", 4), ("申报级别", 1), ("等级", 1), ("级 别", 1)],
    "count": [("拟申报人数", 6), ("申报人数", 2), ("拟申报人数（人）", 2), ("拟申报人数(人)", 1), ("计划申报人数", 1)],
    "approved": [("原批准人数", 7), ("原批准人数（人）", 2), ("原批准数", 1)],
    "requested": [("调增后人数", 7), ("调增后人数（人）", 2), ("调增后总人数", 1)],
    "remark": [("备注", 1)],
    "org": [("培训评价组织", 1)],
}

UNIT_LABELS = [("学校名称（校章）：", 4), ("填报单位（盖章）：", 4), ("申报学校（盖章）：", 2), ("单位名称（公章）：", 2),
               ("填报学校（盖章）：", 1), ("学校名称(盖章)：", 1)]


def _pick(rng: random.Random, options: list[tuple[str, int]]) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


@dataclass(frozen=True)
class Text:
    x: float  # left of the run, mm
    y: float  # baseline, mm
    text: str
    face: str
    pt: float
    color: tuple[int, int, int] = (20, 20, 20)
    bold: bool = False
    hand: bool = False  # hand-filled: jittered glyph by glyph in the raster


@dataclass(frozen=True)
class Rule:
    x0: float
    y0: float
    x1: float
    y1: float
    width: float  # mm


@dataclass(frozen=True)
class Seal:
    cx: float
    cy: float
    spec: stamps.StampSpec
    where: str


@dataclass
class Page:
    width: float
    height: float
    texts: list[Text] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    seals: list[Seal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    hand_seed: int = 0


@dataclass
class Style:
    body: str
    title: str
    pt: float
    title_pt: float
    landscape: bool
    margin: float
    hand: bool
    hand_face: str
    hand_ink: tuple[int, int, int]


def choose_style(rng: random.Random, rows: int, *, pdf: bool, allow_hand: bool) -> Style:
    style = rng.choices(["song", "kai", "hei"], weights=[45, 25, 30])[0]
    body = rng.choice([f.key for f in fonts.faces(style, pdf=pdf)])
    tstyle = rng.choice(["hei", "song", style])
    title = rng.choice([f.key for f in fonts.faces(tstyle, pdf=pdf)])
    landscape = rows <= 14 and rng.random() < 0.3
    hand = allow_hand and rng.random() < 0.35
    hand_face = rng.choice([f.key for f in fonts.faces("hand", pdf=pdf)])
    hand_ink = rng.choice([(28, 42, 120), (24, 24, 30), (40, 60, 150)])
    return Style(body, title, rng.choice([10.5, 11.0, 12.0]), rng.choice([16.0, 18.0, 20.0, 22.0]), landscape,
                 rng.uniform(15, 24), hand, hand_face, hand_ink)


def _fit(text: str, face: str, pt: float, width: float) -> float:
    """The size at which ``text`` fits ``width`` mm (never above ``pt``, never below 6 pt)."""
    while pt > 6 and fonts.text_width(face, text, pt) * PT_MM > width:
        pt -= 0.5
    return pt


def _wrap(text: str, face: str, pt: float, width: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` mm (Han text breaks anywhere)."""
    lines, cur = [], ""
    for ch in text:
        if cur and fonts.text_width(face, cur + ch, pt) * PT_MM > width:
            lines.append(cur)
            cur = ch
        else:
            cur += ch
    if cur:
        lines.append(cur)
    return lines


class _Builder:
    def __init__(self, page: Page, style: Style):
        self.page, self.s = page, style

    def text(self, x: float, y: float, text: str, *, face: str | None = None, pt: float | None = None,
             bold: bool = False, hand: bool = False, color=(20, 20, 20)) -> None:
        self.page.texts.append(Text(x, y, text, face or self.s.body, pt or self.s.pt, color, bold, hand))

    def centred(self, x0: float, x1: float, y: float, text: str, *, face=None, pt=None, bold=False, hand=False,
                color=(20, 20, 20)) -> None:
        face, pt = face or self.s.body, pt or self.s.pt
        pt = _fit(text, face, pt, x1 - x0 - 1.0)
        w = fonts.text_width(face, text, pt) * PT_MM
        self.text((x0 + x1 - w) / 2, y, text, face=face, pt=pt, bold=bold, hand=hand, color=color)

    def in_cell(self, x0: float, x1: float, top: float, bottom: float, lines: list[str], *, align="centre",
                face=None, pt=None, hand=False, color=(20, 20, 20)) -> None:
        face, pt = face or self.s.body, pt or self.s.pt
        lead = pt * PT_MM * 1.25
        y = (top + bottom) / 2 - lead * (len(lines) - 1) / 2 + pt * PT_MM * 0.36
        for ln in lines:
            if align == "centre":
                self.centred(x0, x1, y, ln, face=face, pt=pt, hand=hand, color=color)
            else:
                self.text(x0 + 1.5, y, ln, face=face, pt=_fit(ln, face, pt, x1 - x0 - 2.5), hand=hand, color=color)
            y += lead

    def rule(self, x0, y0, x1, y1, w=0.25) -> None:
        self.page.rules.append(Rule(x0, y0, x1, y1, w))


def _columns(rng: random.Random, kind: str) -> list[tuple[str, str, float]]:
    """(key, header, relative width) from left to right."""
    cert_key = "cert_summary" if kind == "summary" else "cert_increase"
    cols = [("seq", _pick(rng, HEADERS["seq"]), rng.uniform(6, 10)),
            ("cert", _pick(rng, HEADERS[cert_key]), rng.uniform(30, 52))]
    if kind == "summary" and rng.random() < 0.12:
        cols.append(("org", "培训评价组织", rng.uniform(20, 30)))
    cols.append(("level", _pick(rng, HEADERS["level"]), rng.uniform(9, 16)))
    if kind == "summary":
        cols.append(("count", _pick(rng, HEADERS["count"]), rng.uniform(12, 20)))
    else:
        cols.append(("approved", _pick(rng, HEADERS["approved"]), rng.uniform(12, 18)))
        cols.append(("requested", _pick(rng, HEADERS["requested"]), rng.uniform(12, 18)))
    if rng.random() < 0.3:
        cols.append(("remark", "备注", rng.uniform(8, 14)))
    return cols


_ORGS = ("工业和信息化部教育与考试中心", "北京中物联物流采购培训中心", "中教畅享（北京）科技有限公司",
         "新道科技股份有限公司", "北京新奥时代科技有限责任公司", "广州中望龙腾软件股份有限公司")


def _title(rng: random.Random, kind: str) -> str:
    if kind == "summary":
        return rng.choices(["2025年1+X证书制度试点申报学校汇总表", "安徽省2025年1+X证书制度试点申报学校汇总表",
                            "2025年1+X证书制度试点申报学校汇总表"], weights=[6, 2, 1])[0]
    return rng.choices(["2025年1+X证书制度试点指标调增申请表", "2025年1+X证书试点指标调增申请表",
                        "安徽省2025年1+X证书制度试点指标调增申请表"], weights=[6, 2, 2])[0]


def lay_out(content: Content, rng: random.Random, *, pdf: bool, allow_hand: bool = True) -> Page:
    rows = len(content.lines)
    s = choose_style(rng, rows + content.blank_rows, pdf=pdf, allow_hand=allow_hand)
    w, h = (297.0, 210.0) if s.landscape else (210.0, 297.0)
    page = Page(w, h, hand_seed=rng.randrange(1 << 30))
    b = _Builder(page, s)
    page.notes += [f"body {s.body} {s.pt}pt", f"title {s.title}", "landscape" if s.landscape else "portrait"]
    left, right = s.margin, w - s.margin
    y = s.margin + rng.uniform(-4, 4)
    if rng.random() < 0.4:
        b.text(left, y + 4, rng.choice(["附件2", "附件3", "附件"]), face=rng.choice([f.key for f in fonts.faces("hei", pdf=pdf)]), pt=12)
        y += 8
    title = _title(rng, content.kind)
    title_in_table = rng.random() < 0.18
    if not title_in_table:
        tpt = _fit(title, s.title, s.title_pt, right - left)
        if tpt < s.title_pt - 3 or rng.random() < 0.15:  # two lines, as a long title is often set
            cut = title.index("试点") + 2 if "试点" in title else len(title) // 2
            for part in (title[:cut], title[cut:]):
                b.centred(left, right, y + s.title_pt * PT_MM, part, face=s.title, pt=s.title_pt, bold=True)
                y += s.title_pt * PT_MM * 1.5
        else:
            b.centred(left, right, y + tpt * PT_MM, title, face=s.title, pt=tpt, bold=True)
            y += tpt * PT_MM * 1.6
        y += rng.uniform(2, 7)
    label = _pick(rng, UNIT_LABELS)
    date_label = rng.choice(["填报日期：", "日期：", "填表日期："])
    date_with_unit = rng.random() < 0.3
    unit_in_table = rng.random() < 0.15
    anchors: dict[str, tuple[float, float]] = {}

    def unit_line(yb: float, x: float) -> None:
        b.text(x, yb, label)
        lx = x + fonts.text_width(s.body, label, s.pt) * PT_MM
        b.text(lx, yb, content.unit)
        uw = fonts.text_width(s.body, content.unit, s.pt) * PT_MM
        if rng.random() < 0.3:
            b.rule(lx - 1, yb + 1.2, lx + uw + 8, yb + 1.2, 0.2)
        anchors["unit"] = (lx + uw * rng.uniform(0.4, 0.9), yb - s.pt * PT_MM * 0.4)
        if date_with_unit:
            text = date_label + content.date
            dw = fonts.text_width(s.body, text, s.pt) * PT_MM
            b.text(right - dw - 2, yb, text)
            anchors["date"] = (right - dw / 2, yb - 2)

    if not unit_in_table:
        y += s.pt * PT_MM
        unit_line(y, left)
        y += rng.uniform(3, 6)

    cols = _columns(rng, content.kind)
    scale = (right - left) / sum(c[2] for c in cols)
    xs = [left]
    for c in cols:
        xs.append(xs[-1] + c[2] * scale)
    colx = {c[0]: (xs[i], xs[i + 1]) for i, c in enumerate(cols)}
    page.notes.append("columns " + " | ".join(c[1] for c in cols))

    two_row = content.kind == "increase" and rng.random() < 0.3
    pt = s.pt
    base = rng.uniform(7.0, 10.0)
    hand = s.hand
    num_face = s.hand_face if hand else s.body
    num_ink = s.hand_ink if hand else (20, 20, 20)
    if hand:
        page.notes.append(f"hand-filled numbers {s.hand_face}")

    # Rows: the certificate wraps in its cell; the row grows as Word does. Shrink all when too tall.
    for _ in range(12):
        cw = colx["cert"][1] - colx["cert"][0] - 3
        name_lines = [_wrap(l.printed, s.body, pt, cw) for l in content.lines]
        lead = pt * PT_MM * 1.25
        heights = [max(base, len(nl) * lead + 2.0) for nl in name_lines]
        head_h = max(base * 1.3, 2 * lead + 3) * (2 if two_row else 1)
        extra = (base * 1.4 if title_in_table else 0) + (base if unit_in_table else 0)
        total_h = head_h + sum(heights) + base * content.blank_rows + base + extra
        bottom_room = h - s.margin - 22 - y
        if total_h <= bottom_room:
            break
        base = max(5.0, base * 0.9)
        pt = max(7.5, pt - 0.5)
    page.notes.append(f"rows {len(content.lines)} + blank {content.blank_rows}, row {base:.1f} mm, {pt}pt")
    thick = rng.choice([0.25, 0.4, 0.6])
    top = y
    # merged rows at the top of the table
    if title_in_table:
        hh = base * 1.4
        b.centred(left, right, y + hh / 2 + s.title_pt * 0.8 * PT_MM * 0.36, title, face=s.title, pt=s.title_pt * 0.8, bold=True)
        y += hh
        b.rule(left, y, right, y)
        page.notes.append("title row merged in the table")
    if unit_in_table:
        unit_line(y + base / 2 + pt * PT_MM * 0.36, left + 1.5)
        y += base
        b.rule(left, y, right, y)
        page.notes.append("unit row merged in the table")
    # header
    head_top = y
    hpt = pt
    if two_row:
        half = head_h / 2
        for key, header, _ in cols:
            x0, x1 = colx[key]
            if key in ("approved", "requested"):
                b.in_cell(x0, x1, y + half, y + head_h, _wrap(header, s.body, hpt, x1 - x0 - 2), pt=hpt)
            else:
                b.in_cell(x0, x1, y, y + head_h, _wrap(header, s.body, hpt, x1 - x0 - 2), pt=hpt)
        a0, a1 = colx["approved"][0], colx["requested"][1]
        b.in_cell(a0, a1, y, y + half, [rng.choice(["人数", "指标数（人）", "申报人数"])], pt=hpt)
        b.rule(a0, y + half, a1, y + half)
        page.notes.append("two-row header, 人数 merged")
    else:
        for key, header, _ in cols:
            x0, x1 = colx[key]
            b.in_cell(x0, x1, y, y + head_h, _wrap(header, s.body, hpt, x1 - x0 - 2), pt=hpt)
    y += head_h
    b.rule(left, y, right, y)
    for i, (line, nl, rh) in enumerate(zip(content.lines, name_lines, heights)):
        cell = {"seq": [str(i + 1)], "cert": nl, "level": [line.level], "remark": [],
                "org": _wrap(rng.choice(_ORGS), s.body, pt * 0.85, colx["org"][1] - colx["org"][0] - 2) if "org" in colx else []}
        for key, (x0, x1) in colx.items():
            if key in ("count", "approved", "requested"):
                value = getattr(line, key)
                b.in_cell(x0, x1, y, y + rh, [str(value)], face=num_face, pt=pt * (1.15 if hand else 1.0), hand=hand, color=num_ink)
            elif cell.get(key):
                align = "left" if key in ("cert", "org") and rng.random() < 0.5 else "centre"
                b.in_cell(x0, x1, y, y + rh, cell[key], align=align, pt=pt * (0.85 if key == "org" else 1.0))
        y += rh
        b.rule(left, y, right, y)
    for _ in range(content.blank_rows):
        y += base
        b.rule(left, y, right, y)
    # 合计
    total_row = content.kind == "summary" or content.increase_totals is not None
    merge_to = None
    if total_row:
        word = rng.choices(["合计", "合  计", "总计"], weights=[6, 2, 1])[0]
        style = rng.choices(["merged", "seq", "cert"], weights=[6, 2, 2])[0]
        first_num = next(k for k, *_ in cols if k in ("count", "approved"))
        if style == "merged":
            merge_to = colx[first_num][0]
            b.in_cell(left, merge_to, y, y + base, [word], pt=pt)
        elif style == "seq":
            b.in_cell(*colx["seq"], y, y + base, [word], pt=pt)
        else:
            b.in_cell(*colx["cert"], y, y + base, [word], pt=pt)
        if content.kind == "summary":
            b.in_cell(*colx["count"], y, y + base, [str(content.total)], face=num_face, pt=pt * (1.15 if hand else 1.0),
                      hand=hand, color=num_ink)
        else:
            for key, value in zip(("approved", "requested"), content.increase_totals or ()):
                b.in_cell(*colx[key], y, y + base, [str(value)], face=num_face, pt=pt * (1.15 if hand else 1.0),
                          hand=hand, color=num_ink)
        page.notes.append(f"total row {style} {word!r}")
        y += base
    bottom = y
    # verticals: broken by the merged cells
    b.rule(left, top, right, top, thick)
    b.rule(left, bottom, right, bottom, thick)
    b.rule(left, top, left, bottom, thick)
    b.rule(right, top, right, bottom, thick)
    for i in range(1, len(xs) - 1):
        x = xs[i]
        y_start = head_top
        segs = []
        if two_row and colx["requested"][0] == x:
            y_start = head_top + head_h / 2
        y_end = bottom
        if merge_to is not None and x < merge_to - 0.01:
            y_end = bottom - base
        segs.append((y_start, y_end))
        for a, c in segs:
            b.rule(x, a, x, c)
    anchors["corner"] = (right - rng.uniform(10, 30), bottom - rng.uniform(0, 15))
    anchors["total"] = ((colx[first_num][0] + right) / 2 if total_row else right - 20, bottom - base / 2)
    # footer
    fy = bottom + rng.uniform(6, 10) + pt * PT_MM
    parts = [f"填表人：{content.filler}", f"联系电话：{content.phone}"]
    if rng.random() < 0.25:
        parts.insert(0, "负责人（签字）：" + " " * 6)
    if not date_with_unit:
        parts.append(date_label + content.date)
    if rng.random() < 0.5 and len(parts) >= 3:
        first, second = parts[:-1], parts[-1:]
    else:
        first, second = parts, []
    gap = (right - left - sum(fonts.text_width(s.body, p, s.pt) * PT_MM for p in first)) / max(1, len(first) - 1)
    gap = min(gap, 25.0)
    x = left
    for p in first:
        b.text(x, fy, p)
        if p.startswith(date_label):
            anchors["date"] = (x + fonts.text_width(s.body, p, s.pt) * PT_MM * 0.6, fy - 2)
        x += fonts.text_width(s.body, p, s.pt) * PT_MM + gap
    for p in second:
        fy += s.pt * PT_MM * 2.0
        pw = fonts.text_width(s.body, p, s.pt) * PT_MM
        b.text(right - pw - 5, fy, p)
        anchors["date"] = (right - pw / 2 - 5, fy - 2)
    anchors.setdefault("date", anchors["corner"])
    page.notes.append(f"unit label {label!r}" + (" with date" if date_with_unit else ""))
    _place_seal(page, content, rng, anchors, pdf=pdf)
    return page


def _place_seal(page: Page, content: Content, rng: random.Random, anchors: dict, *, pdf: bool) -> None:
    if rng.random() < 0.12:
        page.notes.append("no seal")
        return
    spec = stamps.random_spec(rng, content.unit)
    where = rng.choices(["unit", "corner", "date", "total", "off-page"], weights=[45, 20, 15, 8, 12])[0]
    if where == "off-page":  # pressed near the edge: a third to a half of it off the paper
        edge = rng.choice(["right", "bottom", "top"])
        if edge == "right":
            cx, cy = page.width - spec.width_mm * rng.uniform(0.0, 0.2), anchors["corner"][1] - rng.uniform(0, 60)
        elif edge == "bottom":
            cx, cy = rng.uniform(40, page.width - 40), page.height - spec.height_mm * rng.uniform(0.0, 0.2)
        else:
            cx, cy = page.width * rng.uniform(0.55, 0.85), spec.height_mm * rng.uniform(0.0, 0.2)
    else:
        ax, ay = anchors[where]
        cx, cy = ax + rng.uniform(-8, 8), ay + rng.uniform(-6, 6)
    share = stamps.visible_share(spec.width_mm, spec.height_mm, cx, cy, page.width, page.height)
    page.seals.append(Seal(cx, cy, spec, where))
    page.notes.append(f"seal {spec.label} {spec.shape} at {where} ({share:.0%} on the page)")
