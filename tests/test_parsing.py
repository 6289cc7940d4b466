"""Parsing of uploaded files into pages of text, on real documents generated at test time."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from docx import Document as WordDocument
from fpdf import FPDF
from tests.documents import make_pdf

from homeport.retrieval import _office
from homeport.retrieval.parsing import (
    SUPPORTED_EXTENSIONS,
    Document,
    Page,
    UnreadableFile,
    model_text,
    parse_document,
)

A = "http://schemas.openxmlformats.org/drawingml/2006/main"
P = "http://schemas.openxmlformats.org/presentationml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"


def make_docx() -> bytes:
    document = WordDocument()
    document.add_heading("Quarterly Report", level=1)
    document.add_paragraph("Revenue grew in every region.")
    paragraph = document.add_paragraph("Tab\there")
    paragraph.add_run().add_break()
    paragraph.add_run("after the break")
    table = document.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [("Region", "Sales"), ("North", "42")], strict=True):
        for cell, value in zip(row.cells, cells, strict=True):
            cell.text = value
    document.add_paragraph("Closing words.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def slide_xml(*paragraphs: str, table: list[list[str]] | None = None) -> str:
    """A slide with one text box (one a:p per paragraph) and optionally a table."""
    runs = "".join(f"<a:p><a:r><a:t>{text}</a:t></a:r></a:p>" for text in paragraphs)
    frame = ""
    if table:
        cell = "<a:tc><a:txBody><a:p><a:r><a:t>{}</a:t></a:r></a:p></a:txBody></a:tc>"
        rows = "".join("<a:tr>" + "".join(cell.format(c) for c in row) + "</a:tr>" for row in table)
        frame = f"<p:graphicFrame><a:graphic><a:graphicData><a:tbl>{rows}</a:tbl></a:graphicData></a:graphic>"
        frame += "</p:graphicFrame>"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><p:sld xmlns:a="{A}" xmlns:p="{P}" xmlns:r="{R}"><p:cSld><p:spTree>'
        f"<p:sp><p:txBody><a:bodyPr/><a:p><a:pPr><a:tabLst><a:tab pos='1'/></a:tabLst></a:pPr></a:p>{runs}"
        f"</p:txBody></p:sp>{frame}</p:spTree></p:cSld></p:sld>"
    )


def make_pptx(slides: dict[str, str], order: list[str] | None = None) -> bytes:
    """A minimal .pptx: slide parts, plus presentation.xml and its rels listing `order` when given."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        for name, xml in slides.items():
            package.writestr(f"ppt/slides/{name}", xml)
        if order is not None:
            ids = "".join(f'<p:sldId id="{256 + i}" r:id="rId{i + 1}"/>' for i in range(len(order)))
            package.writestr(
                "ppt/presentation.xml",
                f'<p:presentation xmlns:p="{P}" xmlns:r="{R}"><p:sldIdLst>{ids}</p:sldIdLst></p:presentation>',
            )
            rels = "".join(
                f'<Relationship Id="rId{i + 1}" Type="{R}/slide" Target="slides/{name}"/>'
                for i, name in enumerate(order)
            )
            package.writestr("ppt/_rels/presentation.xml.rels", f'<Relationships xmlns="{RELS}">{rels}</Relationships>')
    return buffer.getvalue()


def test_pdf_has_one_page_per_pdf_page() -> None:
    document = parse_document(make_pdf(["First page text.", "", "Third page, café."]), "report.pdf")
    assert [page.number for page in document.pages] == [1, 2, 3]
    assert document.pages[0].text == "First page text."
    assert document.pages[1].text == ""
    assert document.pages[2].text == "Third page, café."
    assert document.text == "First page text.\n\n\n\nThird page, café."


def test_long_pdf_text_wraps_onto_lines_of_its_page() -> None:
    sentence = "The committee approved the budget for the new library. "
    document = parse_document(make_pdf([sentence * 30, "Appendix"]), "minutes.PDF")
    assert len(document.pages) == 2
    assert document.pages[0].text.count("committee") == 30
    assert "\n" in document.pages[0].text  # fpdf2 wraps lines; pypdf reads each as a line
    assert document.pages[1].text == "Appendix"


