"""Searching vector stores: one entry point for `POST /v1/vector_stores/{id}/search` and the file_search tool.

Attribute filters are evaluated here, against the files' attributes in the store, and become the set of files the
index may return; the index never sees attributes. Several queries are searched one by one and merged, each chunk
keeping its best score.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from anyio import to_thread

from homeport.retrieval.embedder import Embedder
from homeport.retrieval.filters import Filter, matches
from homeport.retrieval.index import Hit, VectorIndex
from homeport.store.files import FileRepository
from homeport.store.vector_stores import VectorStoreRepository

Ranker = Literal["none", "auto", "default-2024-11-15"]

_STOPWORDS = frozenset(
    """a an and are as at be by can could do does for from has have how i if in is it me my of on or our please
    should so tell than that the their them then there these this to us was we what when where which who why will
    with would you your""".split()
)


def rewrite_query(query: str) -> str:
    """The query as a search engine wants it: the content words, lowercased, in order, once each.

    OpenAI rewrites with a model; this is the deterministic core of what such a rewrite does for keyword and
    vector search alike (question words and filler carry no signal)."""
    words = re.findall(r"[\w'-]+", query.lower())
    kept = [word for word in dict.fromkeys(words) if word not in _STOPWORDS]
    return " ".join(kept) or query.strip()


@dataclass(frozen=True)
class SearchResult:
    vector_store_id: str
    file_id: str
    filename: str
    score: float
    text: str
    attributes: dict[str, Any]

    def wire(self) -> dict[str, Any]:
        """A `VectorStoreSearchResponse`."""
        return {
            "file_id": self.file_id,
            "filename": self.filename,
            "score": self.score,
            "attributes": self.attributes,
            "content": [{"type": "text", "text": self.text}],
        }


class Searcher:
    def __init__(
        self, stores: VectorStoreRepository, files: FileRepository, index: VectorIndex, embedder: Embedder
    ) -> None:
        self._stores = stores
        self._files = files
        self._index = index
        self._embedder = embedder

    async def search(
        self,
        project: str,
        vector_store_ids: Sequence[str],
        queries: Sequence[str],
        *,
        limit: int,
        filter: Filter | None = None,
        ranker: Ranker = "auto",
        score_threshold: float = 0.0,
        weights: tuple[float, float] | None = None,
    ) -> list[SearchResult]:
        """The best `limit` chunks over all queries, best first; only completed files that pass the filter.
        `weights` are the hybrid (embedding, text) weights; None: the index's defaults."""
        ready = await self._stores.files(vector_store_ids, status="completed")
        allowed = {(file.vector_store_id, file.file_id): file.attributes for file in ready}
        if filter is not None:
            allowed = {pair: attributes for pair, attributes in allowed.items() if matches(filter, attributes)}
        if not allowed or not queries:
            return []
        mode: Literal["hybrid", "vector"] = "vector" if ranker == "none" else "hybrid"
        vectors = await to_thread.run_sync(self._embedder.embed, list(queries))
        weighting = {} if weights is None else {"embedding_weight": weights[0], "text_weight": weights[1]}
        best: dict[tuple[str, str, int], Hit] = {}
        for query, vector in zip(queries, vectors, strict=True):
            search = partial(
                self._index.search,
                vector_store_ids,
                query,
                vector,
                limit=limit,
                file_ids=set(allowed),
                mode=mode,
                score_threshold=score_threshold,
                **weighting,
            )
            hits = await to_thread.run_sync(search)
            for hit in hits:
                key = (hit.vector_store_id, hit.file_id, hit.chunk_index)
                if key not in best or best[key].score < hit.score:
                    best[key] = hit
        ranked = sorted(best.values(), key=lambda hit: -hit.score)[:limit]
        names = await self._files.get_many(project, [hit.file_id for hit in ranked])
        return [
            SearchResult(
                hit.vector_store_id,
                hit.file_id,
                names[hit.file_id].filename if hit.file_id in names else "",
                round(hit.score, 4),
                hit.text,
                allowed[(hit.vector_store_id, hit.file_id)],
            )
            for hit in ranked
        ]
