"""The keyword side of the hybrid index: a query's words, planned into FTS5 queries and scored with bm25.

Kept apart from index.py because it is a query planner, not storage: it reads a store snapshot through the few
members `KeywordStore` names, and returns chunk id -> relevance (-bm25) for the index to normalise and fuse. Every
shortcut it takes must leave FTS5's own top `limit` unchanged (tests/test_index.py compares with a plain FTS5 table).
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

Words = dict[str, list[str]]  # a query word -> the index terms the tokenizer makes of it, rarest first

TOKENIZER = "porter unicode61 remove_diacritics 2"
"""FTS5 tokenizer of the index's tables; queries go through the same one, so their terms are the index's."""

_IDF_SHARE = 0.5
"""A query word whose IDF is below this share of the rarest word's is 'common' (see `keyword_scores`)."""

_FTS5_K1, _IDF_FLOOR = 1.2, 1e-6
"""FTS5's bm25 constants (fts5_aux.c): term-frequency saturation k1; the IDF of a word in half the rows or more."""

_MAX_WORDS = 32
"""Query words kept for the keyword side: a pasted document must not become a thousand-term OR."""

_WORD = re.compile(r"\w+")


class KeywordStore(Protocol):
    """What the keyword side reads of one store snapshot (index.py's `_Store`); read-only but for the cache."""

    @property
    def key(self) -> int:
        """The store's key: its FTS5 table is `fts_<key>`."""

    @property
    def chunks(self) -> int:
        """Chunks in the whole store, bm25's N (not only those of the files in scope)."""

    @property
    def frequencies(self) -> dict[str, int]:
        """Index term -> chunks holding it, filled here as terms are met and kept for the store's generation."""

    def locate(self, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Index of the file in scope holding each chunk id, or -1."""


def create_query_tables(conn: sqlite3.Connection) -> None:
    """Scratch tables on a new connection to tokenize queries with the index's own tokenizer (see `_words`)."""
    conn.execute(f"CREATE VIRTUAL TABLE temp.query_words USING fts5(text, tokenize='{TOKENIZER}')")
    conn.execute("CREATE VIRTUAL TABLE temp.query_tokens USING fts5vocab(temp, query_words, 'instance')")


def keyword_scores(
    conn: sqlite3.Connection, scope: Sequence[KeywordStore], query: str, limit: int, pool: int
) -> dict[int, float]:
    """Chunk id -> relevance (-bm25) of keyword matches in scope, the best `limit` of them exactly those of FTS5.

    bm25 costs ~1.5 us a matching chunk, and a common word matches many while adding little to any score. So each
    store is asked for chunks holding a rare word, then for those also holding a common word (FTS5 intersects by
    seeking, so common words' long doclists are not walked row by row): both exact, bm25 being a sum over words.
    A chunk with only common words scores at most (k1 + 1) x their IDFs; when fewer than `limit` chunks beat that,
    the store is asked for all the words at once. Words in half the chunks are left out: their IDF is 1e-6.
    """
    words = _words(conn, query)
    found: dict[int, float] = {}
    for store in scope:
        rare, common = _split(conn, store, words, pool)
        matches = _matches(conn, store, _any(rare))
        if common:
            matches |= _matches(conn, store, f"({_any(rare)}) AND ({_any(common)})")
            bound = (_FTS5_K1 + 1) * sum(_idf(store, store.frequencies[terms[0]]) for terms in common.values())
            if sum(relevance > bound for relevance in matches.values()) < limit:
                matches = _matches(conn, store, _any(rare | common))
        found |= matches
    return found


def _matches(conn: sqlite3.Connection, store: KeywordStore, expression: str) -> dict[int, float]:
    """Relevance of the store's chunks matching the expression, among the files in scope."""
    if not expression:
        return {}
    sql = f"SELECT rowid, -bm25(fts_{store.key}) FROM fts_{store.key} WHERE fts_{store.key} MATCH ?"
    rows = conn.execute(sql, (expression,)).fetchall()
    inside = (store.locate(np.array([rowid for rowid, _ in rows], dtype=np.int64)) >= 0).tolist()
    return {rowid: relevance for (rowid, relevance), keep in zip(rows, inside, strict=True) if keep}


def _any(words: Words) -> str:
    """FTS5 syntax matching any of the words. Each is quoted, a phrase: FTS5 reads nothing inside quotes as syntax,
    and a word from `\\w+` has no quote to escape."""
    return " OR ".join(f'"{word}"' for word in words)


def _words(conn: sqlite3.Connection, query: str) -> Words:
    """The query's words (lowercased, the first `_MAX_WORDS`) with the terms FTS5's tokenizer makes of each.

    Only the tokenizer knows what porter stemming makes of a word, and document frequencies are per term; it is
    asked through a scratch FTS5 table. A word with no term (e.g. "_") is left out: it could match nothing.
    """
    words = list(dict.fromkeys(word.lower() for word in _WORD.findall(query)))[:_MAX_WORDS]
    conn.execute("DELETE FROM temp.query_words")
    conn.executemany("INSERT INTO temp.query_words (rowid, text) VALUES (?, ?)", enumerate(words))
    terms: Words = {}
    for row, term in conn.execute("SELECT doc, term FROM temp.query_tokens"):
        terms.setdefault(words[row], []).append(term)
    return terms


def _split(conn: sqlite3.Connection, store: KeywordStore, words: Words, pool: int) -> tuple[Words, Words]:
    """The words present in the store as (rare, common), by the frequency of each word's rarest term.

    Taken rarest first, words are rare until one's IDF is below `_IDF_SHARE` of the rarest's, and the rare ones
    match at least `pool` chunks. Words at the IDF floor are dropped, unless no other word is present.
    """
    frequencies = store.frequencies
    vocabulary = f"temp.vocab_{store.key}"
    conn.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {vocabulary} USING fts5vocab(main, fts_{store.key}, 'row')")
    for term in {term for terms in words.values() for term in terms} - frequencies.keys():
        row = conn.execute(f"SELECT doc FROM {vocabulary} WHERE term = ?", (term,)).fetchone()
        frequencies[term] = row[0] if row else 0  # counting walks the term's doclist: cached for the generation
    for terms in words.values():
        terms.sort(key=frequencies.__getitem__)
    present = sorted((w for w in words if frequencies[words[w][0]]), key=lambda w: frequencies[words[w][0]])
    idf = {word: _idf(store, frequencies[words[word][0]]) for word in present}
    weighty = [word for word in present if idf[word] > _IDF_FLOOR] or present
    rare = weighty[:1]
    for word in weighty[1:]:
        if idf[word] < _IDF_SHARE * idf[rare[0]] and frequencies[words[rare[-1]][0]] >= pool:
            break
        rare.append(word)
    return {w: words[w] for w in rare}, {w: words[w] for w in weighty[len(rare) :]}


def _idf(store: KeywordStore, frequency: int) -> float:
    """FTS5's bm25 IDF of a term in `frequency` of the store's chunks, floor included."""
    return max(math.log((store.chunks - frequency + 0.5) / (frequency + 0.5)), _IDF_FLOOR)
