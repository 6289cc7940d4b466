"""Reading a Responses event stream the way a client does: one (event type, data) pair per frame, as it arrives."""

from __future__ import annotations

import json
from collections.abc import Iterator
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
