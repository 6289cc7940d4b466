"""Legacy completions (`POST /v1/completions`): a raw prompt continued by the model, no chat template.

Each prompt of the request gets `n` choices (choice `prompt_index * n + j`, as OpenAI numbers them), generated one
after another through `run_choice`, the turn loop Responses and Chat Completions use. The non-streaming answer is
the stream's pieces collected.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from openai.types import Completion, CompletionChoice
from openai.types.completion_choice import Logprobs
from pydantic import Field

from homeport.engines import Engine, GenerateRequest, ModelCatalog
from homeport.errors import InvalidRequest
from homeport.ids import new_completion_id
from homeport.responses.choices import ChoiceEnd, ChoiceText, UsageTotals, run_choice
from homeport.responses.context import ensure_fits
from homeport.responses.events import obfuscation
from homeport.responses.sampling import SamplingParams


class CreateCompletionParams(SamplingParams):
    prompt: str | list[Any]
    """A string or a list of strings; token-id prompts are refused in `prompts`."""
    max_tokens: int | None = Field(16, ge=0)
    echo: bool | None = None
    logprobs: int | None = Field(None, ge=0, le=5)
    best_of: int | None = Field(None, ge=1, le=20)
    suffix: str | None = None

    def prompts(self) -> list[str]:
        prompts = [self.prompt] if isinstance(self.prompt, str) else self.prompt
        if not prompts or not all(isinstance(prompt, str) for prompt in prompts):
            raise InvalidRequest(
                "'prompt' must be a string or a non-empty list of strings; token-id prompts are not supported yet.",
                param="prompt",
            )
        return prompts

    def reject_unsupported(self) -> None:
        if self.suffix is not None:
            raise InvalidRequest(
                "The served model cannot fill in the middle; 'suffix' is not supported.", param="suffix"
            )
        if self.best_of not in (None, 1):
            raise InvalidRequest("'best_of' above 1 is not supported by this server yet.", param="best_of")
        if self.echo and self.logprobs is not None:
            raise InvalidRequest(
                "'echo' with 'logprobs' needs the prompt's own logprobs, which this server does not compute yet.",
                param="echo",
            )


@dataclass
class _LogprobColumns:
    """Legacy logprobs: four parallel lists, one entry per token."""

    tokens: list[str] = field(default_factory=list)
    token_logprobs: list[float] = field(default_factory=list)
    top_logprobs: list[dict[str, float]] = field(default_factory=list)
    text_offset: list[int] = field(default_factory=list)

    def add(self, logprob: dict[str, Any], offset: int) -> None:
        # The sampled token is listed with its alternatives: up to `logprobs` + 1 entries, as OpenAI sends.
        top = {alternative["token"]: alternative["logprob"] for alternative in logprob["top_logprobs"]}
        top.setdefault(logprob["token"], logprob["logprob"])
        self.tokens.append(logprob["token"])
        self.token_logprobs.append(logprob["logprob"])
        self.top_logprobs.append(top)
        self.text_offset.append(offset)

    def wire(self) -> Logprobs:
        return Logprobs(
            tokens=self.tokens,
            token_logprobs=self.token_logprobs,
            top_logprobs=self.top_logprobs,
            text_offset=self.text_offset,
        )


@dataclass
class _Choice:
    prompt: int
    text: list[str] = field(default_factory=list)
    logprobs: _LogprobColumns = field(default_factory=_LogprobColumns)
    offset: int = 0
    """Characters of this choice's text so far (the echoed prompt included): where the next token starts."""
    finish_reason: Literal["stop", "length"] = "stop"


@dataclass
class PreparedCompletion:
    """A validated request, ready to run; everything that can be a 4xx has been checked."""

    engine: Engine
    id: str
    created: int
    prompts: list[str]
    requests: list[GenerateRequest]
    choices: int
    echo: bool
    logprobs: bool
    include_usage: bool
    obfuscate: bool
    collected: dict[int, _Choice] = field(default_factory=dict)
    usage: UsageTotals = field(default_factory=UsageTotals)


