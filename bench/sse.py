"""Reading event streams the way a client does, frame by frame as they arrive: Responses events (one
`event:`/`data:` pair each) and Chat Completions chunks (`data:` only, then `data: [DONE]`)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx

TEXT_DELTA = "response.output_text.delta"
TERMINAL = ("response.completed", "response.incomplete", "response.failed")


def events(response: httpx.Response) -> Iterator[tuple[str, str]]:
    """Yields each frame as soon as its data line is read; the data stays a string, parsed only where needed."""
    event = ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield event, line.removeprefix("data: ")


def terminal_usage(data: str) -> dict[str, Any]:
    """The usage of a terminal event's response; a failed response is an error, not a measurement."""
    response = json.loads(data)["response"]
    if response.get("status") == "failed" or not response.get("usage"):
        raise AssertionError(f"the response failed: {response.get('error')}")
    usage: dict[str, Any] = response["usage"]
    return usage


@dataclass(frozen=True)
class StreamTimes:
    """When the first text and the end of the answer arrived (perf_counter seconds), and the work it reports."""

    first_text: float
    end: float
    input_tokens: int
    output_tokens: int


def response_stream(response: httpx.Response) -> StreamTimes:
    """Times the first `response.output_text.delta` and the terminal event of a Responses stream."""
    first: float | None = None
    end = 0.0
    usage: dict[str, Any] | None = None
    for event, data in events(response):
        if event == TEXT_DELTA and first is None:
            first = time.perf_counter()
        elif event in TERMINAL:
            end, usage = time.perf_counter(), terminal_usage(data)
    if usage is None or first is None:
        raise AssertionError("the stream ended without a terminal event or without any text delta")
    return StreamTimes(first, end, usage["input_tokens"], usage["output_tokens"])


def chat_stream(response: httpx.Response) -> StreamTimes:
    """Times the first chunk with text and the usage chunk (`include_usage`) of a Chat Completions stream.

    Chunks are recognised by their text, not parsed, so the client's own cost stays as small as on the Responses
    side; the opening chunk's `"content":""` is not text.
    """
    first: float | None = None
    end = 0.0
    usage: dict[str, Any] | None = None
    for _event, data in events(response):
        if data == "[DONE]":
            break
        if first is None and '"content":"' in data and '"content":""' not in data:
            first = time.perf_counter()
        elif '"choices":[]' in data:
            end, usage = time.perf_counter(), json.loads(data)["usage"]
        elif data.startswith('{"error"'):
            raise AssertionError(f"the completion failed: {data}")
    if usage is None or first is None:
        raise AssertionError("the stream ended without a usage chunk or without any text")
    return StreamTimes(first, end, usage["prompt_tokens"], usage["completion_tokens"])
