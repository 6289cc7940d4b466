"""The hybrid search index of vector stores: chunk text, embeddings and keyword indexes in ONE SQLite file.

Layout (WAL mode; a write is one transaction, a search one read transaction, so it sees one snapshot):

    stores       vector_store_id -> key (never reused), chunk count, generation (bumped by every write)
    files        (store, file_id) -> its chunk ids, first_chunk .. first_chunk + chunk_count - 1 (never reused)
    chunks       id -> text
    vectors      id -> float32 embedding, read for a shortlist only
    file_signs   first_chunk -> the sign bits of the file's chunks
    fts_<store>  FTS5 per store (porter unicode61, contentless): bm25 statistics and work stay in the store

Vector search ranks the chunks in scope by the Hamming distance between their sign bits and the query's, then
rescores the `_OVERSAMPLE * pool` nearest with the exact cosine. A store's files and sign bits (48 bytes a chunk at
384 dimensions) are cached per store generation. At 100,000 x 384 on 2 cores, sqlite-vec's `vec0` took ~80 ms to
scan floats and 27 ms (k=200) to 61 ms (k=400) to scan bits, and its metadata filters still visit every row; numpy
over the cached bits takes ~5 ms for any k. So sqlite-vec is not used (bench/search.py repeats the comparison).

Scores, all in [0, 1]:

    semantic  s = max(0, cos(query, chunk))        (vectors are unit-normalised by the caller)
    keyword   k = bm25 / best bm25 in scope         (the best keyword match scores 1)
    hybrid    w_e * s + w_t * k, w_e + w_t = 1      (defaults 0.7 / 0.3; OpenAI's hybrid_search weights map here)

Hybrid ranks the union of each side's top `max(limit * 4, 50)`, each candidate scored on both sides, exactly but for
one case: a chunk holding only words far more common than the query's rarest may get k = 0 (keywords.py plans the
keyword side's FTS5 queries; see `keyword_scores`). Ties break on chunk id, i.e. the order chunks were added.
"""

from __future__ import annotations

import dataclasses
import heapq
import json
import sqlite3
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast

import numpy as np
import numpy.typing as npt
import sqlean

from homeport.retrieval.keywords import TOKENIZER, create_query_tables, keyword_scores

Mode = Literal["hybrid", "vector", "keyword"]
Ids = npt.NDArray[np.int64]
Signs = npt.NDArray[np.uint64]

DEFAULT_EMBEDDING_WEIGHT = 0.7
"""Semantic share of the hybrid score; the keyword side is relative to the best match, so it gets the smaller share."""

_OVERSAMPLE = 8
"""Sign-bit shortlist size as a multiple of the candidates wanted: recall@10 0.99 on bench/search.py's corpus."""