@pytest.mark.parametrize(
    "data",
    [b"not a pdf at all", b"%PDF-1.4\n1 0 obj << /Type /Catalog", make_pdf(["Truncated"])[:300]],
    ids=["garbage", "header-only", "truncated"],
)
def test_corrupt_pdf_is_unreadable(data: bytes) -> None:
    with pytest.raises(UnreadableFile, match="^PDF could not be parsed: ") as caught:
        parse_document(data, "broken.pdf")
    assert caught.value.code == "invalid_file"


def encrypted_pdf(user_password: str | None = None) -> bytes:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 8, "Locked text")
    pdf.set_encryption(owner_password="owner", user_password=user_password)
    return bytes(pdf.output())


def test_pdf_locked_only_against_editing_is_read() -> None:
    assert parse_document(encrypted_pdf(), "locked.pdf").text == "Locked text"


def test_pdf_with_a_user_password_is_unreadable() -> None:
    with pytest.raises(UnreadableFile, match="^PDF is password-protected$"):
        parse_document(encrypted_pdf(user_password="secret"), "secret.pdf")


def test_pdf_without_text_is_unreadable() -> None:
    with pytest.raises(UnreadableFile, match="No text could be extracted"):
        parse_document(make_pdf(["", ""]), "scan.pdf")


def test_docx_paragraphs_breaks_and_table_rows() -> None:
    document = parse_document(make_docx(), "report.docx")
    assert len(document.pages) == 1
    assert document.text.split("\n") == [
        "Quarterly Report",
        "Revenue grew in every region.",
        "Tab\there",
        "after the break",
        "Region | Sales",
        "North | 42",
        "Closing words.",
    ]


def test_docx_that_is_not_a_zip_is_unreadable() -> None:
    with pytest.raises(UnreadableFile, match="^DOCX could not be parsed: "):
        parse_document(b"PK\x03\x04 but not really", "letter.docx")


def test_docx_without_document_part_is_unreadable() -> None:
    with pytest.raises(UnreadableFile, match="missing part word/document.xml"):
        parse_document(make_pptx({"slide1.xml": slide_xml("x")}), "renamed.docx")


def test_docx_over_the_xml_budget_is_unreadable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_office, "MAX_XML_BYTES", 4096)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("word/document.xml", "<w:document>" + " " * 10**6 + "</w:document>")
    assert len(buffer.getvalue()) < 4096  # a small file that inflates past the budget
    with pytest.raises(UnreadableFile, match="exceeds"):
        parse_document(buffer.getvalue(), "bomb.docx")


def test_docx_with_doctype_is_unreadable() -> None:
    buffer = io.BytesIO()
    xml = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e "boom">]><document><p><t>&e;</t></p></document>'
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("word/document.xml", xml)
    with pytest.raises(UnreadableFile, match="DOCTYPE"):
        parse_document(buffer.getvalue(), "entities.docx")


def test_pptx_has_one_page_per_slide_in_presentation_order() -> None:
    slides = {
        "slide1.xml": slide_xml("Agenda", "Budget"),
        "slide2.xml": slide_xml("Welcome to the review"),
        "slide3.xml": slide_xml(),
        "slide4.xml": slide_xml("Numbers", table=[["Q1", "10"], ["Q2", "12"]]),
    }
    data = make_pptx(slides, order=["slide2.xml", "slide1.xml", "slide3.xml", "slide4.xml"])
    document = parse_document(data, "deck.pptx")
    assert document.pages == (
        Page(1, "Welcome to the review"),
        Page(2, "Agenda\nBudget"),
        Page(3, ""),
        Page(4, "Numbers\nQ1 | 10\nQ2 | 12"),
    )


def test_pptx_without_presentation_part_uses_numeric_slide_order() -> None:
    slides = {f"slide{n}.xml": slide_xml(f"Slide number {n}") for n in (10, 2, 1)}
    document = parse_document(make_pptx(slides), "deck.pptx")
    assert [page.text for page in document.pages] == ["Slide number 1", "Slide number 2", "Slide number 10"]


