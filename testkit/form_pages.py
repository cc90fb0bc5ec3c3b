"""Pages schools send around the form itself, drawn with the form renderer's layout and PDF code.

A school often scans everything it has into one PDF: the cover letter (报送公函) that
names the form, the notice's 附件1 page — the form's title over the template table
exactly as the notice prints it, every row empty — and then the filled, stamped form.
The reader classifies all three as the form (the first two by the title words they
carry); only the last holds a line.
"""

from __future__ import annotations

import io
from dataclasses import replace

from testkit.forms import (
    INCREASE_HEADERS,
    PAGE_H,
    PAGE_W,
    SUMMARY_HEADERS,
    FormSpec,
    Layout,
    Row,
    Text,
    draw_page,
    layout,
    pdf_font,
)

SUMMARY_TITLE = "安徽省 1+X 职业技能等级证书申报学校汇总表"
INCREASE_TITLE = "安徽省 1+X 职业技能等级证书指标调增申请表"


def summary_spec(unit: str, rows: list[tuple[str, str, int]], total: int | None = None) -> FormSpec:
    """A filled 申报学校汇总表: ``rows`` of (certificate, level, count); the total is their sum unless given."""
    return FormSpec("summary", SUMMARY_TITLE, unit, SUMMARY_HEADERS,
                    tuple(Row(c, c + "职业技能等级证书", level, (n,)) for c, level, n in rows),
                    total=sum(n for _, _, n in rows) if total is None else total)


def increase_spec(unit: str, rows: list[tuple[str, str, int, int]]) -> FormSpec:
    return FormSpec("increase", INCREASE_TITLE, unit, INCREASE_HEADERS,
                    tuple(Row(c, c, level, (old, new)) for c, level, old, new in rows))


def cover_letter(unit: str, form_name: str = "申报学校汇总表") -> Layout:
    """A school's 报送公函: text only, naming the form it sends."""
    texts = (
        Text(PAGE_W / 2, 30, f"{unit}关于报送2025年1+X证书申报材料的函", 6.0, "m", bold=True),
        Text(20, 50, "安徽省1+X证书制度试点工作办公室：", 4.2),
        Text(28, 62, "根据通知要求，现将我校2025年1+X证书申报材料报送贵办，请予审核。", 4.2),
        Text(20, 80, f"附件：1. {form_name}", 4.2),
        Text(PAGE_W - 20, 110, unit, 4.2, "r"),
        Text(PAGE_W - 20, 120, "2025年3月20日", 4.2, "r"),
    )
    return Layout(PAGE_W, PAGE_H, texts, (), None)


def empty_template(kind: str = "summary", rows: int = 8) -> Layout:
    """The notice's 附件1 page: "附件1", the form's title, the template table with every row empty."""
    title = SUMMARY_TITLE if kind == "summary" else INCREASE_TITLE
    headers = SUMMARY_HEADERS if kind == "summary" else INCREASE_HEADERS
    spec = FormSpec(kind, title, "", headers, (), total=None, blank_rows=rows, contact="", date="年    月    日")
    page = layout(spec, seal_at="none")
    # The template's 合计 cell is empty (``layout`` writes the total as text: drop "None").
    texts = [t for t in page.texts if t.text != "None"]
    title_text = texts[0]
    texts[0] = replace(title_text, y=title_text.y + 6)
    texts.insert(0, Text(20, 16, "附件1", 4.6, "l", bold=True))
    return replace(page, texts=tuple(texts))


def filled(spec: FormSpec, seal_at: str = "unit") -> Layout:
    return layout(spec, seal_at=seal_at)


def pdf_of(pages: list[Layout]) -> bytes:
    """A text-layer PDF of ``pages`` (the renderer's ``render_pdf``, for any layout)."""
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    font = pdf_font()
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=(PAGE_W * mm, PAGE_H * mm), invariant=1)
    for page in pages:
        draw_page(pdf, page, font)
    pdf.save()
    return buf.getvalue()


DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def word_document(text: str) -> bytes:
    """A minimal real .docx (what a school attaches as a meeting receipt)."""
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/'
            'document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.'
            'main+xml"/></Types>'))
        archive.writestr("word/document.xml", (
            '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
            f'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>'))
    return buf.getvalue()
