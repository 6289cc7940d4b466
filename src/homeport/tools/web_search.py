"""The web_search tool: the model writes a query, the operator's search provider answers, the answer cites pages.

Citations are placed by evidence, as file_search's are: each page the model read is cited (`url_citation`) over
the sentence of the answer that shares the most content words with it; an answer that draws on none cites the best
page at its end.
"""

from __future__ import annotations

import json
import zoneinfo
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

from openai.types.responses import ResponseFunctionWebSearch, ResponseOutputItem
from openai.types.responses.response_function_web_search import ActionSearch, ActionSearchSource
from pydantic import BaseModel, ConfigDict, Field, field_validator

from homeport.engines.base import ToolCall
from homeport.engines.constraints import FunctionTool
from homeport.errors import InvalidRequest
from homeport.tools.base import Progress, ServerTool, ToolResult
from homeport.tools.evidence import best_sentence
from homeport.tools.search_providers import SearchFailed, SearchProvider, WebPage

_STRICT = ConfigDict(extra="forbid", strict=True)
PAGES = {"low": 3, "medium": 5, "high": 8}
"""Pages the model reads, by `search_context_size`."""

DESCRIPTION = "Searches the web. Write one short query; read the pages it returns and answer from them."
PARAMETERS = {
    "type": "object",
    # Bounded: a small model otherwise writes one query until its tokens run out.
    "properties": {"query": {"type": "string", "minLength": 1, "maxLength": 100}},
    "required": ["query"],
    "additionalProperties": False,
}


class UserLocation(BaseModel):
    model_config = _STRICT
    type: Literal["approximate"] = "approximate"
    city: str | None = None
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$")
    region: str | None = None
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _iana(cls, value: str | None) -> str | None:
        if value is not None and value not in zoneinfo.available_timezones():
            raise ValueError(f"'{value}' is not an IANA time zone")
        return value

    def said(self) -> str:
        place = ", ".join(part for part in (self.city, self.region, self.country) if part)
        where = f" The user is in {place}; prefer results for there." if place else ""
        return where + (f" The user's time zone is {self.timezone}." if self.timezone else "")


class Filters(BaseModel):
    model_config = _STRICT
    allowed_domains: list[str] | None = Field(None, max_length=20)

    @field_validator("allowed_domains")
    @classmethod
    def _bare(cls, domains: list[str] | None) -> list[str] | None:
        for domain in domains or []:
            if "://" in domain or "/" in domain or not domain.strip("."):
                raise ValueError(f"'{domain}' is not a domain name (no scheme or path)")
        return [domain.lower().strip(".") for domain in domains] if domains is not None else None


class WebSearchParam(BaseModel):
    model_config = _STRICT
    type: Literal["web_search", "web_search_2025_08_26", "web_search_preview", "web_search_preview_2025_03_11"]
    filters: Filters | None = None
    search_context_size: Literal["low", "medium", "high"] | None = None
    user_location: UserLocation | None = None

    def echo(self) -> dict[str, Any]:
        shown = self.model_dump(exclude_none=True)
        shown.setdefault("search_context_size", "medium")
        return shown


class WebSearchCallItem(BaseModel):
    """A `web_search_call` replayed as input."""

    model_config = ConfigDict(extra="forbid", strict=True)
    type: Literal["web_search_call"]
    id: str
    status: Literal["in_progress", "searching", "completed", "failed", "incomplete"]
    action: dict[str, Any]


def replay_web_search(item: dict[str, Any]) -> tuple[ToolCall, str]:
    """The search as the model made it; the pages it read are not kept, so it is told so."""
    query = str(item.get("action", {}).get("query") or "")
    return ToolCall("web_search", arguments=json.dumps({"query": query})), "(The pages read then were not kept.)"


class WebSearch(ServerTool):
    id_prefix = "ws"

    def __init__(
        self, param: WebSearchParam, *, provider: SearchProvider | None, include_sources: bool, where: str
    ) -> None:
        self._param = param
        self._provider = provider
        self._include_sources = include_sources
        self._where = where

    async def check(self) -> None:
        if self._provider is None:
            raise InvalidRequest(
                "web_search needs a search provider, and this server has none: its operator sets "
                "HOMEPORT_SEARXNG_URL to a SearXNG instance with the JSON format enabled.",
                param=self._where,
            )
        if self._param.type.startswith("web_search_preview") and self._param.filters is not None:
            raise InvalidRequest("'filters' belongs to the 'web_search' tool.", param=f"{self._where}.filters")
        await self._provider.check(param=self._where)

    @property
    def function(self) -> FunctionTool:
        located = self._param.user_location.said() if self._param.user_location else ""
        return FunctionTool("web_search", PARAMETERS, description=DESCRIPTION + located)

    async def start(self, item_id: str) -> ResponseOutputItem:
        return ResponseFunctionWebSearch(
            id=item_id, type="web_search_call", status="in_progress", action=ActionSearch(type="search", query="")
        )

    async def run(
        self, item: ResponseOutputItem, arguments: dict[str, Any], question: str
    ) -> AsyncIterator[str | Progress | ToolResult]:
        assert isinstance(item, ResponseFunctionWebSearch) and isinstance(item.action, ActionSearch)
        assert self._provider is not None
        query = arguments.get("query") if isinstance(arguments.get("query"), str) else ""
        item.action.query = str(query).strip() or question
        yield "response.web_search_call.in_progress"
        item.status = "searching"
        yield "response.web_search_call.searching"
        domains = (self._param.filters.allowed_domains or []) if self._param.filters else []
        count = PAGES[self._param.search_context_size or "medium"]
        try:
            pages = await self._provider.search(item.action.query, domains=domains, count=count)
        except SearchFailed as exc:
            item.status = "failed"
            yield ToolResult(item, [str(exc)])
            return
        item.status = "completed"
        if self._include_sources:
            item.action.sources = [ActionSearchSource(type="url", url=page.url) for page in pages]
        yield "response.web_search_call.completed"
        pieces = [f"[{index + 1}] {page.title}\n{page.url}\n{page.snippet}" for index, page in enumerate(pages)]
        yield ToolResult(item, pieces or ["No pages found."], _citer(pages), note="Answer from these pages.")


def _citer(pages: Sequence[WebPage]) -> Any:
    def annotate(text: str, read: int) -> list[dict[str, Any]]:
        return url_citations(text, pages[:read])

    return annotate if pages else None


def url_citations(text: str, pages: Sequence[WebPage]) -> list[dict[str, Any]]:
    """A `url_citation` for each page the answer draws on, over the sentence that draws on it most."""
    if not text.strip() or not pages:
        return []
    cited = []
    for page in pages:
        span = best_sentence(text, f"{page.title} {page.snippet}")
        if span is not None:
            cited.append(_citation(page, *span))
    if not cited:
        end = len(text.rstrip())
        cited.append(_citation(pages[0], end, end))
    return sorted(cited, key=lambda citation: citation["start_index"])


def _citation(page: WebPage, start: int, end: int) -> dict[str, Any]:
    return {"type": "url_citation", "url": page.url, "title": page.title, "start_index": start, "end_index": end}
