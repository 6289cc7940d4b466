"""Readable text out of HTML with the standard library's tolerant parser.

What a reader sees is what we keep: script, style, head (and template/noscript) content is dropped, whitespace is
collapsed the way a browser collapses it (except inside <pre>), block elements become line breaks so paragraphs,
list items and table rows stay apart, and character references are decoded by the parser.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_HIDDEN = frozenset({"script", "style", "head", "template", "noscript"})
_PARAGRAPH = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "table", "ul", "ol", "dl", "hr", "figure"}
    | {"section", "article", "header", "footer", "nav", "aside", "main", "form", "address", "details"}
)
_LINE = frozenset({"div", "br", "li", "tr", "dt", "dd", "caption", "figcaption", "summary", "fieldset", "title"})
_CELL = frozenset({"td", "th"})
_SPACES = re.compile(r"[ \t\n\r\f\v]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def html_to_text(markup: str) -> str:
    """The visible text of `markup`, paragraphs separated by a blank line and other blocks by a line break."""
    parser = _TextParser()
    parser.feed(markup)
    parser.close()
    return parser.text()


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._parts: list[str] = []
        self._hidden: list[str] = []  # open hidden elements, innermost last
        self._pre = 0
        self._cells_in_row = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            # A missing </head> must not hide the whole page.
            self._hidden = [name for name in self._hidden if name != "head"]
        if tag in _HIDDEN:
            self._hidden.append(tag)
            return
        self._block(tag)
        if tag == "pre":
            self._pre += 1
        elif tag == "tr":
            self._cells_in_row = 0
        elif tag in _CELL:
            if self._cells_in_row:
                self._parts.append(" | ")
            self._cells_in_row += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/> and friends: a break, never an element left open.
        if tag not in _HIDDEN:
            self._block(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._hidden:
            while self._hidden and self._hidden.pop() != tag:
                pass
            return
        if tag == "pre" and self._pre:
            self._pre -= 1
        self._block(tag)

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._pre:
            self._parts.append(data)
            return
        text = _SPACES.sub(" ", data)
        if not self._parts or self._parts[-1][-1:] in ("", " ", "\n"):
            text = text.lstrip(" ")
        if text:
            self._parts.append(text)

    def _block(self, tag: str) -> None:
        """End the current line (paragraph) unless already ended: nested blocks must not pile up blank lines."""
        wanted = 2 if tag in _PARAGRAPH else 1 if tag in _LINE else 0
        if not wanted or not self._parts:
            return
        if not self._pre:
            self._parts[-1] = self._parts[-1].rstrip(" ")
        if tag == "br":  # every <br> counts: two in a row make a blank line
            self._parts.append("\n")
            return
        present = 0
        for part in reversed(self._parts):
            present += len(part) - len(part.rstrip("\n"))
            if part.strip("\n") or present >= wanted:
                break
        if present < wanted:
            self._parts.append("\n" * (wanted - present))

    def text(self) -> str:
        return _BLANK_LINES.sub("\n\n", "".join(self._parts)).strip()
