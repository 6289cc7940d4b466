"""The objects of one chat completion: its stream chunks and, collected from the same pieces, the `ChatCompletion`.

Both are built as the SDK's own types. Each choice streams as OpenAI's do: an opening chunk with the role, one chunk
per text delta, a closing chunk with the finish reason; with `include_usage`, a last chunk with no choices carries
the usage and every other chunk says `usage: null`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openai.types.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageCustomToolCall,
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionTokenLogprob,
)
from openai.types.chat.chat_completion import Choice, ChoiceLogprobs
from openai.types.chat.chat_completion_chunk import Choice as ChunkChoice
from openai.types.chat.chat_completion_chunk import ChoiceDelta, ChoiceDeltaToolCall, ChoiceDeltaToolCallFunction
from openai.types.chat.chat_completion_chunk import ChoiceLogprobs as ChunkLogprobs
from openai.types.completion_usage import CompletionUsage

from homeport.responses.choices import (
    ChoiceCall,
    ChoiceCallDelta,
    ChoiceEnd,
    ChoicePiece,
    ChoiceText,
    FinishReason,
    UsageTotals,
)
from homeport.responses.events import obfuscation


@dataclass(frozen=True)
class CompletionHead:
    """What every chunk and the completion itself repeat."""

    id: str
    created: int
    model: str
    system_fingerprint: str


@dataclass(frozen=True)
class ChunkMaker:
    head: CompletionHead
    logprobs: bool
    include_usage: bool
    obfuscate: bool

    def opening(self, index: int) -> ChatCompletionChunk:
        delta = ChoiceDelta(role="assistant", content="", refusal=None)
        return self._chunk([ChunkChoice(index=index, delta=delta, logprobs=None, finish_reason=None)])

    def piece(self, index: int, piece: ChoicePiece) -> ChatCompletionChunk:
        """A chunk for text or a tool call's start or arguments. Custom tool calls are not streamed (the SDK's chunk
        type has no place for them: requests that could make one are refused with `stream`)."""
        if isinstance(piece, ChoiceText):
            return self._text(index, piece)
        if isinstance(piece, ChoiceCall):
            function = ChoiceDeltaToolCallFunction(name=piece.name, arguments="")
            call = ChoiceDeltaToolCall(index=piece.position, id=piece.call_id, type="function", function=function)
        else:
            function = ChoiceDeltaToolCallFunction(arguments=piece.text)
            call = ChoiceDeltaToolCall(index=piece.position, function=function)
        delta = ChoiceDelta(tool_calls=[call])
        choice = ChunkChoice(index=index, delta=delta, logprobs=None, finish_reason=None)
        return self._chunk([choice], padding_for=function.arguments or "")

    def _text(self, index: int, piece: ChoiceText) -> ChatCompletionChunk:
        logprobs = ChunkLogprobs(content=_logprobs(piece.logprobs), refusal=None) if self.logprobs else None
        choice = ChunkChoice(index=index, delta=ChoiceDelta(content=piece.text), logprobs=logprobs, finish_reason=None)
        return self._chunk([choice], padding_for=piece.text)

    def closing(self, index: int, reason: FinishReason) -> ChatCompletionChunk:
        return self._chunk([ChunkChoice(index=index, delta=ChoiceDelta(), logprobs=None, finish_reason=reason)])

    def usage(self, usage: CompletionUsage) -> ChatCompletionChunk:
        chunk = self._chunk([])
        chunk.usage = usage
        return chunk

    def _chunk(self, choices: list[ChunkChoice], padding_for: str = "") -> ChatCompletionChunk:
        chunk = ChatCompletionChunk(
            id=self.head.id,
            object="chat.completion.chunk",
            created=self.head.created,
            model=self.head.model,
            service_tier="default",
            system_fingerprint=self.head.system_fingerprint,
            choices=choices,
        )
        if self.include_usage:
            chunk.usage = None
        if self.obfuscate:
            chunk.obfuscation = obfuscation(padding_for)
        return chunk


@dataclass
class _Call:
    started: ChoiceCall
    text: list[str] = field(default_factory=list)

    def wire(self) -> ChatCompletionMessageFunctionToolCall | ChatCompletionMessageCustomToolCall:
        whole = "".join(self.text)
        if self.started.custom:
            return ChatCompletionMessageCustomToolCall.model_validate(
                {"id": self.started.call_id, "type": "custom", "custom": {"name": self.started.name, "input": whole}}
            )
        return ChatCompletionMessageFunctionToolCall.model_validate(
            {
                "id": self.started.call_id,
                "type": "function",
                "function": {"name": self.started.name, "arguments": whole},
            }
        )


@dataclass
class _Choice:
    text: list[str] = field(default_factory=list)
    logprobs: list[dict[str, Any]] = field(default_factory=list)
    calls: list[_Call] = field(default_factory=list)
    finish_reason: FinishReason = "stop"


@dataclass
class CompletionCollector:
    """Gathers the pieces of every choice, as the chunks carry them, into the final `ChatCompletion`."""

    head: CompletionHead
    logprobs: bool
    metadata: dict[str, str]
    choices: dict[int, _Choice] = field(default_factory=dict)
    usage: UsageTotals = field(default_factory=UsageTotals)

    def add(self, index: int, piece: ChoicePiece | ChoiceEnd) -> None:
        choice = self.choices.setdefault(index, _Choice())
        if isinstance(piece, ChoiceText):
            choice.text.append(piece.text)
            choice.logprobs += piece.logprobs
        elif isinstance(piece, ChoiceCall):
            choice.calls.append(_Call(piece))
        elif isinstance(piece, ChoiceCallDelta):
            choice.calls[piece.position].text.append(piece.text)
        else:
            choice.finish_reason = piece.reason
            self.usage.add(0, piece)

    def completion(self) -> ChatCompletion:
        return ChatCompletion(
            id=self.head.id,
            object="chat.completion",
            created=self.head.created,
            model=self.head.model,
            service_tier="default",
            system_fingerprint=self.head.system_fingerprint,
            metadata=self.metadata,
            choices=[self._choice(index, choice) for index, choice in sorted(self.choices.items())],
            usage=self.usage.wire(),
        )

    def _choice(self, index: int, choice: _Choice) -> Choice:
        text = "".join(choice.text)
        message = ChatCompletionMessage(
            role="assistant",
            # A turn that only called tools has no content, as OpenAI's answers show it.
            content=text if text or not choice.calls else None,
            refusal=None,
            annotations=[],
            tool_calls=[call.wire() for call in choice.calls] or None,
        )
        logprobs = ChoiceLogprobs(content=_logprobs(choice.logprobs), refusal=None) if self.logprobs else None
        return Choice(index=index, message=message, logprobs=logprobs, finish_reason=choice.finish_reason)


def _logprobs(logprobs: list[dict[str, Any]]) -> list[ChatCompletionTokenLogprob]:
    return [ChatCompletionTokenLogprob.model_validate(logprob) for logprob in logprobs]