class CompletionService:
    def __init__(self, catalog: ModelCatalog) -> None:
        self._catalog = catalog

    def prepare(self, params: CreateCompletionParams) -> PreparedCompletion:
        params.reject_unsupported()
        prompts = params.prompts()
        engine = self._catalog.resolve(params.model)
        for prompt in prompts:
            ensure_fits(engine, engine.count_prompt_tokens(prompt), param="prompt")
        max_tokens = 16 if params.max_tokens is None else params.max_tokens
        sampling = params.sampling(vocab_size=engine.vocab_size, max_tokens=max_tokens, top_logprobs=params.logprobs)
        return PreparedCompletion(
            engine=engine,
            id=new_completion_id("cmpl"),
            created=int(time.time()),
            prompts=prompts,
            requests=[GenerateRequest(prompt=prompt, sampling=sampling) for prompt in prompts],
            choices=params.choices,
            echo=bool(params.echo),
            logprobs=params.logprobs is not None,
            include_usage=params.include_usage,
            obfuscate=params.obfuscate,
        )

    async def run(self, prepared: PreparedCompletion) -> AsyncIterator[Completion]:
        """Every chunk: per choice, its text as it comes (the prompt first, with `echo`), then its finish reason."""
        for number, request in enumerate(prepared.requests):
            for index in range(number * prepared.choices, (number + 1) * prepared.choices):
                prepared.collected[index] = _Choice(number)
                if prepared.echo:
                    yield _text_chunk(prepared, index, prepared.prompts[number], [])
                async for piece in run_choice(prepared.engine, request, index=index, logprobs=prepared.logprobs):
                    if isinstance(piece, ChoiceText):
                        yield _text_chunk(prepared, index, piece.text, piece.logprobs)
                    elif isinstance(piece, ChoiceEnd):
                        yield _closing_chunk(prepared, index, piece)
        if prepared.include_usage:
            yield _chunk(prepared, [], usage=True)

    async def create(self, prepared: PreparedCompletion) -> Completion:
        """The non-streaming path: the same pieces, collected."""
        async for _sent in self.run(prepared):
            pass
        choices = [
            CompletionChoice(
                index=index,
                text="".join(choice.text),
                logprobs=choice.logprobs.wire() if prepared.logprobs else None,
                finish_reason=choice.finish_reason,
            )
            for index, choice in sorted(prepared.collected.items())
        ]
        return _chunk(prepared, choices, usage=True)


def _text_chunk(prepared: PreparedCompletion, index: int, text: str, logprobs: list[dict[str, Any]]) -> Completion:
    choice = prepared.collected[index]
    choice.text.append(text)
    delta = _LogprobColumns()
    offset = choice.offset
    for logprob in logprobs:
        delta.add(logprob, offset)
        choice.logprobs.add(logprob, offset)
        offset += len(logprob["token"])
    choice.offset += len(text)
    # Mid-stream chunks carry `finish_reason: null` on the wire, as OpenAI's do, which the SDK type does not admit;
    # they are constructed rather than validated.
    part = CompletionChoice.model_construct(
        index=index, text=text, logprobs=delta.wire() if prepared.logprobs else None, finish_reason=None
    )
    return _chunk(prepared, [part], padding_for=text)


def _closing_chunk(prepared: PreparedCompletion, index: int, end: ChoiceEnd) -> Completion:
    choice = prepared.collected[index]
    # A raw prompt has no tools: its answer ends at a stop or at the length limit.
    choice.finish_reason = "length" if end.reason == "length" else "stop"
    prepared.usage.add(choice.prompt, end)
    closing = CompletionChoice(index=index, text="", logprobs=None, finish_reason=choice.finish_reason)
    return _chunk(prepared, [closing])


def _chunk(
    prepared: PreparedCompletion, choices: list[CompletionChoice], *, usage: bool = False, padding_for: str = ""
) -> Completion:
    fields: dict[str, Any] = {}
    if usage:
        fields["usage"] = prepared.usage.wire()
    elif prepared.include_usage:
        fields["usage"] = None
    if prepared.obfuscate:
        fields["obfuscation"] = obfuscation(padding_for)
    return Completion(
        id=prepared.id,
        object="text_completion",
        created=prepared.created,
        model=prepared.engine.model_id,
        choices=choices,
        **fields,
    )
