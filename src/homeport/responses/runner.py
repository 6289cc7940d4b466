"""The turn loop: run the engine once and turn its deltas into the events of its output items (`output.py`).

Tools the model calls end the turn: the client runs them and sends their outputs in the next request. Engine
failures after the stream has started are reported in-band as `response.failed`, never as a second HTTP answer.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass

from openai.types.responses import ResponseStreamEvent, ResponseUsage
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from homeport.engines.base import Engine, Finished, GenerateRequest, Usage
from homeport.errors import HomeportError
from homeport.responses.events import EventEmitter
from homeport.responses.output import OutputBuilder

log = logging.getLogger("homeport.responses")


@dataclass(frozen=True)
class Turn:
    request: GenerateRequest
    include_logprobs: bool


async def run_turn(engine: Engine, turn: Turn, emitter: EventEmitter) -> AsyncIterator[ResponseStreamEvent]:
    """Every event of the response, from `response.created` to its one terminal event."""
    yield emitter.created()
    yield emitter.in_progress()
    output = OutputBuilder(emitter, include_logprobs=turn.include_logprobs)
    finished: Finished | None = None
    try:
        async with aclosing(engine.generate(turn.request)) as deltas:
            async for delta in deltas:
                if isinstance(delta, Finished):
                    finished = delta
                    continue
                for event in output.add(delta):
                    yield event
    except HomeportError as exc:
        log.warning("response %s failed: %s", emitter.response.id, exc.message)
        yield emitter.failed(exc.message)
        return
    except Exception:
        # The stream has started: the failure is reported in-band, and the details go to the log only.
        log.exception("response %s failed", emitter.response.id)
        yield emitter.failed("The server had an error while generating this response.")
        return
    if finished is None:
        yield emitter.failed("The model stopped without finishing its answer.")
        return
    for event in output.close(complete=finished.reason == "stop"):
        yield event
    emitter.response.usage = _usage(finished.usage)
    if finished.reason == "length":
        yield emitter.incomplete("max_output_tokens")
    else:
        yield emitter.completed()


def _usage(usage: Usage) -> ResponseUsage:
    return ResponseUsage(
        input_tokens=usage.input_tokens,
        # What the engine evaluated anew stays in its KV cache for the next request that shares the prefix.
        input_tokens_details=InputTokensDetails(
            cached_tokens=usage.cached_tokens, cache_write_tokens=usage.input_tokens - usage.cached_tokens
        ),
        output_tokens=usage.output_tokens,
        output_tokens_details=OutputTokensDetails(reasoning_tokens=0),
        total_tokens=usage.input_tokens + usage.output_tokens,
    )
