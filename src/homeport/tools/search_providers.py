"""Web search providers the operator chooses, behind one small interface: a query in, ranked pages out.

SearXNG (self-hosted, its JSON API) is the one shipped; Brave or Tavily would be a class each. Every provider
reaches the network through the outbound policy, like any URL Homeport fetches on a request's behalf.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import httpx2

from homeport.errors import InvalidRequest
from homeport.outbound import OutboundPolicy, check_url, pinned_client

_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class WebPage:
    url: str
    title: str
    snippet: str


class SearchFailed(Exception):
    """The provider could not be reached or answered with an error; the message is safe to show."""


class SearchProvider(Protocol):
    async def check(self, *, param: str) -> None:
        """A 400 naming `param` when the outbound policy does not let requests reach the provider."""
        ...

    async def search(self, query: str, *, domains: Sequence[str], count: int) -> list[WebPage]:
        """Up to `count` pages for `query`, best first, only from `domains` (and their subdomains) when given."""
        ...


def on_domains(url: str, domains: Sequence[str]) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return not domains or any(host == domain or host.endswith("." + domain) for domain in domains)


class Searxng:
    """A SearXNG instance's JSON API (`/search?format=json`), which its operator must have enabled."""

    def __init__(self, base_url: str, policy: OutboundPolicy) -> None:
        self._url = base_url.rstrip("/") + "/search"
        self._policy = policy

    async def check(self, *, param: str) -> None:
        await check_url(self._url, self._policy, what="The search provider (HOMEPORT_SEARXNG_URL)", param=param)

    async def search(self, query: str, *, domains: Sequence[str], count: int) -> list[WebPage]:
        # One domain narrows the search itself; with several, the results are filtered below.
        scoped = f"{query} site:{domains[0]}" if len(domains) == 1 else query
        url = self._url
        try:
            target = await check_url(url, self._policy, what="The search provider", param="tools")
            async with pinned_client(target, timeout=_TIMEOUT_SECONDS) as client:
                answer = await client.get(url, params={"q": scoped, "format": "json"})
            answer.raise_for_status()
            results = answer.json().get("results", [])
        except (httpx2.HTTPError, ValueError, InvalidRequest) as exc:
            raise SearchFailed(f"The search provider failed: {type(exc).__name__}.") from exc
        pages = [
            WebPage(str(result["url"]), str(result.get("title") or result["url"]), str(result.get("content") or ""))
            for result in results
            if isinstance(result, dict) and isinstance(result.get("url"), str)
        ]
        return [page for page in pages if on_domains(page.url, domains)][:count]
