"""Uploaded files to text: what file_search indexes and what a chat model reads for an `input_file`.

The accepted types follow OpenAI's file_search list (plus .csv), and text must be UTF-8, UTF-16 or ASCII, as on the
platform. Everything else fails with `UnreadableFile`, whose message is shown to the user (a vector store file's
`last_error`, a 400), so it names the problem in plain words.

Formats: PDF through pypdf, one `Page` per PDF page; .docx and .pptx through the standard library (`_office`), one
page per slide; HTML through `_html`; everything else is decoded as text. Legacy binary .doc is refused with a hint
to convert it: reading it would need a heavy dependency for a format Word stopped writing in 2007.
"""

from __future__ import annotations

import codecs
import posixpath
import re
from dataclasses import dataclass
from io import BytesIO
from typing import Literal

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from homeport.retrieval._html import html_to_text
from homeport.retrieval._office import OfficeError, docx_pages, pptx_pages

__all__ = [
    "PAGE_SEPARATOR",
    "SUPPORTED_EXTENSIONS",
    "Document",
    "Page",
    "UnreadableFile",
    "decode_text",
    "model_text",
    "parse_document",
]

PAGE_SEPARATOR = "\n\n"
"""What `Document.text` puts between pages; chunking relies on it to map character offsets back to pages."""

_TEXT_EXTENSIONS = frozenset(
    {".c", ".cpp", ".cs", ".css", ".csv", ".go", ".java", ".js", ".json", ".md", ".php", ".py", ".rb", ".sh", ".tex"}
    | {".ts", ".txt"}
)
SUPPORTED_EXTENSIONS: frozenset[str] = _TEXT_EXTENSIONS | {".docx", ".html", ".pdf", ".pptx"}
"""Extensions `parse_document` reads (lowercase, with the dot). OpenAI also lists .doc, which we refuse with a hint."""

_NOT_TEXT = "File is not valid UTF-8, UTF-16 or ASCII text"
_NEWLINES = re.compile(r"\r\n?")
_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t\f\v]*\n)+")


@dataclass(frozen=True)
class Page:
    """The text of one page: a PDF page or a pptx slide; other formats are a single page."""

    number: int
    """1-based, as a reader would cite it."""
    text: str


@dataclass(frozen=True)
class Document:
    """A parsed file: its pages in order (empty pages kept, so numbers match the original)."""

    pages: tuple[Page, ...]

    @property
    def text(self) -> str:
        """All pages joined by `PAGE_SEPARATOR` (a blank line)."""
        return PAGE_SEPARATOR.join(page.text for page in self.pages)


class UnreadableFile(Exception):
    """The file cannot be turned into text. `str(exc)` is user-facing; `code` is OpenAI's `last_error.code`."""

    def __init__(self, message: str, *, code: Literal["unsupported_file", "invalid_file"] = "invalid_file") -> None:
        super().__init__(message)
        self.code = code


def parse_document(data: bytes, filename: str) -> Document:
    """Parse `data` by the extension of `filename`; a name without an extension is read as text.

    Raises `UnreadableFile` for unsupported types, undecodable or corrupt content, and files without any text.
    """
    extension = _extension(filename)
    if extension == ".doc":
        raise UnreadableFile(
            "Legacy .doc files cannot be read; save the document as .docx and upload that", code="unsupported_file"
        )
    if extension and extension not in SUPPORTED_EXTENSIONS:
        raise UnreadableFile(f"The file type {extension} is not supported", code="unsupported_file")
    texts = _page_texts(data, extension)
    pages = tuple(Page(number, _tidy(text)) for number, text in enumerate(texts, start=1))
    if not any(page.text for page in pages):
        raise UnreadableFile("No text could be extracted")
    return Document(pages)


def model_text(document: Document, filename: str) -> str:
    """How a document is shown to a chat model as an `input_file`: a header naming the file, then its text.

    Page markers appear only for multi-page documents, so a model can cite "page 3" the way a reader would.
    """
    header = f"File: {filename}"
    if len(document.pages) == 1:
        return f"{header}\n\n{document.pages[0].text}"
    sections = (f"--- page {page.number} ---\n{page.text}".rstrip("\n") for page in document.pages)
    return f"{header}\n\n" + "\n\n".join(sections)


def _extension(filename: str) -> str:
    """Lowercase extension with its dot, '' if none; browsers on Windows may send a full path with backslashes."""
    basename = filename.replace("\\", "/").rpartition("/")[2]
    return posixpath.splitext(basename)[1].lower()


def _page_texts(data: bytes, extension: str) -> list[str]:
    if extension == ".pdf":
        return _pdf_pages(data)
    if extension in (".docx", ".pptx"):
        kind = extension[1:].upper()
        try:
            return docx_pages(data) if extension == ".docx" else pptx_pages(data)
        except OfficeError as exc:
            raise UnreadableFile(f"{kind} could not be parsed: {exc}") from exc
    text = decode_text(data)
    return [html_to_text(text) if extension == ".html" else text]


def _pdf_pages(data: bytes) -> list[str]:
    """Text of each PDF page. Encrypted files open only if the user password is empty (owner-locked PDFs)."""
    try:
        reader = PdfReader(BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableFile("PDF is password-protected")
        return [page.extract_text() for page in reader.pages]
    except UnreadableFile:
        raise
    except PyPdfError as exc:
        raise UnreadableFile(f"PDF could not be parsed: {exc}") from exc
    except Exception as exc:
        # pypdf meets malformed input with whatever the broken structure triggers (KeyError, ValueError,
        # TypeError, ...), not only PyPdfError; an upload must fail as unreadable, never as a server error.
        raise UnreadableFile(f"PDF could not be parsed: {type(exc).__name__}") from exc


def decode_text(data: bytes) -> str:
    """Decode UTF-8, UTF-16 (with a BOM, or without one when the NUL pattern gives it away) or ASCII, else fail.

    NUL characters never occur in text, so decoded text containing one is a binary file and is refused too.
    """
    if data.startswith(codecs.BOM_UTF8):
        text = _strict(data, "utf-8-sig")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _strict(data, "utf-16")
    elif b"\x00" in data:
        text = _strict(data, _bomless_utf16(data))
    else:
        text = _strict(data, "utf-8")
    if "\x00" in text:
        raise UnreadableFile(_NOT_TEXT)
    return text


def _strict(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UnreadableFile(_NOT_TEXT) from exc


def _bomless_utf16(data: bytes) -> str:
    """'utf-16-le' or 'utf-16-be' if NULs sit in the high bytes of mostly-ASCII text; otherwise the file is binary."""
    sample = data[:4096]
    pairs = len(sample) // 2
    if len(data) % 2 or not pairs:
        raise UnreadableFile(_NOT_TEXT)
    even_nuls, odd_nuls = sample[0::2].count(0), sample[1::2].count(0)
    if odd_nuls >= pairs // 2 and even_nuls * 10 < odd_nuls:
        return "utf-16-le"
    if even_nuls >= pairs // 2 and odd_nuls * 10 < even_nuls:
        return "utf-16-be"
    raise UnreadableFile(_NOT_TEXT)


def _tidy(text: str) -> str:
    """Newlines normalised to \\n, leading blank lines and trailing whitespace dropped; indentation is kept."""
    return _LEADING_BLANK_LINES.sub("", _NEWLINES.sub("\n", text)).rstrip()