_CACHED_STORES = 16
_FTS_OPTIONS = f"content='', contentless_delete=1, tokenize='{TOKENIZER}'"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS stores (
    key INTEGER PRIMARY KEY AUTOINCREMENT, vector_store_id TEXT NOT NULL UNIQUE,
    chunks INTEGER NOT NULL DEFAULT 0, generation INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS files (
    store_key INTEGER NOT NULL, file_id TEXT NOT NULL, first_chunk INTEGER NOT NULL UNIQUE,
    chunk_count INTEGER NOT NULL, text_bytes INTEGER NOT NULL, PRIMARY KEY (store_key, file_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chunks (id INTEGER PRIMARY KEY, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vectors (id INTEGER PRIMARY KEY, embedding BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS file_signs (first_chunk INTEGER PRIMARY KEY, signs BLOB NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('next_chunk', 1)
"""


@dataclass(frozen=True)
class Hit:
    """One ranked chunk; `score` is in [0, 1], higher is better."""

    vector_store_id: str
    file_id: str
    chunk_index: int
    text: str
    score: float


@dataclass(frozen=True)
class _Store:
    """A store at one generation (or the files of it a search may read): files in chunk order, a sign row a chunk."""

    key: int
    vector_store_id: str
    generation: int
    chunks: int  # in the whole store: bm25's N
    file_ids: list[str]
    firsts: Ids
    counts: Ids
    signs: Signs
    frequencies: dict[str, int] = field(default_factory=dict)  # index term -> chunks holding it, filled lazily

    def only(self, wanted: set[tuple[str, str]]) -> _Store:
        """This store narrowed to the (store, file) pairs wanted; the frequency cache stays shared."""
        keep = np.array([(self.vector_store_id, file_id) in wanted for file_id in self.file_ids], dtype=bool)
        rows = _expand((np.cumsum(self.counts) - self.counts)[keep], self.counts[keep])
        names = [name for name, kept in zip(self.file_ids, keep, strict=True) if kept]
        return dataclasses.replace(
            self, file_ids=names, firsts=self.firsts[keep], counts=self.counts[keep], signs=self.signs[rows]
        )

    def locate(self, ids: Ids) -> Ids:
        """Index of the file holding each chunk id, or -1."""
        if not len(self.firsts):
            return np.full(len(ids), -1, dtype=np.int64)
        at = np.searchsorted(self.firsts, ids, side="right") - 1
        safe = at.clip(0)
        return np.where((at >= 0) & (ids < self.firsts[safe] + self.counts[safe]), at, -1)


class VectorIndex:
    """Chunks of files in vector stores, searchable by meaning and by keywords. Thread-safe.

    Calls borrow a connection from a pool (WAL lets readers run in parallel, and SQLite releases the GIL while it
    works); writers are serialised by a lock and each runs as one IMMEDIATE transaction.
    """

    def __init__(self, path: Path, dimensions: int) -> None:
        if dimensions <= 0:
            raise ValueError(f"dimensions must be positive, got {dimensions}")
        self._path = path
        self._dimensions = dimensions
        self._words64 = (dimensions + 63) // 64  # sign bits padded to whole uint64 words for bitwise_count
        self._idle: list[sqlite3.Connection] = []  # a pool, not one per thread: worker threads come and go
        self._cache: dict[int, _Store] = {}
        self._lock = threading.Lock()  # guards _idle, _cache and _closed
        self._writing = threading.Lock()  # one writer at a time, in this process (SQLite's lock covers others)
        self._closed = False
        with self._write() as conn:
            for statement in _SCHEMA.split(";"):  # not executescript: it would commit the open transaction
                conn.execute(statement)
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('dimensions', ?)", (dimensions,))
            (stored,) = conn.execute("SELECT value FROM meta WHERE key = 'dimensions'").fetchone()
        if stored != dimensions:
            self.close()
            raise ValueError(f"{path} holds {stored}-dimensional vectors, not {dimensions}")

    def add_file(
        self, vector_store_id: str, file_id: str, texts: Sequence[str], embeddings: npt.NDArray[np.floating]
    ) -> None:
        """Store a file's chunks (in order) with their unit-normalised embeddings, replacing any it had."""
        matrix = np.ascontiguousarray(embeddings, dtype=np.float32)
        if matrix.shape != (len(texts), self._dimensions):
            raise ValueError(f"embeddings shape {matrix.shape} != ({len(texts)}, {self._dimensions})")
        count, text_bytes = len(texts), sum(len(text.encode()) for text in texts)
        with self._write() as conn:
            self._delete_file(conn, vector_store_id, file_id)
            conn.execute("INSERT OR IGNORE INTO stores (vector_store_id) VALUES (?)", (vector_store_id,))
            (store,) = conn.execute("SELECT key FROM stores WHERE vector_store_id = ?", (vector_store_id,)).fetchone()
            conn.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS fts_{store} USING fts5(text, {_FTS_OPTIONS})")
            reserved = max(count, 1)  # a file without chunks still needs a first_chunk of its own
            (first,) = conn.execute(
                "UPDATE meta SET value = value + ? WHERE key = 'next_chunk' RETURNING value - ?", (reserved, reserved)
            ).fetchone()
            conn.execute("INSERT INTO files VALUES (?, ?, ?, ?, ?)", (store, file_id, first, count, text_bytes))
            conn.execute(
                "UPDATE stores SET chunks = chunks + ?, generation = generation + 1 WHERE key = ?", (count, store)
            )
            conn.execute("INSERT INTO file_signs VALUES (?, ?)", (first, self._signs(matrix).tobytes()))
            rows = list(enumerate(texts, start=first))
            conn.executemany("INSERT INTO chunks VALUES (?, ?)", rows)
            conn.executemany(f"INSERT INTO fts_{store} (rowid, text) VALUES (?, ?)", rows)
            conn.executemany(
                "INSERT INTO vectors VALUES (?, ?)", ((first + i, v.tobytes()) for i, v in enumerate(matrix))
            )

    def remove_file(self, vector_store_id: str, file_id: str) -> None:
        """Forget a file's chunks in one store; an unknown store or file is not an error."""
        with self._write() as conn:
            self._delete_file(conn, vector_store_id, file_id)

    def remove_store(self, vector_store_id: str) -> None:
        """Forget every chunk of a store; an unknown store is not an error."""
        with self._write() as conn:
            row = conn.execute("SELECT key FROM stores WHERE vector_store_id = ?", (vector_store_id,)).fetchone()
            if row is None:
                return
            for first, count in conn.execute("SELECT first_chunk, chunk_count FROM files WHERE store_key = ?", row):
                _delete_chunks(conn, first, count)
            conn.execute("DELETE FROM files WHERE store_key = ?", row)
            conn.execute(f"DROP TABLE IF EXISTS fts_{row[0]}")
            conn.execute("DELETE FROM stores WHERE key = ?", row)

    def _delete_file(self, conn: sqlite3.Connection, vector_store_id: str, file_id: str) -> None:
        row = conn.execute(
            "SELECT f.store_key, f.first_chunk, f.chunk_count FROM files f JOIN stores s ON s.key = f.store_key "
            "WHERE s.vector_store_id = ? AND f.file_id = ?",
            (vector_store_id, file_id),
        ).fetchone()
        if row is None:
            return
        store, first, count = row
        _delete_chunks(conn, first, count)
        # FTS5 deletes by rowid only: a range constraint would make it scan the whole table.
        conn.executemany(f"DELETE FROM fts_{store} WHERE rowid = ?", ((i,) for i in range(first, first + count)))
        conn.execute("DELETE FROM files WHERE store_key = ? AND file_id = ?", (store, file_id))
        conn.execute("UPDATE stores SET chunks = chunks - ?, generation = generation + 1 WHERE key = ?", (count, store))

    def file_chunks(self, vector_store_id: str, file_id: str) -> list[str]:
        """A file's chunk texts in order; [] for a file the store does not hold."""
        sql = (
            "SELECT c.text FROM files f JOIN stores s ON s.key = f.store_key "
            "JOIN chunks c ON c.id BETWEEN f.first_chunk AND f.first_chunk + f.chunk_count - 1 "
            "WHERE s.vector_store_id = ? AND f.file_id = ? ORDER BY c.id"
        )
        with self._borrow() as conn:
            return [text for (text,) in conn.execute(sql, (vector_store_id, file_id))]

    def usage_bytes(self, vector_store_id: str) -> int:
        """Bytes a store holds: UTF-8 chunk text plus float32 vectors (index overhead is not billed)."""
        sql = (
            "SELECT COALESCE(SUM(f.text_bytes), 0), COALESCE(SUM(f.chunk_count), 0) FROM files f "
            "JOIN stores s ON s.key = f.store_key WHERE s.vector_store_id = ?"
        )
        with self._borrow() as conn:
            text_bytes, chunks = conn.execute(sql, (vector_store_id,)).fetchone()
        return int(text_bytes) + int(chunks) * self._dimensions * 4

    def search(
        self,
        vector_store_ids: Sequence[str],
        query: str,
        vector: npt.NDArray[np.floating],
        *,
        limit: int,
        file_ids: Collection[tuple[str, str]] | None = None,
        mode: Mode = "hybrid",
        score_threshold: float = 0.0,
        embedding_weight: float = DEFAULT_EMBEDDING_WEIGHT,
        text_weight: float = 1 - DEFAULT_EMBEDDING_WEIGHT,
    ) -> list[Hit]:
        """The best `limit` chunks of the stores, or only of the (store, file) pairs in `file_ids`.

        `vector` is the query's unit-normalised embedding (unused in keyword mode). The hybrid weights are scaled
        to sum to 1; negative weights, or both zero, are a ValueError.
        """
        if min(embedding_weight, text_weight) < 0 or embedding_weight + text_weight <= 0:
            raise ValueError("hybrid weights must be non-negative and not both zero")
        query_vector = np.ascontiguousarray(vector, dtype=np.float32).reshape(self._dimensions)
        wanted = None if file_ids is None else set(file_ids)
        with self._read() as conn:
            scope = [store if wanted is None else store.only(wanted) for store in self._stores(conn, vector_store_ids)]
            if limit <= 0 or not any(store.file_ids for store in scope):
                return []
            pool = max(limit * 4, 50)
            semantic = self._nearest(conn, scope, query_vector, pool) if mode != "keyword" else {}
            lexical = keyword_scores(conn, scope, query, limit, pool) if mode != "vector" else {}
            top = heapq.nsmallest(pool, lexical, key=lambda i: (-lexical[i], i))
            if mode == "hybrid":
                semantic |= self._cosines(conn, [i for i in top if i not in semantic], query_vector)
            scores = _fuse(semantic, lexical, top, mode, embedding_weight / (embedding_weight + text_weight))
            ranked = sorted((kv for kv in scores.items() if kv[1] >= score_threshold), key=lambda kv: (-kv[1], kv[0]))
            return _hits(conn, scope, ranked[:limit])

    def _stores(self, conn: sqlite3.Connection, vector_store_ids: Sequence[str]) -> list[_Store]:
        """The named stores that exist, from the cache when their generation has not moved."""
        sql = (
            "SELECT key, vector_store_id, generation, chunks FROM stores "
            "WHERE vector_store_id IN (SELECT value FROM json_each(?)) ORDER BY key"
        )
        stores = []
        for key, vector_store_id, generation, chunks in conn.execute(sql, (json.dumps(list(vector_store_ids)),)):
            store = self._cache.get(key)
            if store is None or store.generation != generation:
                files = conn.execute(
                    "SELECT f.file_id, f.first_chunk, f.chunk_count, s.signs FROM files f JOIN file_signs s "
                    "ON s.first_chunk = f.first_chunk WHERE f.store_key = ? ORDER BY f.first_chunk",
                    (key,),
                ).fetchall()
                signs = np.frombuffer(b"".join(row[3] for row in files), dtype=np.uint64).reshape(-1, self._words64)
                names, firsts, counts = [r[0] for r in files], _ids([r[1] for r in files]), _ids([r[2] for r in files])
                store = _Store(key, vector_store_id, generation, chunks, names, firsts, counts, signs)
                with self._lock:
                    self._cache.pop(key, None)
                    self._cache[key] = store
                    while len(self._cache) > _CACHED_STORES:
                        del self._cache[next(iter(self._cache))]
            stores.append(store)
        return stores

    def _nearest(
        self, conn: sqlite3.Connection, scope: list[_Store], query: npt.NDArray[np.float32], pool: int
    ) -> dict[int, float]:
        """Exact cosine of the `pool` nearest chunks in scope, found through a sign-bit shortlist."""
        signs = scope[0].signs if len(scope) == 1 else np.concatenate([store.signs for store in scope])
        distances = np.bitwise_count(signs ^ self._signs(query[None, :])).sum(axis=1, dtype=np.int32)
        ids = np.concatenate([_expand(store.firsts, store.counts) for store in scope])
        shortlist = pool * _OVERSAMPLE
        if len(ids) > shortlist:
            ids = ids[np.argpartition(distances, shortlist)[:shortlist]]
        cosines = self._cosines(conn, ids.tolist(), query)
        return dict(sorted(cosines.items(), key=lambda item: (-item[1], item[0]))[:pool])

    def _cosines(self, conn: sqlite3.Connection, ids: list[int], query: npt.NDArray[np.float32]) -> dict[int, float]:
        """Exact cosine similarity of the query with each chunk (unit vectors: a dot product)."""
        if not ids:
            return {}
        sql = "SELECT id, embedding FROM vectors WHERE id IN (SELECT value FROM json_each(?))"
        rows = conn.execute(sql, (json.dumps(ids),)).fetchall()
        matrix = np.frombuffer(b"".join(blob for _, blob in rows), dtype=np.float32).reshape(len(rows), -1)
        return dict(zip((row[0] for row in rows), (matrix @ query).tolist(), strict=True))

    def _signs(self, matrix: npt.NDArray[np.float32]) -> Signs:
        """Sign bits of each row, packed and zero-padded to whole 64-bit words."""
        packed = np.packbits(matrix > 0, axis=1, bitorder="little")
        return np.pad(packed, ((0, 0), (0, self._words64 * 8 - packed.shape[1]))).view(np.uint64)

    def close(self) -> None:
        """Close the connections; one in use closes when its call ends. The index cannot be used afterwards."""
        with self._lock:
            self._closed = True
            for conn in self._idle:
                conn.close()
            self._idle.clear()
            self._cache.clear()

    @contextmanager
    def _borrow(self) -> Iterator[sqlite3.Connection]:
        """A connection of the pool for the duration of one call (WAL lets readers run in parallel)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the index is closed")
            conn = self._idle.pop() if self._idle else None
        conn = conn or self._open()
        try:
            yield conn
        finally:
            with self._lock:
                if self._closed:
                    conn.close()
                else:
                    self._idle.append(conn)

    def _open(self) -> sqlite3.Connection:
        # sqlean is the stdlib sqlite3 module on a recent SQLite (FTS5's contentless_delete needs 3.43); the stdlib's
        # types describe it. Pooled connections move between threads, never used by two at once.
        connect = sqlean.connect(str(self._path), timeout=30, isolation_level=None, check_same_thread=False)
        conn = cast(sqlite3.Connection, connect)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA mmap_size = 1073741824")  # page reads without a syscall each
        create_query_tables(conn)
        return conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: a search sees a single snapshot, however writers interleave."""
        with self._borrow() as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction, one writer at a time: all of a write lands, or none of it."""
        with self._writing, self._borrow() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")


def _delete_chunks(conn: sqlite3.Connection, first: int, count: int) -> None:
    conn.execute("DELETE FROM chunks WHERE id BETWEEN ? AND ?", (first, first + count - 1))
    conn.execute("DELETE FROM vectors WHERE id BETWEEN ? AND ?", (first, first + count - 1))
    conn.execute("DELETE FROM file_signs WHERE first_chunk = ?", (first,))


def _fuse(
    semantic: dict[int, float], lexical: dict[int, float], top: list[int], mode: Mode, weight: float
) -> dict[int, float]:
    """Scores in [0, 1] (the module docstring gives the formulas); `top` are the best keyword matches, `weight` the
    semantic share."""
    best = max(lexical.values(), default=1.0)  # bm25 relevance of a match is > 0
    if mode == "keyword":
        return {i: lexical[i] / best for i in top}
    if mode == "vector":
        return {i: max(0.0, cosine) for i, cosine in semantic.items()}
    return {i: weight * max(0.0, c) + (1 - weight) * lexical.get(i, 0.0) / best for i, c in semantic.items()}


def _hits(conn: sqlite3.Connection, scope: list[_Store], ranked: list[tuple[int, float]]) -> list[Hit]:
    """The ranked chunks with their store, file, position and text; scores clamped to [0, 1] against rounding."""
    ids = _ids([chunk for chunk, _ in ranked])
    sql = "SELECT id, text FROM chunks WHERE id IN (SELECT value FROM json_each(?))"
    texts: dict[int, str] = dict(conn.execute(sql, (json.dumps(ids.tolist()),)).fetchall())
    hits: dict[int, Hit] = {}  # rank -> hit: each chunk is in one store of the scope
    for store in scope:
        for rank, ((chunk, score), at) in enumerate(zip(ranked, store.locate(ids).tolist(), strict=True)):
            if at >= 0:
                index, clamped = chunk - int(store.firsts[at]), min(1.0, max(0.0, score))
                hits[rank] = Hit(store.vector_store_id, store.file_ids[at], index, texts[chunk], clamped)
    return [hits[rank] for rank in sorted(hits)]


def _expand(starts: Ids, counts: Ids) -> Ids:
    """The concatenated ranges starts[i] .. starts[i] + counts[i] - 1."""
    before = np.cumsum(counts) - counts
    return np.repeat(starts - before, counts) + np.arange(int(counts.sum()), dtype=np.int64)


def _ids(values: Sequence[int]) -> Ids:
    return np.array(values, dtype=np.int64)
