"""Text out of Office Open XML files (.docx, .pptx) with the standard library only.

python-docx and python-pptx would pull lxml, Pillow and XlsxWriter into the server just to read text, so we read the
zip parts ourselves. The files are untrusted uploads, hence three guards:

* the uncompressed XML read from one file is capped (`MAX_XML_BYTES`): a zip bomb fails fast instead of eating memory;
* any DOCTYPE is rejected: OOXML never needs one, and refusing it rules out entity expansion tricks;
* table nesting is recursive, so a pathologically deep file surfaces as `OfficeError`, not `RecursionError`.

Element names are matched by local name (namespace dropped) so both Transitional and Strict OOXML namespaces work,
and because WordprocessingML (`w:p`, `w:tbl`, `w:t`) and DrawingML (`a:p`, `a:tbl`, `a:t`) share the same local
names, one walker reads both formats.
"""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Iterator
from io import BytesIO

MAX_XML_BYTES = 200 * 2**20
"""Most uncompressed XML read from one file, all parts together, in bytes."""

# Subtrees whose text is not document text: run/paragraph properties (their `tab` elements are tab stops, not tab
# characters), the Fallback half of mc:AlternateContent (a duplicate of the Choice half), deleted revisions and field
# instructions (`HYPERLINK "http://..."`).
_SKIP = frozenset({"pPr", "rPr", "Fallback", "delText", "instrText", "tblPr", "trPr", "tcPr", "sectPr"})
_INLINE = {"tab": "\t", "br": "\n", "cr": "\n", "noBreakHyphen": "-"}
_CELL_SEPARATOR = " | "
_SLIDE_NAME = re.compile(r"ppt/slides/slide(\d+)\.xml")
_RELS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


class OfficeError(Exception):
    """The file is not a readable .docx/.pptx; the message is safe to show to the user."""


class _NoDoctype(ET.TreeBuilder):
    """A tree builder that refuses DOCTYPE declarations (the only place entities can be declared)."""

    def doctype(self, name: str | None, pubid: str | None, system: str | None) -> None:
        raise OfficeError("XML with a DOCTYPE is not accepted")


class _Package:
    """An opened OOXML zip that hands out parsed parts while enforcing the shared XML byte budget."""

    def __init__(self, data: bytes) -> None:
        try:
            self._zip = zipfile.ZipFile(BytesIO(data))
        except (zipfile.BadZipFile, ValueError, EOFError) as exc:
            raise OfficeError("not a valid Office Open XML (zip) file") from exc
        self._budget = MAX_XML_BYTES
        self.names = frozenset(self._zip.namelist())

    def xml(self, name: str) -> ET.Element:
        """Parse part `name`; reads no more than the remaining budget (+1 byte), whatever the zip header claims."""
        try:
            with self._zip.open(name) as part:
                raw = part.read(self._budget + 1)
        except KeyError as exc:
            raise OfficeError(f"missing part {name}") from exc
        except (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError, EOFError, ValueError) as exc:
            # RuntimeError: encrypted member; NotImplementedError: unknown compression method.
            raise OfficeError(f"part {name} could not be read") from exc
        if len(raw) > self._budget:
            raise OfficeError(f"uncompressed XML exceeds {MAX_XML_BYTES // 2**20} MB")
        self._budget -= len(raw)
        parser = ET.XMLParser(target=_NoDoctype())
        try:
            parser.feed(raw)
            return parser.close()
        except ET.ParseError as exc:
            raise OfficeError(f"part {name} is not well-formed XML") from exc


def docx_pages(data: bytes) -> list[str]:
    """The text of a .docx as one page: Word files carry no page breaks until rendered, so pages are unknowable."""
    package = _Package(data)
    body = package.xml("word/document.xml")
    return [_guarded_blocks(body)]


def pptx_pages(data: bytes) -> list[str]:
    """One text per slide, in presentation order (slide files keep their names when slides are reordered)."""
    package = _Package(data)
    return [_guarded_blocks(package.xml(name)) for name in _slide_order(package)]


def _guarded_blocks(root: ET.Element) -> str:
    try:
        return "\n".join(_blocks(root))
    except RecursionError as exc:
        raise OfficeError("document structure is nested too deeply") from exc


def _slide_order(package: _Package) -> list[str]:
    """Slides as listed in presentation.xml's sldIdLst; numeric file order when that list cannot be followed."""
    numbered = sorted((int(match.group(1)), name) for name in package.names if (match := _SLIDE_NAME.fullmatch(name)))
    fallback = [name for _, name in numbered]
    if not {"ppt/presentation.xml", "ppt/_rels/presentation.xml.rels"} <= package.names:
        return fallback
    targets = {
        rel.get("Id"): _part_name("ppt", rel.get("Target", ""))
        for rel in package.xml("ppt/_rels/presentation.xml.rels").iter(f"{_RELS_NS}Relationship")
    }
    ordered = [
        targets.get(_attribute(slide_id, "id"))
        for slide_id in package.xml("ppt/presentation.xml").iter()
        if _local(slide_id.tag) == "sldId"
    ]
    listed = [name for name in ordered if name in package.names]
    return listed if listed and len(listed) == len(ordered) else fallback


def _part_name(base: str, target: str) -> str:
    """A relationship target resolved to a zip member name (targets are relative to `base` unless they start with /)."""
    if target.startswith("/"):
        return posixpath.normpath(target).lstrip("/")
    return posixpath.normpath(posixpath.join(base, target))


def _blocks(root: ET.Element) -> Iterator[str]:
    """Paragraphs as lines and tables as one line per row, in document order, anywhere below `root`."""
    stack = [iter(root)]
    while stack:
        element = next(stack[-1], None)
        if element is None:
            stack.pop()
            continue
        name = _local(element.tag)
        if name == "p":
            yield _paragraph(element)
        elif name == "tbl":
            yield from _table_rows(element)
        elif name not in _SKIP:
            stack.append(iter(element))


def _table_rows(table: ET.Element) -> Iterator[str]:
    for row in table:
        if _local(row.tag) == "tr":
            cells = (" ".join(line for line in _blocks(cell) if line) for cell in row if _local(cell.tag) == "tc")
            yield _CELL_SEPARATOR.join(cells)


def _paragraph(paragraph: ET.Element) -> str:
    """Runs (`t`) concatenated with tabs and line breaks; text boxes inside the paragraph are read inline."""
    parts: list[str] = []
    stack = [iter(paragraph)]
    while stack:
        element = next(stack[-1], None)
        if element is None:
            stack.pop()
            continue
        name = _local(element.tag)
        if name == "t":
            parts.append(element.text or "")
        elif name in _INLINE:
            parts.append(_INLINE[name])
        elif name not in _SKIP:
            stack.append(iter(element))
    return "".join(parts)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _attribute(element: ET.Element, local_name: str) -> str | None:
    """An attribute by local name: `r:id` lives in a namespace whose URI differs between Transitional and Strict."""
    for key, value in element.attrib.items():
        if _local(key) == local_name and key != local_name:
            return value
    return None
