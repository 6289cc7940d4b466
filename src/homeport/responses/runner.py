"""The turn loop: run the engine once and turn its deltas into the events of one assistant message.

Tools join this loop in later work; today a turn is one message. Engine failures after the stream has started
are reported in-band as `response.failed`, never as a second HTTP answer.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass

from openai.types.responses import (
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseStreamEvent,
    ResponseUsage,
)
from openai.types.responses.response_output_text import Logprob
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from homeport.engines.base import Engine, Finished, GenerateRequest, Usage
from homeport.errors import HomeportError
from homeport.ids import new_id, suffix_of
from homeport.responses.events import EventEmitter, logprob_data

log = logging.getLogger("homeport.responses")


@dataclass(frozen=True)
class Turn:
    request: GenerateRequest
    include_logprobs: bool


async def run_turn(engine: Engine, turn: Turn, emitter: EventEmitter) -> AsyncIterator[ResponseStreamEvent]:
    """Every event of the response, from `response.created` to its one terminal event."""
    yield emitter.created()
    yield emitter.in_progress()
    message = ResponseOutputMessage(
        id=new_id("msg", suffix_of(emitter.response.id)),
        type="message",
        role="assistant",
        status="in_progress",
        content=[],
    )
    part = ResponseOutputText(type="output_text", text="", annotations=[], logprobs=[])
    yield emitter.message_added(message)
    yield emitter.text_part_added(message)
    finished: Finished | None = None
    try:
        async with aclosing(engine.generate(turn.request)) as deltas:
            async for delta in deltas:
                if isinstance(delta, Finished):
                    finished = delta
                    continue
                if turn.include_logprobs:
                    part.logprobs = (part.logprobs or []) + [
                        Logprob.model_validate(logprob_data(lp)) for lp in delta.logprobs
                    ]
                part.text += delta.text
                if delta.text:
                    yield emitter.text_delta(message, delta.text, delta.logprobs if turn.include_logprobs else [])
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
    message.status = "completed" if finished.reason == "stop" else "incomplete"
    yield emitter.text_done(message, part)
    yield emitter.text_part_done(message, part)
    yield emitter.message_done(message)
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
