"""The season report as a PDF: charts of submissions per day and per city, and the totals tables.

Drawn with reportlab in a Chinese TrueType font from the system (``FONTS``), embedded as
a subset so the file reads the same on any machine and its text can be searched and
copied. The figures are ``ledger.season``'s, the same as the dashboard's; the tables are
the workbook's rows (``ledger.season_workbook``).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from pathlib import Path

from config.profile import Profile
from ledger.export import DECISION_LABELS, _local
from ledger.season import Season, SeasonReportError, WindowDays, days_by_window
from ledger.season_workbook import DECISIONS, certificate_rows, city_rows, headers, step_rows, window_rows
from templates import say, text

# TrueType (glyf) Chinese fonts, first found wins: reportlab cannot embed the CFF outlines of
# Noto CJK. Debian packages: fonts-wqy-zenhei, fonts-wqy-microhei, fonts-arphic-gbsn00lp, fonts-lxgw-wenkai.
FONTS = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf", 0),
    ("/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf", 0),
)
FONT = "SeasonCJK"
COLOURS = {"accepted": "#2e7d32", "rejected": "#c62828", "review": "#ef8f00"}
BAR, MUTED = "#4a78b5", "#666666"


class NoChineseFont(SeasonReportError):
    def __init__(self) -> None:
        super().__init__("no TrueType Chinese font found (tried: " + ", ".join(p for p, _ in FONTS)
                         + "); install one, e.g. apt-get install fonts-wqy-zenhei")


def register_font() -> str:
    """Register the first Chinese TrueType font found under ``FONT``; ``NoChineseFont`` when none is."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT in pdfmetrics.getRegisteredFontNames():
        return FONT
    for path, index in FONTS:
        if Path(path).is_file():
            pdfmetrics.registerFont(TTFont(FONT, path, subfontIndex=index))
            return FONT
    raise NoChineseFont()


def _styles():
    from reportlab.lib.styles import ParagraphStyle

    base = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=13, wordWrap="CJK")
    return {"body": base,
            "title": ParagraphStyle("title", parent=base, fontSize=17, leading=24, spaceAfter=4),
            "h2": ParagraphStyle("h2", parent=base, fontSize=12, leading=18, spaceBefore=10, spaceAfter=4),
            "muted": ParagraphStyle("muted", parent=base, fontSize=8, leading=11, textColor=MUTED),
            "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9.5)}


def _table(titles: tuple[str, ...], rows: list[tuple], widths: list[float], total_row: bool = False):
    """A table whose header repeats on every page; cells wrap (Chinese wraps anywhere)."""
    from reportlab.lib import colors
    from reportlab.platypus import Paragraph, Table, TableStyle

    cell = _styles()["cell"]
    data = [[Paragraph(t, cell) for t in titles]]
    data += [[Paragraph(_cell(v), cell) if isinstance(v, str) else _cell(v) for v in row] for row in rows]
    table = Table(data, colWidths=widths, repeatRows=1)
    style = [("FONT", (0, 0), (-1, -1), FONT, 7.5), ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
             ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDEBF7")), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
             ("ALIGN", (1, 1), (-1, -1), "RIGHT")]
    if total_row and rows:
        style.append(("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#F2F2F2")))
    table.setStyle(TableStyle(style))
    return table


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return str(value)


def _day_chart(window: WindowDays, width: float, height: float = 150):
    """Bars per day of one window with counts above them: the dashboard's chart, on paper."""
    from reportlab.graphics.shapes import Drawing, Line, Rect, String
    from reportlab.lib import colors

    drawing = Drawing(width, height, initialFontName=FONT, initialFontSize=8)
    left, bottom, top_pad = 6, 22, 16
    points = window.days
    top = max(1, max(n for _, n in points))
    slot = (width - 2 * left) / len(points)
    bar = max(2.0, slot * 0.7)
    scale = (height - bottom - top_pad) / top
    every = max(1, round(len(points) / 12))
    drawing.add(Line(left, bottom, width - left, bottom, strokeColor=colors.HexColor("#999999"), strokeWidth=0.6))
    for i, (day, n) in enumerate(points):
        x = left + i * slot + (slot - bar) / 2
        if n:
            drawing.add(Rect(x, bottom, bar, n * scale, fillColor=colors.HexColor(BAR), strokeColor=None))
            drawing.add(String(x + bar / 2, bottom + n * scale + 3, str(n), fontName=FONT, fontSize=7,
                               textAnchor="middle"))
        if i % every == 0:
            drawing.add(String(x + bar / 2, bottom - 11, f"{day:%m-%d}", fontName=FONT, fontSize=6.5,
                               textAnchor="middle", fillColor=colors.HexColor(MUTED)))
    return drawing


