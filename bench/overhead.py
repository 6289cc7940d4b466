"""Homeport's overhead: one prompt and one token budget, through the engine directly and through an HTTP API
(`POST /v1/responses` or `POST /v1/chat/completions`).

Greedy sampling with a fixed output budget gives both paths the same model work, so what the HTTP side adds is
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


@dataclass(frozen=True)
class Api:
    """One HTTP API measured against the engine: the body it takes, and how its answer reports the work done."""

    path: str
    body: Callable[[str, int], dict[str, Any]]
    """(model, output tokens) -> the request body asking for PROMPT, greedy, with exactly that budget."""
    stream_options: dict[str, Any]
    """Added to a streaming body (Chat Completions reports usage only when asked)."""
    usage: Callable[[dict[str, Any]], tuple[int, int]]
    """A non-streaming answer -> (input tokens, output tokens)."""
    read_stream: Callable[[httpx.Response], sse.StreamTimes]


RESPONSES = Api(
    path="/responses",
    body=lambda model, tokens: {"model": model, "input": PROMPT, "temperature": 0, "max_output_tokens": tokens},
    stream_options={},
    usage=lambda answer: (answer["usage"]["input_tokens"], answer["usage"]["output_tokens"]),
    read_stream=sse.response_stream,
)

CHAT = Api(
    path="/chat/completions",
    body=lambda model, tokens: {
        "model": model,
        "messages": [{"role": "user", "content": PROMPT}],
        "temperature": 0,
        "max_tokens": tokens,
    },
    stream_options={"stream_options": {"include_usage": True}},
    usage=lambda answer: (answer["usage"]["prompt_tokens"], answer["usage"]["completion_tokens"]),
    read_stream=sse.chat_stream,
)


def measure(
    harness: Harness, client: httpx.Client, api: Api, *, stream: bool, runs: int, warmup: int, tokens: int
) -> Pairs:
    """`warmup + runs` alternating pairs; the warm-up pairs load caches and are dropped."""
    request = GenerateRequest([ChatMessage("user", PROMPT)], Sampling(temperature=0.0, max_tokens=tokens))
    body = api.body(harness.engine.model_id, tokens) | {"stream": stream}
    if stream:
        body |= api.stream_options
    direct, http = [], []
    for index in range(warmup + runs):
        direct_sample, http_sample = _pair(harness, client, api, request, body, swap=index % 2 == 1)
        _check_same_work(direct_sample, http_sample, tokens)
        if index >= warmup:
            direct.append(direct_sample)
            http.append(http_sample)
    return Pairs(direct, http)


def _pair(
    harness: Harness, client: httpx.Client, api: Api, request: GenerateRequest, body: dict[str, Any], *, swap: bool
) -> tuple[Sample, Sample]:
    """One direct and one HTTP generation, in the order `swap` says; returned as (direct, http)."""
    if swap:
        http_sample = _http(client, api, body)
        return _direct(harness, request, stream=body["stream"]), http_sample
    direct_sample = _direct(harness, request, stream=body["stream"])
    return direct_sample, _http(client, api, body)


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


def _http(client: httpx.Client, api: Api, body: dict[str, Any]) -> Sample:
    start = time.perf_counter()
    if not body["stream"]:
        response = client.post(api.path, json=body)
        total = time.perf_counter() - start
        response.raise_for_status()
        return Sample(total, None, *api.usage(response.json()))
    # Read to the end, so the keep-alive connection is reused by the next request.
    with client.stream("POST", api.path, json=body) as response:
        response.raise_for_status()
        times = api.read_stream(response)
    return Sample(times.end - start, times.first_text - start, times.input_tokens, times.output_tokens)
