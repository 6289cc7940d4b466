"""The hybrid index: writes, isolation between stores, each search mode and its scores, hostile keyword queries,
persistence and concurrent use. Small random unit vectors and hand-made texts; no server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import sqlean

from homeport.retrieval import keywords as keywords_module
from homeport.retrieval.index import Hit, Mode, VectorIndex

DIMENSIONS = 16
MODES: list[Mode] = ["hybrid", "vector", "keyword"]
Vectors = npt.NDArray[np.float32]


def unit(rng: np.random.Generator, rows: int) -> Vectors:
    matrix = rng.standard_normal((rows, DIMENSIONS)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def index(tmp_path: Path) -> Iterator[VectorIndex]:
    opened = VectorIndex(tmp_path / "index.db", DIMENSIONS)
    yield opened
    opened.close()


FRUIT = ["apples grow on trees", "bananas are yellow", "cherries are small and red", "dates come from palms"]
TOOLS = ["a hammer drives nails", "a saw cuts wood", "a wrench turns bolts"]


def texts_of(hits: list[Hit]) -> list[str]:
    return [hit.text for hit in hits]


def test_add_and_read_back(index: VectorIndex, rng: np.random.Generator) -> None:
    index.add_file("vs_a", "file-1", FRUIT, unit(rng, 4))
    assert index.file_chunks("vs_a", "file-1") == FRUIT
    assert index.file_chunks("vs_a", "file-2") == []
    assert index.file_chunks("vs_b", "file-1") == []
    assert index.usage_bytes("vs_a") == sum(len(t.encode()) for t in FRUIT) + 4 * DIMENSIONS * 4
    assert index.usage_bytes("vs_missing") == 0


def test_adding_again_replaces(index: VectorIndex, rng: np.random.Generator) -> None:
    index.add_file("vs_a", "file-1", FRUIT, unit(rng, 4))
    vectors = unit(rng, 3)
    index.add_file("vs_a", "file-1", TOOLS, vectors)
    assert index.file_chunks("vs_a", "file-1") == TOOLS
    hits = index.search(["vs_a"], "apples hammer", vectors[0], limit=10)
    assert set(texts_of(hits)) <= set(TOOLS)
    assert index.usage_bytes("vs_a") == sum(len(t.encode()) for t in TOOLS) + 3 * DIMENSIONS * 4


def test_remove_file_and_store(index: VectorIndex, rng: np.random.Generator) -> None:
    index.add_file("vs_a", "file-1", FRUIT, unit(rng, 4))
    index.add_file("vs_a", "file-2", TOOLS, unit(rng, 3))
    index.remove_file("vs_a", "file-1")
    index.remove_file("vs_a", "file-1")  # idempotent
    assert index.file_chunks("vs_a", "file-1") == []
    assert set(texts_of(index.search(["vs_a"], "apples", unit(rng, 1)[0], limit=10))) <= set(TOOLS)
    index.remove_store("vs_a")
    index.remove_store("vs_a")
    assert index.search(["vs_a"], "hammer", unit(rng, 1)[0], limit=10) == []
    assert index.usage_bytes("vs_a") == 0
    index.add_file("vs_a", "file-3", ["fresh start"], unit(rng, 1))  # a removed store's id can be used again
    assert texts_of(index.search(["vs_a"], "fresh", unit(rng, 1)[0], limit=10, mode="keyword")) == ["fresh start"]


def test_stores_are_isolated(index: VectorIndex, rng: np.random.Generator) -> None:
    fruit, tools = unit(rng, 4), unit(rng, 3)
    index.add_file("vs_a", "file-1", FRUIT, fruit)
    index.add_file("vs_b", "file-1", TOOLS, tools)  # the same file id in another store is another file
    for mode in MODES:
        hits = index.search(["vs_a"], "hammer saw wrench apples", tools[0], limit=10, mode=mode)
        assert {hit.vector_store_id for hit in hits} <= {"vs_a"}
        assert set(texts_of(hits)) <= set(FRUIT)
    both = index.search(["vs_a", "vs_b"], "hammer apples", tools[0], limit=10)
    assert {hit.vector_store_id for hit in both} == {"vs_a", "vs_b"}
    assert both[0].text == TOOLS[0] and both[0].vector_store_id == "vs_b"
    assert index.search(["vs_unknown"], "hammer", tools[0], limit=10) == []


def test_file_ids_restrict(index: VectorIndex, rng: np.random.Generator) -> None:
    fruit, tools = unit(rng, 4), unit(rng, 3)
    index.add_file("vs_a", "file-1", FRUIT, fruit)
    index.add_file("vs_a", "file-2", TOOLS, tools)
    index.add_file("vs_b", "file-3", ["a hammer in another store"], unit(rng, 1))
    for mode in MODES:
        only = index.search(
            ["vs_a", "vs_b"], "hammer apples", tools[0], limit=10, mode=mode, file_ids={("vs_a", "file-1")}
        )
        assert {(hit.vector_store_id, hit.file_id) for hit in only} == {("vs_a", "file-1")}
        # A pair naming a store that is not searched, or a file the store lacks, adds nothing.
        other = index.search(
            ["vs_a"], "hammer", tools[0], limit=10, mode=mode, file_ids={("vs_b", "file-3"), ("vs_a", "nope")}
        )
        assert other == []
        assert index.search(["vs_a"], "hammer", tools[0], limit=10, mode=mode, file_ids=set()) == []


def test_vector_mode_is_exact_on_small_stores(index: VectorIndex, rng: np.random.Generator) -> None:
    vectors = unit(rng, 300)  # below the sign-bit shortlist: every chunk is rescored exactly
    index.add_file("vs_a", "file-1", [f"chunk {i}" for i in range(300)], vectors)
    query = unit(rng, 1)[0]
    hits = index.search(["vs_a"], "", query, limit=7, mode="vector")
    cosines = vectors @ query
    expected = np.argsort(-cosines)[:7]
    assert [hit.chunk_index for hit in hits] == expected.tolist()
    assert [hit.score for hit in hits] == pytest.approx(np.maximum(cosines[expected], 0).tolist(), abs=1e-6)
    same = index.search(["vs_a"], "", vectors[42], limit=1, mode="vector")
    assert same[0].chunk_index == 42 and same[0].score == pytest.approx(1.0, abs=1e-6)


def test_keyword_mode(index: VectorIndex, rng: np.random.Generator) -> None:
    index.add_file("vs_a", "file-1", FRUIT + TOOLS, unit(rng, 7))
    hits = index.search(["vs_a"], "Which TREES grow?", unit(rng, 1)[0], limit=10, mode="keyword")
    assert hits[0].text == "apples grow on trees" and hits[0].score == 1.0
    assert texts_of(index.search(["vs_a"], "palm", unit(rng, 1)[0], limit=10, mode="keyword")) == [FRUIT[3]]  # stemmed
    assert index.search(["vs_a"], "zebra", unit(rng, 1)[0], limit=10, mode="keyword") == []


def test_hybrid_combines_both_scores(index: VectorIndex, rng: np.random.Generator) -> None:
    vectors = unit(rng, 7)
    index.add_file("vs_a", "file-1", FRUIT + TOOLS, vectors)
    query, words = vectors[5], "bananas cherries"  # semantically the saw; by keyword two fruits
    keyword = {h.chunk_index: h.score for h in index.search(["vs_a"], words, query, limit=10, mode="keyword")}
    hybrid = index.search(["vs_a"], words, query, limit=10)
    assert hybrid[0].text == TOOLS[1]
    for hit in hybrid:
        cosine = max(0.0, float(vectors[hit.chunk_index] @ query))
        assert hit.score == pytest.approx(0.7 * cosine + 0.3 * keyword.get(hit.chunk_index, 0.0), abs=1e-6)
    text_only = index.search(["vs_a"], words, query, limit=2, embedding_weight=0, text_weight=2)
    assert {hit.text for hit in text_only} == {FRUIT[1], FRUIT[2]}
    with pytest.raises(ValueError):
        index.search(["vs_a"], words, query, limit=2, embedding_weight=0, text_weight=0)


@pytest.mark.parametrize("mode", MODES)
def test_scores_sorted_bounded_limited_thresholded(index: VectorIndex, rng: np.random.Generator, mode: Mode) -> None:
    words = ["alpha", "beta", "gamma", "delta", "omega"]
    texts = [" ".join(rng.choice(words, size=6)) for _ in range(120)]
    index.add_file("vs_a", "file-1", texts, unit(rng, 120))
    query = unit(rng, 1)[0]
    hits = index.search(["vs_a"], "alpha omega", query, limit=25, mode=mode)
    scores = [hit.score for hit in hits]
    assert 0 < len(hits) <= 25
    assert all(0.0 <= score <= 1.0 for score in scores)
    assert scores == sorted(scores, reverse=True)
    threshold = scores[len(scores) // 2]
    above = index.search(["vs_a"], "alpha omega", query, limit=25, mode=mode, score_threshold=threshold)
    assert above and all(hit.score >= threshold for hit in above)
    assert index.search(["vs_a"], "alpha omega", query, limit=25, mode=mode, score_threshold=1.01) == []
    assert index.search(["vs_a"], "alpha omega", query, limit=0, mode=mode) == []


HOSTILE = ['"', '""', 'foo"bar', "AND", "OR", "NOT", "a AND", "NEAR(", "NEAR(a b", "*", "app*", "-", "-apples",
           "(", ")", "^apples", "text:apples", "{text}: x", "+", "", "   ", "!!!", "_", "\x00", "日本語",
           "'; DROP TABLE chunks; --"]  # fmt: skip


@pytest.mark.parametrize("query", HOSTILE)
def test_fts_syntax_in_queries_never_raises(index: VectorIndex, rng: np.random.Generator, query: str) -> None:
    index.add_file("vs_a", "file-1", FRUIT + ["AND OR NOT NEAR text"], unit(rng, 5))
    for mode in MODES:
        index.search(["vs_a"], query, unit(rng, 1)[0], limit=5, mode=mode)
    assert index.file_chunks("vs_a", "file-1")[0] == FRUIT[0]


def test_operators_are_searched_as_words(index: VectorIndex, rng: np.random.Generator) -> None:
    index.add_file("vs_a", "file-1", FRUIT + ["AND OR NOT NEAR text"], unit(rng, 5))
    vector = unit(rng, 1)[0]
    assert texts_of(index.search(["vs_a"], "NEAR(", vector, limit=5, mode="keyword")) == ["AND OR NOT NEAR text"]
    assert index.search(["vs_a"], '"-*()', vector, limit=5, mode="keyword") == []


@pytest.fixture
def fts_queries(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """FTS5 queries per search, counted: 1 rare words only; 2 rare, then rare and common; 3 the bound failed."""
    counts: list[int] = []
    matches = keywords_module._matches

    def counted(*args: Any) -> dict[int, float]:
        counts[-1] += 1
        return matches(*args)

    monkeypatch.setattr(keywords_module, "_matches", counted)
    return counts


def assert_ranked_as_fts5(index: VectorIndex, texts: list[str], words: list[str], limit: int) -> None:
    """Keyword mode's top `limit` is FTS5's over all the words (but those at the IDF floor, which weigh nothing)."""
    reference = sqlean.connect(":memory:")
    reference.execute("CREATE VIRTUAL TABLE t USING fts5(text, tokenize='porter unicode61 remove_diacritics 2')")
    reference.executemany("INSERT INTO t (rowid, text) VALUES (?, ?)", enumerate(texts))
    in_half = {w for w in words if reference.execute("SELECT count(*) FROM t(?)", (w,)).fetchone()[0] * 2 >= len(texts)}
    kept = [w for w in words if w not in in_half] or words
    sql = "SELECT rowid, -rank FROM t(?) ORDER BY rank, rowid LIMIT ?"
    expected = reference.execute(sql, (" OR ".join(kept), limit)).fetchall()
    hits = index.search(["vs_a"], " ".join(words), np.eye(DIMENSIONS, dtype=np.float32)[0], limit=limit, mode="keyword")
    assert [(h.chunk_index, h.score) for h in hits] == [(i, pytest.approx(r / expected[0][1])) for i, r in expected]


def test_keyword_ranking_is_fts5_s(index: VectorIndex, rng: np.random.Generator, fts_queries: list[int]) -> None:
    """Common words are searched in a second, seeking query (see `keywords.keyword_scores`): the ranking must not
    change."""
    vocabulary = [f"w{i}" for i in range(60)]
    weights = 1 / np.arange(1, 61) ** 1.1
    texts = [" ".join(rng.choice(vocabulary, size=12, p=weights / weights.sum())) for _ in range(400)]
    index.add_file("vs_a", "file-1", texts, unit(rng, 400))
    for number in range(40):
        fts_queries.append(0)
        words = list(dict.fromkeys(rng.choice(vocabulary, size=4)))
        assert_ranked_as_fts5(index, texts, words, limit=(10, 40)[number % 2])
    assert {1, 2} <= set(fts_queries)


def test_keyword_ranking_when_common_words_outrank(index: VectorIndex, fts_queries: list[int]) -> None:
    """Short chunks repeating five words in 40% of chunks outscore those with the rarer `zeta`: the bound fails and
    the store is asked for all the words (without that, these chunks would be missing)."""
    texts = []
    for number in range(200):
        if number % 10 == 1:
            texts.append("c0 c0 c1 c1 c2 c2 c3 c3 c4 c4")
            continue
        words = [f"c{i}" for i in range(5) if (number + i) % 3 == 0] + (["zeta"] if number % 4 == 0 else [])
        texts.append(" ".join([*words, *["filler"] * 12]))
    index.add_file("vs_a", "file-1", texts, np.tile(np.eye(DIMENSIONS, dtype=np.float32)[:1], (200, 1)))
    fts_queries.append(0)
    assert_ranked_as_fts5(index, texts, ["zeta", "c0", "c1", "c2", "c3", "c4"], limit=10)
    assert fts_queries == [3]
    assert (
        index.search(["vs_a"], "zeta c0 c1 c2 c3 c4", np.eye(DIMENSIONS, dtype=np.float32)[0], limit=1, mode="keyword")[
            0
        ].text
        == texts[1]
    )


def test_persists_across_reopening(tmp_path: Path, rng: np.random.Generator) -> None:
    vectors = unit(rng, 4)
    first = VectorIndex(tmp_path / "index.db", DIMENSIONS)
    first.add_file("vs_a", "file-1", FRUIT, vectors)
    before = first.search(["vs_a"], "yellow bananas", vectors[1], limit=3)
    first.close()
    with pytest.raises(RuntimeError):
        first.search(["vs_a"], "yellow", vectors[1], limit=3)
    again = VectorIndex(tmp_path / "index.db", DIMENSIONS)
    assert again.file_chunks("vs_a", "file-1") == FRUIT
    assert again.search(["vs_a"], "yellow bananas", vectors[1], limit=3) == before
    again.add_file("vs_a", "file-2", TOOLS, unit(rng, 3))  # chunk ids go on from where they were
    assert again.file_chunks("vs_a", "file-1") == FRUIT
    again.close()
    with pytest.raises(ValueError):
        VectorIndex(tmp_path / "index.db", DIMENSIONS * 2)


def test_files_without_chunks(index: VectorIndex, rng: np.random.Generator) -> None:
    index.add_file("vs_a", "file-empty", [], np.zeros((0, DIMENSIONS), dtype=np.float32))
    index.add_file("vs_a", "file-empty-too", [], np.zeros((0, DIMENSIONS), dtype=np.float32))
    assert index.file_chunks("vs_a", "file-empty") == []
    for mode in MODES:
        assert index.search(["vs_a"], "anything", unit(rng, 1)[0], limit=3, mode=mode) == []
    index.add_file("vs_a", "file-1", FRUIT, unit(rng, 4))
    assert len(index.search(["vs_a"], "apples", unit(rng, 1)[0], limit=3)) == 3
    assert index.usage_bytes("vs_a") == sum(len(t.encode()) for t in FRUIT) + 4 * DIMENSIONS * 4


def test_rejects_mismatched_embeddings(index: VectorIndex, rng: np.random.Generator) -> None:
    with pytest.raises(ValueError):
        index.add_file("vs_a", "file-1", FRUIT, unit(rng, 3))
    assert index.file_chunks("vs_a", "file-1") == []


def test_concurrent_searches_while_writing(index: VectorIndex, rng: np.random.Generator) -> None:
    words = ["red", "green", "blue", "cyan", "plum"]
    for number in range(10):
        texts = [" ".join(rng.choice(words, size=5)) for _ in range(20)]
        index.add_file("vs_a", f"file-{number}", texts, unit(rng, 20))
    stable = {f"file-{number}": index.file_chunks("vs_a", f"file-{number}") for number in range(10)}
    queries = unit(rng, 60)
    stop = threading.Event()

    def write() -> None:
        writer = np.random.default_rng(99)
        number = 10
        while not stop.is_set():
            index.add_file("vs_a", f"file-{number}", ["red plum"] * 5, unit(writer, 5))
            index.remove_file("vs_a", f"file-{number - 1}")
            number += 1

    def search(i: int) -> list[Hit]:
        return index.search(["vs_a"], "red plum", queries[i], limit=5, mode=MODES[i % 3])

    writer = threading.Thread(target=write)
    writer.start()
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(search, range(60)))
    finally:
        stop.set()
        writer.join()
    for hits in results:  # each search saw one snapshot: every hit is a chunk as it was written
        assert 0 < len(hits) <= 5
        for hit in hits:
            assert hit.text == (stable[hit.file_id][hit.chunk_index] if hit.file_id in stable else "red plum")
