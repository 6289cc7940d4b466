"""Homeport's overhead: one prompt and one token budget, through the engine directly and through POST /v1/responses.

Greedy sampling with a fixed `max_output_tokens` gives both paths the same model work, so what the HTTP side adds is
Homeport itself: parsing, validation, storing, event building, JSON/SSE framing and the HTTP round trip. The two paths
run alternately (and swap who goes first) so both see the same KV-cache state and the same drift in machine load.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx

import sse
from harness import Harness
from homeport.engines import ChatMessage, Engine, EngineDelta, Finished, GenerateRequest, Sampling, TextDelta

PROMPT = "Write a long essay about the history of the Roman Empire."
"""Greedy decoding of this runs past 300 tokens on smollm2-135m-instruct: a token budget is reached, never cut short."""


@dataclass(frozen=True)
class Sample:
    """One generation as the caller thread saw it. `first_token_s` is None for a non-streaming call."""

    total_s: float
    first_token_s: float | None
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class Pairs:
    direct: list[Sample]
    http: list[Sample]


def measure(harness: Harness, client: httpx.Client, *, stream: bool, runs: int, warmup: int, tokens: int) -> Pairs:
    """`warmup + runs` alternating pairs; the warm-up pairs load caches and are dropped."""
    request = GenerateRequest([ChatMessage("user", PROMPT)], Sampling(temperature=0.0, max_tokens=tokens))
    body = {"model": harness.engine.model_id, "input": PROMPT, "temperature": 0, "max_output_tokens": tokens}
    direct, http = [], []
    for index in range(warmup + runs):
        direct_sample, http_sample = _pair(harness, client, request, body | {"stream": stream}, swap=index % 2 == 1)
        _check_same_work(direct_sample, http_sample, tokens)
        if index >= warmup:
            direct.append(direct_sample)
            http.append(http_sample)
    return Pairs(direct, http)


def _pair(
    harness: Harness, client: httpx.Client, request: GenerateRequest, body: dict[str, Any], *, swap: bool
) -> tuple[Sample, Sample]:
    """One direct and one HTTP generation, in the order `swap` says; returned as (direct, http)."""
    if swap:
        http_sample = _http(client, body)
        return _direct(harness, request, stream=body["stream"]), http_sample
    direct_sample = _direct(harness, request, stream=body["stream"])
    return direct_sample, _http(client, body)


def _check_same_work(direct: Sample, http: Sample, tokens: int) -> None:
    """A ratio is only meaningful if the model did the same work on both sides."""
    if direct.input_tokens != http.input_tokens:
        raise AssertionError(f"prompt tokens differ: direct {direct.input_tokens}, http {http.input_tokens}")
    if direct.output_tokens != http.output_tokens or direct.output_tokens != tokens:
        raise AssertionError(
            f"output tokens differ: direct {direct.output_tokens}, http {http.output_tokens}, asked for {tokens} "
            "(the model stopped early; use a prompt that runs longer)"
        )


def _direct(harness: Harness, request: GenerateRequest, *, stream: bool) -> Sample:
    """The engine called on the server's loop, its deltas handed to this thread as they come (or all at once)."""
    deltas: queue.SimpleQueue[EngineDelta | None] = queue.SimpleQueue()
    start = time.perf_counter()
    if stream:
        job = harness.submit(_pump(harness.engine, request, deltas.put))
    else:
        job = harness.submit(_pump_collected(harness.engine, request, deltas.put))
    first: float | None = None
    end = start
    finished: Finished | None = None
    while (delta := deltas.get()) is not None:
        if first is None and isinstance(delta, TextDelta) and delta.text:
            first = time.perf_counter()
        elif isinstance(delta, Finished):
            end, finished = time.perf_counter(), delta
    job.result()
    if finished is None:
        raise AssertionError("the engine ended without a Finished delta")
    first_token = first - start if stream and first is not None else None
    return Sample(end - start, first_token, finished.usage.input_tokens, finished.usage.output_tokens)


async def _pump(engine: Engine, request: GenerateRequest, put: Callable[[EngineDelta | None], None]) -> None:
    """Every delta to `put` as soon as the engine yields it, then None; runs the generator to its end, as Homeport
    does, so the engine lock is released before the next request."""
    try:
        async with aclosing(engine.generate(request)) as deltas:
            async for delta in deltas:
                put(delta)
    finally:
        put(None)


async def _pump_collected(engine: Engine, request: GenerateRequest, put: Callable[[EngineDelta | None], None]) -> None:
    """The non-streaming twin of `_pump`: the caller hears nothing until the whole answer exists."""
    collected: list[EngineDelta | None] = []
    try:
        await _pump(engine, request, collected.append)
    finally:
        for delta in collected:
            put(delta)


def _http(client: httpx.Client, body: dict[str, Any]) -> Sample:
    return _http_stream(client, body) if body["stream"] else _http_once(client, body)


def _http_once(client: httpx.Client, body: dict[str, Any]) -> Sample:
    start = time.perf_counter()
    response = client.post("/responses", json=body)
    total = time.perf_counter() - start
    response.raise_for_status()
    usage: dict[str, Any] = response.json()["usage"]
    return Sample(total, None, usage["input_tokens"], usage["output_tokens"])


def _http_stream(client: httpx.Client, body: dict[str, Any]) -> Sample:
    """Times the first `response.output_text.delta` and the terminal event as they arrive; reads the stream to its
    end so the keep-alive connection is reused by the next request."""
    start = time.perf_counter()
    first: float | None = None
    end = start
    usage: dict[str, Any] | None = None
    with client.stream("POST", "/responses", json=body) as response:
        response.raise_for_status()
        for event, data in sse.events(response):
            if event == sse.TEXT_DELTA and first is None:
                first = time.perf_counter()
            elif event in sse.TERMINAL:
                end, usage = time.perf_counter(), sse.terminal_usage(data)
    if usage is None or first is None:
        raise AssertionError("the stream ended without a terminal event or without any text delta")
    return Sample(end - start, first - start, usage["input_tokens"], usage["output_tokens"])
