"""Real documents made at test time: a multi-page PDF (fpdf2), a Word file (python-docx), an HTML page."""

from __future__ import annotations

import io
from collections.abc import Sequence

from docx import Document as WordDocument
from fpdf import FPDF


def make_pdf(pages: Sequence[str]) -> bytes:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def make_docx(paragraphs: Sequence[str], heading: str = "Report") -> bytes:
    document = WordDocument()
    document.add_heading(heading, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_html(title: str, paragraphs: Sequence[str]) -> bytes:
    body = "".join(f"<p>{text}</p>" for text in paragraphs)
    return (
        f"<!doctype html><html><head><title>{title}</title><style>p {{ color: red; }}</style></head>"
        f"<body><h1>{title}</h1><script>var hidden = 'script text';</script>{body}</body></html>"
    ).encode()
