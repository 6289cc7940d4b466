"""web_search against a SearXNG-compatible server started here: the item, its events, filters, sources, citations.

The small model is made to search (`tool_choice`); what it writes does not matter, only what Homeport does with
its query and the pages that come back.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import openai
import pytest
from openai import OpenAI
from openai.types.responses import ResponseFunctionWebSearch
from tests.conftest import Server

PAGES = [
    {
        "url": "https://www.example.org/otters",
        "title": "Sea otters",
        "content": "Sea otters hold hands while they sleep.",
    },
    {"url": "https://news.example.com/otters", "title": "Otter news", "content": "Otters use rocks as tools."},
    {"url": "https://example.org/rivers", "title": "River otters", "content": "River otters live in burrows."},
    {"url": "https://other.net/a", "title": "A", "content": "Something else entirely."},
    {"url": "https://other.net/b", "title": "B", "content": "Another page."},
    {"url": "https://other.net/c", "title": "C", "content": "And another."},
]


class FakeSearxng(http.server.BaseHTTPRequestHandler):
    """`GET /search?q=…&format=json` as SearXNG answers it; records the queries, fails while `failing` is set."""

    queries: list[str] = []
    failing = False

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        arguments = parse_qs(parts.query)
        if parts.path != "/search" or arguments.get("format") != ["json"] or FakeSearxng.failing:
            self.send_response(500)
            self.end_headers()
            return
        FakeSearxng.queries.append(arguments["q"][0])
        body = json.dumps({"query": arguments["q"][0], "results": PAGES}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture(scope="module")
def searxng() -> Iterator[str]:
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeSearxng)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{site.server_address[1]}"
    site.shutdown()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, searxng: str) -> Iterator[OpenAI]:
    env = {
        "HOMEPORT_CONTEXT_SIZE": "2048",
        "HOMEPORT_SEARXNG_URL": searxng,
        "HOMEPORT_OUTBOUND_ALLOW": "127.0.0.1/32",
    }
    running = Server(Path(tmp_path_factory.mktemp("homeport-web")), env=env).start()
    yield running.client()
    running.stop()


def search(client: OpenAI, tool: dict[str, Any], **options: Any) -> Any:
    return client.responses.create(
        model="gpt-4o",
        input="Do otters hold hands?",
        tools=[tool],  # type: ignore[list-item]
        tool_choice={"type": "web_search_preview"},  # the SDK names web_search by its preview type here
        parallel_tool_calls=False,
        max_output_tokens=200,
        temperature=0,
        **options,
    )


def test_a_search_streams_its_events_sources_and_citations(client: OpenAI) -> None:
    FakeSearxng.queries.clear()
    with client.responses.stream(
        model="gpt-4o",
        input="Do otters hold hands?",
        tools=[{"type": "web_search"}],
        tool_choice={"type": "web_search_preview"},
        include=["web_search_call.action.sources"],
        parallel_tool_calls=False,
        max_output_tokens=200,
        temperature=0,
    ) as stream:
        events = list(stream)
    types = [event.type for event in events]
    assert [t for t in types if t.startswith("response.web_search_call")] == [
        "response.web_search_call.in_progress",
        "response.web_search_call.searching",
        "response.web_search_call.completed",
    ]
    final = events[-1].response  # type: ignore[union-attr]
    call = final.output[0]
    assert isinstance(call, ResponseFunctionWebSearch) and call.id.startswith("ws_") and call.status == "completed"
    assert call.action.type == "search" and FakeSearxng.queries == [call.action.query]
    assert [source.url for source in call.action.sources or []] == [page["url"] for page in PAGES[:5]]
    assert final.tools[0].search_context_size == "medium"  # type: ignore[union-attr]
    message = final.output[-1]
    citations = message.content[0].annotations  # type: ignore[union-attr]
    assert citations and all(citation.type == "url_citation" for citation in citations)
    text = message.content[0].text  # type: ignore[union-attr]
    for citation in citations:
        assert citation.url in {page["url"] for page in PAGES[:5]}
        assert 0 <= citation.start_index <= citation.end_index <= len(text)
    # Sources are shown only when asked for.
    again = search(client, {"type": "web_search"})
    assert again.output[0].action.sources is None


def test_filters_and_context_size(client: OpenAI) -> None:
    FakeSearxng.queries.clear()
    tool = {"type": "web_search", "filters": {"allowed_domains": ["example.org"]}, "search_context_size": "low"}
    narrowed = search(client, tool, include=["web_search_call.action.sources"])
    sources = [source.url for source in narrowed.output[0].action.sources]
    assert sources == ["https://www.example.org/otters", "https://example.org/rivers"]  # subdomains included
    assert FakeSearxng.queries[-1].endswith(" site:example.org")
    low = search(
        client, {"type": "web_search_preview", "search_context_size": "low"}, include=["web_search_call.action.sources"]
    )
    assert len(low.output[0].action.sources) == 3


def test_the_location_reaches_the_model(client: OpenAI) -> None:
    plain = search(client, {"type": "web_search"})
    located = search(
        client,
        {"type": "web_search", "user_location": {"type": "approximate", "city": "Lyon", "country": "FR"}},
    )
    assert located.usage.input_tokens > plain.usage.input_tokens
    assert located.tools[0].user_location.city == "Lyon"  # type: ignore[union-attr]

    def prompt(location: dict[str, str]) -> int:
        tool = {"type": "web_search", "user_location": {"type": "approximate", **location}}
        return client.responses.input_tokens.count(model="gpt-4o", input="news", tools=[tool]).input_tokens  # type: ignore[list-item]

    assert prompt({"city": "Lyon", "timezone": "Europe/Paris"}) > prompt({"city": "Lyon"}), "the time zone is told too"


def test_a_failing_provider_gives_a_failed_item(client: OpenAI) -> None:
    FakeSearxng.failing = True
    try:
        response = search(client, {"type": "web_search"})
    finally:
        FakeSearxng.failing = False
    call = response.output[0]
    assert isinstance(call, ResponseFunctionWebSearch) and call.status == "failed"
    assert response.status in ("completed", "incomplete")


WEB = "web_search"


@pytest.mark.parametrize(
    ("tool", "param"),
    [
        ({"type": WEB, "filters": {"allowed_domains": ["https://example.org"]}}, "tools[0].filters.allowed_domains"),
        (
            {"type": WEB, "filters": {"allowed_domains": [f"d{n}.org" for n in range(21)]}},
            "tools[0].filters.allowed_domains",
        ),
        ({"type": WEB, "user_location": {"country": "France"}}, "tools[0].user_location.country"),
        ({"type": WEB, "user_location": {"timezone": "Mars/Olympus"}}, "tools[0].user_location.timezone"),
        ({"type": "web_search_preview", "filters": {"allowed_domains": ["example.org"]}}, "tools[0].filters"),
        ({"type": WEB, "search_context_size": "huge"}, "tools[0].search_context_size"),
    ],
)
def test_bad_entries_name_their_param(client: OpenAI, tool: dict[str, Any], param: str) -> None:
    with pytest.raises(openai.BadRequestError) as bad:
        client.responses.create(model="gpt-4o", input="Hi", tools=[tool])  # type: ignore[list-item]
    assert bad.value.param == param


def test_without_a_provider_web_search_says_how_to_get_one(server: Server) -> None:
    with pytest.raises(openai.BadRequestError) as missing:
        server.client().responses.create(model="gpt-4o", input="Hi", tools=[{"type": "web_search"}])
    assert missing.value.param == "tools[0]" and "HOMEPORT_SEARXNG_URL" in missing.value.message
