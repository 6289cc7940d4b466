"""Token-window chunking of parsed documents: OpenAI's `static` chunking strategy.

A chunk is at most `max_tokens` tokens, and each chunk after the first starts `overlap_tokens` tokens before the end
of the previous one (`max_chunk_size_tokens` / `chunk_overlap_tokens`; defaults 800 / 400, as on the platform).
The overlap is exact in tokens. Counts are in the embedding model's own tokens, not OpenAI's, since those are the
tokens the embedder will see.

A window that would end mid-text is pulled back to a paragraph end, or failing that a sentence end, when one lies
in its last 15%: a chunk that ends on a full stop embeds and reads better. Such a chunk is shorter than
`max_tokens`, never longer, and the next chunk still overlaps it by exactly `overlap_tokens` tokens.

Chunk text is always a slice of `Document.text` cut at token boundaries, never text rebuilt from tokens (the
tokenizer lowercases and drops whitespace). Chunks are in order and cover the text: whatever lies between two
chunks that do not overlap is whitespace, and `start`/`end` locate each chunk in `Document.text`.
"""

from __future__ import annotations

import bisect
import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeport.retrieval.parsing import PAGE_SEPARATOR, Document

if TYPE_CHECKING:
    from tokenizers import Tokenizer

__all__ = ["MAX_CHUNK_TOKENS", "MIN_CHUNK_TOKENS", "Chunk", "chunk_document"]

MIN_CHUNK_TOKENS = 100
MAX_CHUNK_TOKENS = 4096
_SNAP_ZONE = 0.15
"""Fraction of the window, at its end, searched for a paragraph or sentence end."""
_SENTENCE_ENDS = (".", "!", "?", "。", "！", "？")


@dataclass(frozen=True)
class Chunk:
    """A contiguous piece of a document's text."""

    text: str
    """`Document.text[start:end]`: original casing and whitespace, no leading or trailing whitespace."""
    page: int
    """Number of the page where the chunk starts."""
    tokens: int
    """Tokens in the chunk, as counted by the tokenizer given to `chunk_document`."""
    start: int
    """Offset in `Document.text` of the chunk's first character."""
    end: int
    """Offset in `Document.text` just past the chunk's last character."""


@dataclass(frozen=True)
class _Tokens:
    """Character spans of every token of `text`, in order (tokenized once; windows only slice these lists)."""

    text: str
    starts: list[int]
    ends: list[int]


def chunk_document(
    document: Document, tokenizer: Tokenizer, *, max_tokens: int = 800, overlap_tokens: int = 400
) -> list[Chunk]:
    """Split `document` into overlapping token windows; an empty list when it has no text.

    Raises ValueError unless 100 <= max_tokens <= 4096 and 0 <= overlap_tokens <= max_tokens / 2 (OpenAI's bounds).
    """
    if not MIN_CHUNK_TOKENS <= max_tokens <= MAX_CHUNK_TOKENS:
        raise ValueError(f"max_tokens must be between {MIN_CHUNK_TOKENS} and {MAX_CHUNK_TOKENS}, got {max_tokens}")
    if not 0 <= overlap_tokens <= max_tokens / 2:
        raise ValueError(f"overlap_tokens must be between 0 and max_tokens / 2, got {overlap_tokens}")
    tokens = _tokenize(document, tokenizer)
    page_starts = _page_starts(document)
    chunks = []
    for first, last in _windows(tokens, max_tokens, overlap_tokens):
        start, end = _char_span(tokens, first, last)
        if start == end:
            continue  # only whitespace tokens (byte-level BPE has them): nothing to retrieve
        page = document.pages[bisect.bisect_right(page_starts, start) - 1].number
        chunks.append(Chunk(tokens.text[start:end], page, last - first, start, end))
    if not chunks and tokens.text.strip():
        # Text the tokenizer ignores entirely (control characters, say) is still text a reader may want.
        start, end = _strip(tokens.text, 0, len(tokens.text))
        chunks.append(Chunk(tokens.text[start:end], document.pages[0].number, 0, start, end))
    return chunks


def _tokenize(document: Document, tokenizer: Tokenizer) -> _Tokens:
    """Token spans over `document.text`, encoding page by page so the tokenizer can work on pages in parallel.

    Pages are joined by whitespace, which no token spans, so per-page offsets shifted by the page's position are
    the offsets the whole text would have.
    """
    texts = [page.text for page in document.pages]
    encodings = _unbounded(tokenizer).encode_batch(texts, add_special_tokens=False)
    starts: list[int] = []
    ends: list[int] = []
    base = 0
    for text, encoding in zip(texts, encodings, strict=True):
        if encoding.offsets:
            # map/zip keep the per-token work in C: a 300-page PDF has a few hundred thousand tokens.
            page_starts, page_ends = zip(*encoding.offsets, strict=True)
            starts.extend(map(base.__add__, page_starts))
            ends.extend(map(base.__add__, page_ends))
        base += len(text) + len(PAGE_SEPARATOR)
    return _Tokens(document.text, starts, ends)


@functools.lru_cache(maxsize=4)
def _unbounded(tokenizer: Tokenizer) -> Tokenizer:
    """`tokenizer`, or a copy without truncation and padding, which embedding tokenizers ship with (MiniLM: 128).

    A copy rather than `no_truncation()` on the original, because the embedder shares that object and needs its
    limits; cached because a copy costs tens of milliseconds.
    """
    if tokenizer.truncation is None and tokenizer.padding is None:
        return tokenizer
    copy = type(tokenizer).from_str(tokenizer.to_str())
    copy.no_truncation()
    copy.no_padding()
    return copy


def _page_starts(document: Document) -> list[int]:
    starts = []
    position = 0
    for page in document.pages:
        starts.append(position)
        position += len(page.text) + len(PAGE_SEPARATOR)
    return starts


def _windows(tokens: _Tokens, max_tokens: int, overlap_tokens: int) -> list[tuple[int, int]]:
    """Token index ranges [first, last) of the chunks.

    Progress is guaranteed: a window is at least 85% of `max_tokens` long unless it is the last, and the overlap is
    at most half of `max_tokens`, so each window starts after the previous one.
    """
    count = len(tokens.starts)
    windows = []
    first = 0
    while first < count:
        last = min(first + max_tokens, count)
        if last < count:
            last = _snap(tokens, first + math.ceil(max_tokens * (1 - _SNAP_ZONE)), last)
        windows.append((first, last))
        if last == count:
            break
        first = last - overlap_tokens
    return windows


def _snap(tokens: _Tokens, lowest: int, last: int) -> int:
    """The latest cut in [lowest, last] after a paragraph end; else after a sentence end; else `last` itself."""
    sentence = None
    for cut in range(last, lowest - 1, -1):
        previous_end = tokens.ends[cut - 1]
        gap = tokens.text[previous_end : tokens.starts[cut]]
        if "\n\n" in gap:
            return cut
        if sentence is None and gap.isspace() and tokens.text[previous_end - 1 : previous_end] in _SENTENCE_ENDS:
            sentence = cut
    return last if sentence is None else sentence


def _char_span(tokens: _Tokens, first: int, last: int) -> tuple[int, int]:
    """Characters of tokens [first, last), widened to the next token (or the text's ends) and trimmed of whitespace.

    Widening keeps characters the tokenizer skipped (control characters, say) inside some chunk.
    """
    start = 0 if first == 0 else tokens.starts[first]
    end = len(tokens.text) if last == len(tokens.starts) else tokens.starts[last]
    return _strip(tokens.text, start, end)


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) without leading and trailing whitespace, without copying the text."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
