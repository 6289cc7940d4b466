"""The file_search tool: the model writes queries, the vector stores answer, the answer cites the files it used.

Citations are placed by evidence, not by asking a small model to write markers: each file the model read is cited
at the end of the sentence of the answer that shares the most content words with that file's passages. A file no
sentence draws on is not cited; an answer that draws on none still cites the best result at its end, as OpenAI's
answers do.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

from openai.types.responses import ResponseFileSearchToolCall, ResponseOutputItem
from openai.types.responses.response_file_search_tool_call import Result
from pydantic import BaseModel, ConfigDict, Field, model_validator

from homeport.engines.base import ToolCall
from homeport.engines.constraints import FunctionTool
from homeport.errors import HomeportError
from homeport.retrieval.filters import Filter, parse_filter
from homeport.retrieval.search import SearchResult
from homeport.retrieval.vector_stores import VectorStoreService
from homeport.tools.base import Progress, ServerTool, ToolResult
from homeport.tools.evidence import best_sentence, content_words

log = logging.getLogger("homeport.tools")

_STRICT = ConfigDict(extra="forbid", strict=True)

DESCRIPTION = (
    "Search the user's uploaded files. Call it before answering any question about their content; "
    "write one or more short search queries."
)
NOTE = "These are the search results. Now answer the user's question from them, in plain sentences."
PARAMETERS = {
    "type": "object",
    "properties": {
        "queries": {
            "type": "array",
            "items": {"type": "string", "minLength": 2, "maxLength": 160},
            "minItems": 1,
            "maxItems": 4,
        }
    },
    "required": ["queries"],
    "additionalProperties": False,
}


class HybridWeights(BaseModel):
    model_config = _STRICT
    embedding_weight: float = Field(ge=0)
    text_weight: float = Field(ge=0)


class RankingOptions(BaseModel):
    model_config = _STRICT
    ranker: Literal["auto", "default-2024-11-15"] = "auto"
    score_threshold: float = Field(0.0, ge=0, le=1)
    hybrid_search: HybridWeights | None = None

    @model_validator(mode="after")
    def _some_weight(self) -> RankingOptions:
        weights = self.hybrid_search
        if weights is not None and weights.embedding_weight + weights.text_weight <= 0:
            raise ValueError("hybrid_search weights must not both be zero")
        return self


class FileSearchParam(BaseModel):
    model_config = _STRICT
    type: Literal["file_search"]
    vector_store_ids: list[str] = Field(min_length=1, max_length=16)
    max_num_results: int = Field(20, ge=1, le=50)
    filters: dict[str, Any] | None = None
    ranking_options: RankingOptions = Field(default_factory=lambda: RankingOptions.model_validate({}))

    def echo(self) -> dict[str, Any]:
        """The tool as the response shows it: every default filled in."""
        return self.model_dump(exclude_none=True) | {"filters": self.filters}


class FileSearchCallItem(BaseModel):
    """A `file_search_call` replayed as input (as `response.output` hands it back)."""

    model_config = _STRICT
    type: Literal["file_search_call"]
    id: str = Field(min_length=1)
    queries: list[str]
    status: Literal["in_progress", "searching", "completed", "incomplete", "failed"]
    results: list[dict[str, Any]] | None = None


def replay(item: dict[str, Any]) -> tuple[ToolCall, str]:
    """A stored or replayed call as the model reads it again: its queries, and the results if they were kept."""
    call = ToolCall("file_search", arguments=json.dumps({"queries": item.get("queries", [])}))
    results = item.get("results")
    if results is None:
        return call, "(The search results of this call were not kept.)"
    pieces = [f"[{n}] {result.get('filename', '')}\n{result.get('text', '')}" for n, result in enumerate(results, 1)]
    return call, "\n\n".join(pieces) or "No results were found in the files."


class FileSearch(ServerTool):
    id_prefix = "fs"

    def __init__(
        self,
        param: FileSearchParam,
        *,
        project: str,
        vector_stores: VectorStoreService,
        include_results: bool,
        where: str,
    ) -> None:
        self._param = param
        self._project = project
        self._stores = vector_stores
        self._include_results = include_results
        self._where = where
        self._filter: Filter | None = (
            None if param.filters is None else parse_filter(param.filters, param=f"{where}.filters")
        )

    async def check(self) -> None:
        for index, vector_store_id in enumerate(self._param.vector_store_ids):
            where = f"{self._where}.vector_store_ids[{index}]"
            await self._stores.usable(self._project, vector_store_id, param=where)

    @property
    def function(self) -> FunctionTool:
        return FunctionTool("file_search", PARAMETERS, strict=True, description=DESCRIPTION)

    async def start(self, item_id: str) -> ResponseOutputItem:
        return ResponseFileSearchToolCall(
            id=item_id, type="file_search_call", status="in_progress", queries=[], results=None
        )

    async def run(
        self, item: ResponseOutputItem, arguments: dict[str, Any], question: str
    ) -> AsyncIterator[str | Progress | ToolResult]:
        assert isinstance(item, ResponseFileSearchToolCall)
        written = arguments.get("queries")
        queries = [query.strip() for query in written if _says_something(query)] if isinstance(written, list) else []
        # A query of punctuation finds nothing: search for what the user asked instead.
        queries = queries or ([question.strip()] if question.strip() else [])
        item.queries = queries
        yield "response.file_search_call.in_progress"
        item.status = "searching"
        yield "response.file_search_call.searching"
        try:
            results = await self._search(queries)
        except HomeportError as exc:
            log.warning("file_search failed: %s", exc.message)
            item.status = "failed"
            yield ToolResult(item, ["The search failed: " + exc.message])
            return
        item.status = "completed"
        if self._include_results:
            item.results = [Result.model_validate(_result(result)) for result in results]
        yield "response.file_search_call.completed"
        pieces = [f"[{n}] {result.filename}\n{result.text}" for n, result in enumerate(results, 1)]
        yield ToolResult(item, pieces or ["No results were found in the files."], _citer(results), NOTE)

    async def _search(self, queries: Sequence[str]) -> list[SearchResult]:
        options = self._param.ranking_options
        weights = options.hybrid_search
        results = await self._stores.searcher.search(
            self._project,
            self._param.vector_store_ids,
            queries,
            limit=self._param.max_num_results,
            filter=self._filter,
            ranker=options.ranker,
            score_threshold=options.score_threshold,
            weights=None if weights is None else (weights.embedding_weight, weights.text_weight),
        )
        await self._stores.touch(self._param.vector_store_ids)
        return results


def _says_something(query: object) -> bool:
    return isinstance(query, str) and bool(content_words(query))


def _result(result: SearchResult) -> dict[str, Any]:
    return {
        "file_id": result.file_id,
        "filename": result.filename,
        "score": result.score,
        "text": result.text,
        "attributes": result.attributes,
    }


def _citer(results: Sequence[SearchResult]) -> Any:
    def annotate(text: str, read: int) -> list[dict[str, Any]]:
        return citations(text, results[:read])

    return annotate


def citations(text: str, results: Sequence[SearchResult]) -> list[dict[str, Any]]:
    """`file_citation` annotations for an answer built on `results` (ordered by `index`)."""
    if not text.strip() or not results:
        return []
    by_file: dict[str, tuple[SearchResult, set[str]]] = {}
    for result in results:
        words = content_words(result.text)
        if result.file_id in by_file:
            by_file[result.file_id][1].update(words)
        else:
            by_file[result.file_id] = (result, words)
    cited: list[dict[str, Any]] = []
    for result, words in by_file.values():
        span = best_sentence(text, words)
        if span is not None:
            cited.append(_citation(result, span[1]))
    if not cited:
        cited.append(_citation(results[0], len(text.rstrip())))
    return sorted(cited, key=lambda citation: citation["index"])


def _citation(result: SearchResult, index: int) -> dict[str, Any]:
    return {"type": "file_citation", "file_id": result.file_id, "filename": result.filename, "index": index}