def _city_chart(season: Season, width: float):
    """One bar per city, stacked by decision (通过, 退回, 待审核), with its total at the end."""
    from reportlab.graphics.shapes import Drawing, Rect, String
    from reportlab.lib import colors

    cities = season.tallies.by_city
    row, label_w, legend_h = 16, 70, 18
    height = legend_h + row * max(1, len(cities)) + 4
    drawing = Drawing(width, height, initialFontName=FONT, initialFontSize=8)
    top = max(1, max((sum(c.values()) for _, c in cities), default=1))
    scale = (width - label_w - 30) / top
    for i, decision in enumerate(DECISIONS):  # legend
        x = label_w + i * 70
        drawing.add(Rect(x, height - 11, 9, 9, fillColor=colors.HexColor(COLOURS[decision]), strokeColor=None))
        drawing.add(String(x + 12, height - 10, DECISION_LABELS[decision], fontName=FONT, fontSize=8))
    for i, (city, counts) in enumerate(cities):
        y = height - legend_h - (i + 1) * row + 3
        drawing.add(String(label_w - 4, y + 3, city, fontName=FONT, fontSize=8, textAnchor="end"))
        x = label_w
        for decision in DECISIONS:
            n = counts.get(decision, 0)
            if n:
                drawing.add(Rect(x, y, n * scale, row - 5, fillColor=colors.HexColor(COLOURS[decision]),
                                 strokeColor=None))
                x += n * scale
        drawing.add(String(x + 3, y + 3, str(sum(counts.values())), fontName=FONT, fontSize=8))
    return drawing


def write_pdf(season: Season, profile: Profile, path: Path, made_at: datetime) -> int:
    """Write the report; returns its number of pages."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    register_font()
    styles = _styles()
    zone = profile.timezone
    title = say("report.title", province=profile.province, year=season.year)
    doc = SimpleDocTemplate(str(path), pagesize=A4, leftMargin=16 * mm, rightMargin=16 * mm, topMargin=14 * mm,
                            bottomMargin=14 * mm, title=title, author=profile.office, lang="zh-CN",
                            initialFontName=FONT, initialFontSize=9)  # no unembedded Helvetica
    width = doc.width
    t = season.tallies
    story = [
        Paragraph(title, styles["title"]),
        Paragraph(say("report.subtitle", office=profile.office, time=_local(made_at, zone)), styles["muted"]),
        Paragraph(say("report.figures", units=season.units_total, messages=season.messages_total,
                      submissions=t.submissions, accepted=t.by_decision.get("accepted", 0),
                      rejected=t.by_decision.get("rejected", 0), review=t.by_decision.get("review", 0),
                      planned=sum(c.planned_total for c in season.cities), increases=season.increases),
                  styles["body"]),
        Paragraph(text("report.counting"), styles["muted"]),
        Paragraph(text("report.section.days"), styles["h2"]),
    ]
    windows, outside = days_by_window(t, profile)
    for window in windows:
        count = sum(n for _, n in window.days)
        story.append(Paragraph(say("report.chart.window", window=window.label, count=count), styles["body"]))
        if count:  # a window without submissions (or still to come) is one line, not an empty chart
            story.append(_day_chart(window, width))
    if outside:
        story.append(Paragraph(say("report.chart.outside", count=outside), styles["muted"]))
    story += [Paragraph(text("report.section.cities"), styles["h2"]), _city_chart(season, width), Spacer(1, 6)]
    city_titles = headers("cities", season)
    story.append(_table(city_titles, city_rows(season), _widths(width, len(city_titles), first=70), total_row=True))
    story += [Paragraph(text("report.section.windows"), styles["h2"]),
              _table(headers("windows"), window_rows(season), _widths(width, 5, first=110, second=190))]
    cert_titles = headers("certificates", season)
    story += [Paragraph(text("report.section.certificates"), styles["h2"]),
              _table(cert_titles, certificate_rows(season), _widths(width, len(cert_titles), first=170),
                     total_row=True)]
    story += [Paragraph(text("report.section.increases"), styles["h2"])]
    steps = step_rows(season, zone)
    if steps:
        # 邮件收到时间, 单位名称, 证书名称, 级别, 原批准人数, 调整后人数, 操作者 of the workbook's 调增记录
        short = [(r[0], r[3], r[4], r[5], r[6], r[7], r[9]) for r in steps]
        fixed = [72, 100, 130, 32, 50, 50]
        story.append(_table(headers("increases.short"), short, [*fixed, width - sum(fixed)]))
    else:
        story.append(Paragraph(text("report.no_increases"), styles["body"]))
    pages = []
    doc.build(story, onLaterPages=partial(_footer, title, pages), onFirstPage=partial(_footer, title, pages))
    return len(pages)


def _widths(width: float, columns: int, first: float, second: float | None = None) -> list[float]:
    fixed = [first] + ([second] if second else [])
    rest = (width - sum(fixed)) / (columns - len(fixed))
    return fixed + [rest] * (columns - len(fixed))


def _footer(title: str, pages: list[int], canvas, doc) -> None:
    from reportlab.lib.units import mm

    pages.append(doc.page)
    canvas.saveState()
    canvas.setFont(FONT, 7.5)
    canvas.setFillColor(MUTED)
    canvas.drawRightString(doc.pagesize[0] - doc.rightMargin, 8 * mm,
                           say("report.page", title=title, page=doc.page))
    canvas.restoreState()
