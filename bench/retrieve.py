"""Retrieve throughput: how many `GET /v1/responses/{id}` the server answers while idle and while the engine is busy.

The engine's token loop runs in a worker thread so the event loop stays free for other requests; this measures how
much of that promise holds, by hammering a stored response with sequential GETs over one keep-alive connection.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx

import sse
from overhead import PROMPT

_START_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Throughput:
    """Sequential GETs over one window: their count, the window's length and each request's latency."""

    seconds: float
    latencies_s: list[float]

    @property
    def per_second(self) -> float:
        return len(self.latencies_s) / self.seconds

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies_s) * 1000


@dataclass(frozen=True)
class Busy:
    throughput: Throughput
    generated_tokens: int
    generation_outlived_window: bool
    """False if the generation ended before the window did: the window was cut short to stay busy throughout."""


def stored_response(client: httpx.Client, model: str) -> str:
    """A small completed response to retrieve; its body is the size a short chat answer stores."""
    body = {"model": model, "input": PROMPT, "temperature": 0, "max_output_tokens": 32}
    response = client.post("/responses", json=body)
    response.raise_for_status()
    response_id: str = response.json()["id"]
    return response_id


def idle(client: httpx.Client, response_id: str, seconds: float) -> Throughput:
    return _hammer(client, response_id, seconds, threading.Event())


def busy(base_url: str, client: httpx.Client, response_id: str, *, seconds: float, tokens: int, model: str) -> Busy:
    """GETs for `seconds` while a streamed generation of `tokens` runs, starting once its first token is out."""
    generating, done = threading.Event(), threading.Event()
    produced: list[int] = []
    body = {"model": model, "input": PROMPT, "temperature": 0, "max_output_tokens": tokens, "stream": True}
    worker = threading.Thread(target=_generate, args=(base_url, body, generating, done, produced), daemon=True)
    worker.start()
    if not generating.wait(_START_TIMEOUT_S):
        raise RuntimeError("the background generation produced no token")
    throughput = _hammer(client, response_id, seconds, done)
    outlived = not done.is_set()
    worker.join()
    if not produced:
        raise RuntimeError("the background generation failed")
    return Busy(throughput, produced[0], outlived)


def _hammer(client: httpx.Client, response_id: str, seconds: float, stop: threading.Event) -> Throughput:
    latencies: list[float] = []
    start = time.perf_counter()
    deadline = start + seconds
    now = start
    while now < deadline and not stop.is_set():
        response = client.get(f"/responses/{response_id}")
        after = time.perf_counter()
        response.raise_for_status()
        latencies.append(after - now)
        now = after
    return Throughput(now - start, latencies)


def _generate(
    base_url: str, body: dict[str, Any], generating: threading.Event, done: threading.Event, produced: list[int]
) -> None:
    """The busy load: a streaming client on its own connection, as a second user of the server would be."""
    try:
        with (
            httpx.Client(base_url=base_url, timeout=600) as client,
            client.stream("POST", "/responses", json=body) as response,
        ):
            for event, data in sse.events(response):
                if event == sse.TEXT_DELTA:
                    generating.set()
                elif event in sse.TERMINAL:
                    produced.append(sse.terminal_usage(data)["output_tokens"])
    finally:
        done.set()
        generating.set()
