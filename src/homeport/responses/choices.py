"""One generated choice of a Chat Completion or legacy completion, run through the Responses turn loop.

Chat Completions and Responses share one generation path: `run_turn` drives the engine and the one `EventEmitter`
builds the events, and this module reads those events back as choice text, logprobs and a finish reason. What the
turn loop learns later (tool calls, constrained decoding) reaches every API through here.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from openai.types.completion_usage import CompletionTokensDetails, CompletionUsage, PromptTokensDetails
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseCustomToolCall,
    ResponseCustomToolCallInputDeltaEvent,
    ResponseFailedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionToolCall,
    ResponseIncompleteEvent,
    ResponseOutputItemAddedEvent,
    ResponseTextDeltaEvent,
)

from homeport.engines.base import Engine, GenerateRequest
from homeport.errors import EngineError
from homeport.responses.events import EventEmitter
from homeport.responses.runner import Turn, run_turn

FinishReason = Literal["stop", "length", "tool_calls"]


@dataclass(frozen=True)
class ChoiceText:
    text: str
    logprobs: list[dict[str, Any]]
    """Wire logprobs (`token`, `bytes`, `logprob`, `top_logprobs`), the shape Chat Completions sends too."""


@dataclass(frozen=True)
class ChoiceCall:
    """The choice's tool call number `position` (0, 1, ...) started."""

    position: int
    call_id: str
    name: str
    custom: bool


@dataclass(frozen=True)
class ChoiceCallDelta:
    position: int
    text: str
    """More of the call's arguments (a function) or input (a custom tool)."""


ChoicePiece = ChoiceText | ChoiceCall | ChoiceCallDelta


@dataclass(frozen=True)
class ChoiceEnd:
    reason: FinishReason
    input_tokens: int
    cached_tokens: int
    output_tokens: int


async def run_choice(
    engine: Engine, request: GenerateRequest, *, index: int, logprobs: bool
) -> AsyncIterator[ChoicePiece | ChoiceEnd]:
    """The text of choice `index` as it is generated, then how it ended. A failed generation raises `EngineError`.

    With a seed, choice `index` samples with seed + index: the choices of one request differ from each other, and
    the same request gives the same choices again.
    """
    sampling = request.sampling
    if sampling.seed is not None and index:
        request = replace(request, sampling=replace(sampling, seed=sampling.seed + index))
    emitter = EventEmitter(_turn_response(engine.model_id), obfuscate=False)
    calls = 0
    async for event in run_turn(engine, Turn(request, logprobs), emitter):
        if isinstance(event, ResponseTextDeltaEvent):
            # The emitter builds each logprob from the engine's, `bytes` included (the SDK keeps it as an extra).
            yield ChoiceText(event.delta, [logprob.model_dump() for logprob in event.logprobs])
        elif isinstance(event, ResponseOutputItemAddedEvent) and isinstance(
            call := event.item, ResponseFunctionToolCall | ResponseCustomToolCall
        ):
            calls += 1
            yield ChoiceCall(calls - 1, call.call_id, call.name, custom=isinstance(call, ResponseCustomToolCall))
        elif isinstance(event, ResponseFunctionCallArgumentsDeltaEvent | ResponseCustomToolCallInputDeltaEvent):
            yield ChoiceCallDelta(calls - 1, event.delta)
        elif isinstance(event, ResponseCompletedEvent | ResponseIncompleteEvent):
            usage = event.response.usage
            assert usage is not None, "the turn loop sets usage before a terminal event"
            completed: FinishReason = "tool_calls" if calls else "stop"
            yield ChoiceEnd(
                completed if isinstance(event, ResponseCompletedEvent) else "length",
                input_tokens=usage.input_tokens,
                cached_tokens=usage.input_tokens_details.cached_tokens,
                output_tokens=usage.output_tokens,
            )
        elif isinstance(event, ResponseFailedEvent):
            error = event.response.error
            raise EngineError(error.message if error else "The model failed while generating.")


def _turn_response(model_id: str) -> Response:
    """The bare response the emitter grows while a choice runs; it never leaves the server, so it is not validated."""
    return Response.model_construct(
        id="resp_choice",
        object="response",
        created_at=float(int(time.time())),
        model=model_id,
        status="in_progress",
        output=[],
        usage=None,
        error=None,
    )


@dataclass
class UsageTotals:
    """Token counts over a request's choices. The prompt is counted once: each choice reads the same prompt."""

    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    counted: set[int] = field(default_factory=set, init=False, repr=False)
    """The prompts already counted (by their index in the request)."""

    def add(self, prompt: int, end: ChoiceEnd) -> None:
        if prompt not in self.counted:
            self.counted.add(prompt)
            self.prompt_tokens += end.input_tokens
            self.cached_tokens += end.cached_tokens
        self.completion_tokens += end.output_tokens

    def wire(self) -> CompletionUsage:
        return CompletionUsage(
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            total_tokens=self.prompt_tokens + self.completion_tokens,
            prompt_tokens_details=PromptTokensDetails(cached_tokens=self.cached_tokens, audio_tokens=0),
            completion_tokens_details=CompletionTokensDetails(
                reasoning_tokens=0, audio_tokens=0, accepted_prediction_tokens=0, rejected_prediction_tokens=0
            ),
        )
