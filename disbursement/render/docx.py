"""The memo's block list → a Decree 30/2020 .docx (python-docx).

A4 portrait; Times New Roman 14 pt (Vietnamese language tag); margins top/bottom 20 mm, left
30 mm, right 15 mm; page numbers centred at the top from page 2 (a PAGE field in the header of
every page but the first); side-by-side blocks as borderless tables that do not split across
pages; short rules as the bottom border of an indented empty paragraph. Core properties come
from the memo date, never the clock; the caller normalises the zip (files.normalise_zip).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import os

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, Twips

from disbursement.render.memo import Columns, Image, Para, Rule

FONT = "Times New Roman"
BODY_PT = 14
PAGE = {"width": 210, "height": 297, "top": 20, "bottom": 20, "left": 30, "right": 15}
FIRST_LINE_INDENT_MM = 10
CELL_MARGIN_MM = 1.0
_ALIGN = {
    "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
    "center": WD_ALIGN_PARAGRAPH.CENTER,
    "left": WD_ALIGN_PARAGRAPH.LEFT,
    "right": WD_ALIGN_PARAGRAPH.RIGHT,
}


def _set_run_fonts(rpr, lang_tag: str) -> None:
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), lang_tag)


def _twips(mm: float) -> Twips:
    """Word stores margins in twips; round up so 15 mm never reads back as 14,99 mm."""
    return Twips(math.ceil(mm * 1440 / 25.4))


def _setup(doc, lang_tag: str) -> None:
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    _set_run_fonts(normal.element.get_or_add_rPr(), lang_tag)
    fmt = normal.paragraph_format
    fmt.space_before = Pt(6)
    fmt.space_after = Pt(0)
    fmt.line_spacing = 1.0
    fmt.widow_control = True
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(PAGE["width"]), Mm(PAGE["height"])
    section.top_margin, section.bottom_margin = _twips(PAGE["top"]), _twips(PAGE["bottom"])
    section.left_margin, section.right_margin = _twips(PAGE["left"]), _twips(PAGE["right"])
    section.header_distance, section.footer_distance = Mm(10), Mm(10)
    section.different_first_page_header_footer = True
    _page_number(section.header.paragraphs[0])


def _page_number(paragraph) -> None:
    """A centred PAGE field; the first page has its own (empty) header."""
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.space_before = Pt(0)
    for kind, text in (
        ("begin", None),
        (None, " PAGE "),
        ("separate", None),
        (None, "2"),
        ("end", None),
    ):
        run = paragraph.add_run()
        run.font.size = Pt(BODY_PT)
        if kind is not None:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)
        elif text == " PAGE ":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
        else:
            run.text = text


def _para(container, block: Para, width_mm: float):
    paragraph = container.add_paragraph()
    fmt = paragraph.paragraph_format
    fmt.alignment = _ALIGN[block.align]
    fmt.first_line_indent = Mm(FIRST_LINE_INDENT_MM) if block.indent else Mm(0)
    if block.before is not None:
        fmt.space_before = Pt(block.before)
    if block.after is not None:
        fmt.space_after = Pt(block.after)
    if block.keep_next:
        fmt.keep_with_next = True
    run = paragraph.add_run(block.text)
    run.bold = block.bold or None
    run.italic = block.italic or None
    if block.size is not None:
        run.font.size = Pt(block.size)
    return paragraph


def _rule(container, block: Rule, width_mm: float):
    """An empty 1-pt paragraph indented to `width_mm`, centred, with a bottom border."""
    paragraph = container.add_paragraph()
    fmt = paragraph.paragraph_format
    side = max(0.0, (width_mm - block.width_mm) / 2)
    fmt.left_indent = fmt.right_indent = Mm(side)
    fmt.first_line_indent = Mm(0)
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    fmt.line_spacing = Pt(2)
    run = paragraph.add_run()
    run.font.size = Pt(1)
    ppr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    # pBdr must precede spacing/ind/jc in CT_PPr's sequence.
    anchor = next((child for child in ppr if child.tag in _PPR_AFTER_BORDER), None)
    if anchor is not None:
        anchor.addprevious(borders)
    else:
        ppr.append(borders)
    return paragraph


_PPR_AFTER_BORDER = {
    qn(tag)
    for tag in (
        "w:shd",
        "w:tabs",
        "w:suppressAutoHyphens",
        "w:kinsoku",
        "w:wordWrap",
        "w:overflowPunct",
        "w:topLinePunct",
        "w:autoSpaceDE",
        "w:autoSpaceDN",
        "w:bidi",
        "w:adjustRightInd",
        "w:snapToGrid",
        "w:spacing",
        "w:ind",
        "w:contextualSpacing",
        "w:mirrorIndents",
        "w:suppressOverlap",
        "w:jc",
        "w:textDirection",
        "w:textAlignment",
        "w:textboxTightWrap",
        "w:outlineLvl",
        "w:divId",
        "w:cnfStyle",
        "w:rPr",
        "w:sectPr",
        "w:pPrChange",
    )
}


def _image(container, block: Image, images: dict[str, bytes]):
    paragraph = container.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.first_line_indent = Mm(0)
    paragraph.paragraph_format.keep_with_next = True
    paragraph.add_run().add_picture(io.BytesIO(images[block.name]), width=Mm(block.width_mm))
    return paragraph


def _no_borders(table) -> None:
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    tbl_pr.append(borders)
    margins = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:w"), str(int(CELL_MARGIN_MM * 56.7)))
        element.set(qn("w:type"), "dxa")
        margins.append(element)
    tbl_pr.append(margins)


def _columns(doc, block: Columns, images: dict[str, bytes]) -> None:
    table = doc.add_table(rows=1, cols=len(block.widths_mm))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _no_borders(table)
    row = table.rows[0]
    tr_pr = row._tr.get_or_add_trPr()
    tr_pr.append(OxmlElement("w:cantSplit"))
    for column, width in zip(table.columns, block.widths_mm, strict=True):
        column.width = Mm(width)
    for cell, width, blocks in zip(row.cells, block.widths_mm, block.cells, strict=True):
        cell.width = Mm(width)
        first = cell.paragraphs[0]
        _add_blocks(cell, blocks, width - 2 * CELL_MARGIN_MM, images)
        first._p.getparent().remove(first._p)
        if not cell.paragraphs:
            cell.add_paragraph()


def _add_blocks(container, blocks, width_mm: float, images) -> None:
    for block in blocks:
        if isinstance(block, Para):
            _para(container, block, width_mm)
        elif isinstance(block, Rule):
            _rule(container, block, width_mm)
        elif isinstance(block, Image):
            _image(container, block, images)
        elif isinstance(block, Columns):
            _columns(container, block, images)
        else:  # pragma: no cover - the collector makes only these
            raise TypeError(f"unknown memo block {block!r}")


def write_docx(
    blocks: list,
    path: str | os.PathLike,
    *,
    title: str,
    author: str,
    date: dt.date,
    lang: str,
    images: dict[str, bytes],
) -> None:
    doc = Document()
    _setup(doc, "vi-VN" if lang == "vi" else "en-GB")
    body = doc.element.body
    for paragraph in list(doc.paragraphs):
        body.remove(paragraph._p)
    text_width = PAGE["width"] - PAGE["left"] - PAGE["right"]
    _add_blocks(doc, blocks, text_width, images)
    stamp = dt.datetime(date.year, date.month, date.day, 8, 0, 0)
    props = doc.core_properties
    props.title = title
    props.author = author
    props.last_modified_by = author
    props.subject = ""
    props.keywords = ""
    props.comments = ""
    props.category = ""
    props.created = stamp
    props.modified = stamp
    props.last_printed = stamp
    props.revision = 1
    doc.save(str(path))
