"""`python bench/search.py`: vector-store search latency of the hybrid index at 10,000 and 100,000 chunks.

Each size gets a fresh index under /tmp (one vector store, files of 20 chunks, 384 dimensions) built from a
synthetic corpus: Zipf-distributed words from a made-up vocabulary plus each file's topic words, and vectors
clustered around one centroid per topic, so neighbours are close but not trivially so (a hard case for the index's
sign-bit shortlist). ~200 queries (two topic words, two Zipf words, a vector near the topic's centroid) are timed
one at a time in every mode, then again restricted to 10% of the files.

The baseline, timed in the same process, is numpy's exact dot product over the same vectors held in memory; every
line gives its p50 as a multiple of the baseline's. `recall@10`: the share of the exact cosine top 10 that vector
mode returns. `after a write`: the first search after each of a few writes, when the store's cached sign bits are
reloaded. The `sqlite-vec` lines (when the package is installed) time `vec0` KNN over the same vectors, exact
floats and sign bits at the index's shortlist size: the alternative the index was measured against.
"""

from __future__ import annotations

import argparse
import os

# A matrix-vector product is memory-bound: BLAS threads only fight the machine's other work for 2 cores, and made
# the baseline swing 20x. Set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import statistics
import tempfile
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import sqlean

from homeport.retrieval.index import Mode, VectorIndex

DIMENSIONS = 384
CHUNKS_PER_FILE = 20
WORDS_PER_CHUNK = 80
TOPICS = 200
LIMIT = 10
SPREAD = 0.07
"""Per-dimension noise around a topic centroid: cosine to the centroid ~0.6, like neighbouring real chunks."""

_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "gra", "pel", "dor", "qua", "zen", "bri", "tum"]

Vector = npt.NDArray[np.float32]
Search = Callable[[str, Vector], object]


@dataclass(frozen=True)
class Corpus:
    files: list[tuple[str, list[str], Vector]]
    queries: list[tuple[str, Vector]]
    restriction: frozenset[tuple[str, str]]
    """10% of the files, as the (store, file) pairs an attribute filter would let through."""

    @property
    def matrix(self) -> Vector:
        return np.concatenate([vectors for _, _, vectors in self.files])