def test_html_keeps_visible_text_and_block_structure() -> None:
    markup = """<!DOCTYPE html><html><head><title>Hidden title</title><style>p { color: red }</style></head>
    <body><script>var secret = "<p>not text</p>";</script>
    <h1>Fish &amp; Chips</h1><p>Caf&eacute;   prices
    are <b>low</b>&nbsp;today.</p><ul><li>One</li><li>Two</li></ul>
    <table><tr><th>Item</th><th>Price</th></tr><tr><td>Cod</td><td>&#36;9</td></tr></table>
    <pre>  indented
    code</pre></body></html>"""
    text = parse_document(markup.encode(), "page.html").text
    assert "secret" not in text and "color" not in text and "Hidden title" not in text
    assert text.split("\n") == [
        "Fish & Chips",
        "",
        "Café prices are low\xa0today.",
        "",
        "One",
        "Two",
        "",
        "Item | Price",
        "Cod | $9",
        "",
        "  indented",
        "    code",
    ]


def test_html_with_unclosed_head_keeps_the_body() -> None:
    text = parse_document(b"<html><head><title>t</title><body><p>Body text</p>", "page.html").text
    assert text == "Body text"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig"])
def test_text_with_a_bom_is_decoded(encoding: str) -> None:
    data = "Grüße aus Köln\r\nzweite Zeile 日本".encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    assert parse_document(data, "notes.txt").text == "Grüße aus Köln\nzweite Zeile 日本"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_bomless_utf16_is_detected_by_its_nul_pattern(encoding: str) -> None:
    assert parse_document("plain old text, über".encode(encoding), "notes.md").text == "plain old text, über"


@pytest.mark.parametrize(
    "data",
    ["café crème".encode("latin-1"), b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"ELF\x00\x01\x02\x03"],
    ids=["latin-1", "png", "nul-bytes"],
)
def test_non_text_bytes_are_unreadable(data: bytes) -> None:
    with pytest.raises(UnreadableFile, match="^File is not valid UTF-8, UTF-16 or ASCII text$"):
        parse_document(data, "notes.txt")


def test_code_keeps_indentation_and_normalises_newlines() -> None:
    source = b"\n\ndef f():\r\n    return 1\r\n\r\n\r\n"
    assert parse_document(source, "module.py").text == "def f():\n    return 1"


def test_json_is_kept_as_written() -> None:
    data = json.dumps({"name": "Ünïcode", "items": [1, 2]}, indent=2, ensure_ascii=False).encode()
    assert parse_document(data, "data.json").text == data.decode()


@pytest.mark.parametrize("filename", ["Makefile", "C:\\Users\\me\\README", ".bashrc"])
def test_filename_without_extension_is_read_as_text(filename: str) -> None:
    assert parse_document(b"all: build", filename).text == "all: build"


@pytest.mark.parametrize("filename", ["photo.png", "sheet.xlsx", "archive.tar.gz"])
def test_unsupported_extension_is_refused_even_if_text(filename: str) -> None:
    extension = "." + filename.rsplit(".", 1)[1]
    with pytest.raises(UnreadableFile, match=f"^The file type {extension} is not supported$") as caught:
        parse_document(b"plain text", filename)
    assert caught.value.code == "unsupported_file"


def test_legacy_doc_asks_for_docx() -> None:
    with pytest.raises(UnreadableFile, match=r"\.docx") as caught:
        parse_document(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.DOC")
    assert caught.value.code == "unsupported_file"


@pytest.mark.parametrize("data", [b"", b"  \n\t\r\n"])
def test_empty_text_is_unreadable(data: bytes) -> None:
    with pytest.raises(UnreadableFile, match="^No text could be extracted$"):
        parse_document(data, "empty.txt")


def test_supported_extensions_match_openai_file_search() -> None:
    openai = ".c .cpp .cs .css .doc .docx .go .html .java .js .json .md .pdf .php .pptx .py .rb .sh .tex .ts .txt"
    assert set(openai.split()) - {".doc"} <= SUPPORTED_EXTENSIONS
    assert SUPPORTED_EXTENSIONS - set(openai.split()) == {".csv"}


def test_model_text_marks_pages_only_when_there_are_several() -> None:
    single = Document((Page(1, "Just one page."),))
    assert model_text(single, "note.txt") == "File: note.txt\n\nJust one page."
    several = Document((Page(1, "Intro"), Page(2, ""), Page(3, "Line 1\n\nLine 2")))
    assert model_text(several, "deck.pptx") == (
        "File: deck.pptx\n\n--- page 1 ---\nIntro\n\n--- page 2 ---\n\n--- page 3 ---\nLine 1\n\nLine 2"
    )