def corpus(chunks: int, queries: int, seed: int = 7) -> Corpus:
    """A deterministic synthetic corpus of `chunks` chunks and `queries` queries."""
    rng = np.random.default_rng(seed)
    vocabulary = np.array(sorted({_word(rng) for _ in range(30_000)}))
    zipf = 1 / np.arange(1, len(vocabulary) + 1) ** 1.07
    zipf /= zipf.sum()
    topic_words = rng.choice(np.arange(200, len(vocabulary)), size=(TOPICS, 30), replace=False)
    centroids = _unit(rng.standard_normal((TOPICS, DIMENSIONS)))
    files = []
    for number in range(chunks // CHUNKS_PER_FILE):
        topic = int(rng.integers(TOPICS))
        common = rng.choice(len(vocabulary), size=(CHUNKS_PER_FILE, WORDS_PER_CHUNK * 7 // 10), p=zipf)
        special = rng.choice(topic_words[topic], size=(CHUNKS_PER_FILE, WORDS_PER_CHUNK * 3 // 10))
        words = rng.permuted(np.concatenate([common, special], axis=1), axis=1)
        noise = rng.standard_normal((CHUNKS_PER_FILE, DIMENSIONS)) * SPREAD
        files.append(
            (f"file-{number:06d}", [" ".join(vocabulary[row]) for row in words], _unit(centroids[topic] + noise))
        )
    asked = []
    for _ in range(queries):
        topic = int(rng.integers(TOPICS))
        terms = [*vocabulary[rng.choice(topic_words[topic], 2)], *vocabulary[rng.choice(len(vocabulary), 2, p=zipf)]]
        asked.append((" ".join(terms), _unit(centroids[topic] + rng.standard_normal(DIMENSIONS) * SPREAD)))
    chosen = rng.choice(len(files), size=max(1, len(files) // 10), replace=False)
    return Corpus(files, asked, frozenset(("vs_bench", files[i][0]) for i in chosen))


def build(path: Path, data: Corpus) -> tuple[VectorIndex, float]:
    """The index of the corpus, one `add_file` per file as ingestion does, and the seconds it took."""
    began = time.perf_counter()
    index = VectorIndex(path, DIMENSIONS)
    for file_id, texts, vectors in data.files:
        index.add_file("vs_bench", file_id, texts, vectors)
    return index, time.perf_counter() - began


def timed(queries: list[tuple[str, Vector]], search: Search) -> list[float]:
    """Per-query latencies in seconds, after three untimed warm-up queries."""
    for text, vector in queries[:3]:
        search(text, vector)
    latencies = []
    for text, vector in queries:
        began = time.perf_counter()
        search(text, vector)
        latencies.append(time.perf_counter() - began)
    return latencies


def baseline(matrix: Vector) -> Search:
    """Exact top-`LIMIT` by dot product over vectors held in memory."""

    def search(_text: str, vector: Vector) -> object:
        scores = matrix @ vector
        top = np.argpartition(-scores, LIMIT)[:LIMIT]
        return top[np.argsort(-scores[top])]

    return search


def recall(index: VectorIndex, data: Corpus, file_ids: Collection[tuple[str, str]] | None) -> float:
    """Share of the exact cosine top `LIMIT` (in scope) that vector mode returns, averaged over the queries."""
    matrix = data.matrix
    names = [(file_id, chunk) for file_id, texts, _ in data.files for chunk in range(len(texts))]
    allowed = np.array([file_ids is None or ("vs_bench", name[0]) in file_ids for name in names])
    found = 0
    for text, vector in data.queries:
        exact = {names[i] for i in np.argsort(-np.where(allowed, matrix @ vector, -np.inf))[:LIMIT]}
        hits = index.search(["vs_bench"], text, vector, limit=LIMIT, mode="vector", file_ids=file_ids)
        found += len(exact & {(hit.file_id, hit.chunk_index) for hit in hits})
    return found / (LIMIT * len(data.queries))


def after_writes(index: VectorIndex, data: Corpus, writes: int = 5) -> list[float]:
    """The first hybrid search after each of a few one-chunk writes: the store's cache is reloaded."""
    latencies = []
    for number in range(writes):
        text, vector = data.queries[number]
        index.add_file("vs_bench", f"file-extra-{number}", [text], vector[None, :])
        began = time.perf_counter()
        index.search(["vs_bench"], text, vector, limit=LIMIT)
        latencies.append(time.perf_counter() - began)
    return latencies


def sqlite_vec_lines(directory: Path, data: Corpus, base: list[float]) -> list[str]:
    """`vec0` KNN over the same vectors: exact floats (k=`LIMIT`), and sign bits at the index's shortlist size."""
    try:
        import sqlite_vec  # the alternative measured, not a dependency of Homeport
    except ImportError:
        return ["  sqlite-vec             (not installed: pip install sqlite-vec to compare)"]
    conn = sqlean.connect(str(directory / "vec0.db"))
    conn.enable_load_extension(True)
    sqlite_vec.load(conn)
    conn.execute(f"CREATE VIRTUAL TABLE floats USING vec0(embedding float[{DIMENSIONS}] distance_metric=cosine)")
    conn.execute(f"CREATE VIRTUAL TABLE bits USING vec0(embedding bit[{DIMENSIONS}])")
    with conn:
        for row, vector in enumerate(data.matrix):
            conn.execute("INSERT INTO floats (rowid, embedding) VALUES (?, ?)", (row, vector.tobytes()))
            conn.execute(
                "INSERT INTO bits (rowid, embedding) VALUES (?, vec_quantize_binary(?))", (row, vector.tobytes())
            )
    floats, bits = "floats WHERE embedding MATCH ?", "bits WHERE embedding MATCH vec_quantize_binary(?)"
    shortlist = max(LIMIT * 4, 50) * 8  # the index's `_OVERSAMPLE` times its candidate pool

    def knn(table: str, k: int) -> Search:
        return lambda _text, vector: conn.execute(
            f"SELECT rowid FROM {table} AND k = {k}", (vector.tobytes(),)
        ).fetchall()

    lines = [
        report(f"sqlite-vec float k={LIMIT}", timed(data.queries, knn(floats, LIMIT)), base),
        report(f"sqlite-vec bit k={shortlist}", timed(data.queries, knn(bits, shortlist)), base),
    ]
    conn.close()
    return lines


def report(label: str, latencies: list[float], base: list[float], extra: str = "") -> str:
    p50, p95 = statistics.median(latencies), statistics.quantiles(latencies, n=20, method="inclusive")[-1]
    ratio = p50 / statistics.median(base)
    return f"  {label:<24} p50 {p50 * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms  {ratio:6.1f}x baseline{extra}"


def run_size(chunks: int, queries: int, directory: Path) -> list[str]:
    data = corpus(chunks, queries)
    path = directory / f"index-{chunks}.db"
    index, seconds = build(path, data)
    size = sum(file.stat().st_size for file in directory.glob(f"{path.name}*"))
    lines = [f"{chunks:,} chunks: built in {seconds:.1f} s ({chunks / seconds:,.0f} chunks/s), {size / 2**20:.0f} MiB"]
    restricted = np.concatenate(
        [vectors for file_id, _, vectors in data.files if ("vs_bench", file_id) in data.restriction]
    )
    for scope, file_ids, matrix in (("", None, data.matrix), (" files 10%", data.restriction, restricted)):
        base = timed(data.queries, baseline(matrix))
        lines.append(report(f"numpy exact{scope}", base, base))
        for mode in ("hybrid", "vector", "keyword"):
            latencies = timed(data.queries, _searcher(index, mode, file_ids))
            extra = f"  recall@{LIMIT} {recall(index, data, file_ids):.2f}" if mode == "vector" else ""
            lines.append(report(f"{mode}{scope}", latencies, base, extra))
    base = timed(data.queries, baseline(data.matrix))
    lines.append(report("hybrid after a write", after_writes(index, data), base))
    index.close()
    return lines + sqlite_vec_lines(directory, data, base)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args(argv)
    began = time.perf_counter()
    print(f"search bench: {DIMENSIONS} dims, limit {LIMIT}, {args.queries} queries per line, one at a time")
    for chunks in args.sizes:
        with tempfile.TemporaryDirectory(prefix="homeport-bench-search-", dir="/tmp") as directory:
            for line in run_size(chunks, args.queries, Path(directory)):
                print(line, flush=True)
    print(f"(took {time.perf_counter() - began:.0f} s)")


def _searcher(index: VectorIndex, mode: Mode, file_ids: Collection[tuple[str, str]] | None) -> Search:
    def search(text: str, vector: Vector) -> object:
        return index.search(["vs_bench"], text, vector, limit=LIMIT, mode=mode, file_ids=file_ids)

    return search


def _word(rng: np.random.Generator) -> str:
    return "".join(rng.choice(_SYLLABLES, size=int(rng.integers(2, 5))))


def _unit(matrix: npt.NDArray[np.float64]) -> Vector:
    result = matrix.astype(np.float32)
    return np.asarray(result / np.linalg.norm(result, axis=-1, keepdims=True), dtype=np.float32)


if __name__ == "__main__":
    main()
