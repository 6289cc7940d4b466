"""A turn's output items, grown from the engine's deltas: an assistant message for text, an item per tool call.

Items open when their first piece arrives and close, in order, when the next one opens or the turn ends, so the
events keep OpenAI's ladder: `output_item.added`, the deltas, their `.done`, `output_item.done`. A turn that produced
nothing still answers with an (empty) message. Calls of server-owned tools never come here: the turn loop shows the
tool's own item instead (`server_calls.py`), after `interrupt` has closed the item before it. A call of a
client-run built-in tool (a computer, a shell, apply_patch) becomes that tool's own item, shown whole once the model
has written it: its action is only known then. Cut short, it is dropped: a partial action cannot be run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from openai.types.responses import (
    ResponseCustomToolCall,
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseStreamEvent,
)
from openai.types.responses.response_output_text import Logprob

from homeport.engines.base import TextDelta, ToolCallDelta, ToolCallStarted
from homeport.ids import new_call_id, new_id, suffix_of
from homeport.responses.events import EventEmitter, logprob_data
from homeport.tools.base import ClientTool

Call = ResponseFunctionToolCall | ResponseCustomToolCall
Annotate = Callable[[str], list[dict[str, Any]]]


class OutputBuilder:
    def __init__(
        self, emitter: EventEmitter, *, include_logprobs: bool, built_in: Mapping[str, ClientTool] | None = None
    ) -> None:
        self._emitter = emitter
        self._include_logprobs = include_logprobs
        self._built_in = built_in or {}
        self._suffix = suffix_of(emitter.response.id)
        self._message: tuple[ResponseOutputMessage, ResponseOutputText] | None = None
        self._call: Call | None = None
        self._built_in_call: tuple[ClientTool, list[str]] | None = None
        """A built-in tool's call being written: the tool, and the pieces of its arguments so far."""
        self.client_calls = 0
        self.text = ""
        """All the text of the turn, for the chat's record of it."""

    def add(self, delta: TextDelta | ToolCallStarted | ToolCallDelta) -> Iterator[ResponseStreamEvent]:
        if isinstance(delta, TextDelta):
            yield from self._text(delta)
        elif isinstance(delta, ToolCallStarted):
            yield from self._close(complete=True)
            self.client_calls += 1
            if not delta.custom and delta.name in self._built_in:
                self._built_in_call = (self._built_in[delta.name], [])
                return
            self._call = self._new_call(delta)
            yield self._emitter.item_added(self._call)
        elif self._built_in_call is not None:
            self._built_in_call[1].append(delta.text)
        elif self._call is not None:
            if isinstance(self._call, ResponseFunctionToolCall):
                self._call.arguments += delta.text
            else:
                self._call.input += delta.text
            yield self._emitter.call_delta(self._call, delta.text)

    def close(self, *, complete: bool, annotate: Annotate | None = None) -> Iterator[ResponseStreamEvent]:
        """Close the open item; `complete` False: the turn was cut short, and so was that item. `annotate` gives
        the final text's annotations (citations of what a server tool found)."""
        shown = self._message or self._call or (self._built_in_call if complete else None)
        if shown is None and not self._emitter.response.output:
            yield from self._open_message()
        yield from self._close(complete=complete, annotate=annotate)

    def interrupt(self) -> Iterator[ResponseStreamEvent]:
        """Close the open item, complete: another item (a server tool's) opens after it."""
        yield from self._close(complete=True)

    def _text(self, delta: TextDelta) -> Iterator[ResponseStreamEvent]:
        if self._message is None:
            yield from self._open_message()
        assert self._message is not None
        message, part = self._message
        if self._include_logprobs:
            part.logprobs = (part.logprobs or []) + [Logprob.model_validate(logprob_data(lp)) for lp in delta.logprobs]
        part.text += delta.text
        self.text += delta.text
        if delta.text:
            logprobs = delta.logprobs if self._include_logprobs else []
            yield self._emitter.text_delta(message, delta.text, logprobs)

    def _open_message(self) -> Iterator[ResponseStreamEvent]:
        message = ResponseOutputMessage(
            id=new_id("msg", self._suffix), type="message", role="assistant", status="in_progress", content=[]
        )
        self._message = (message, ResponseOutputText(type="output_text", text="", annotations=[], logprobs=[]))
        yield self._emitter.item_added(message)
        yield self._emitter.text_part_added(message)

    def _new_call(self, started: ToolCallStarted) -> Call:
        if started.custom:
            return ResponseCustomToolCall(
                id=new_id("ctc", self._suffix), type="custom_tool_call", call_id=new_call_id(), name=started.name,
                input="",
            )  # fmt: skip
        return ResponseFunctionToolCall(
            id=new_id("fc", self._suffix), type="function_call", call_id=new_call_id(), name=started.name,
            arguments="", status="in_progress",
        )  # fmt: skip

    def _close(self, *, complete: bool, annotate: Annotate | None = None) -> Iterator[ResponseStreamEvent]:
        if self._message is not None:
            message, part = self._message
            message.status = "completed" if complete else "incomplete"
            for annotation in annotate(part.text) if annotate else []:
                yield self._emitter.annotation_added(message, part, annotation)
            yield self._emitter.text_done(message, part)
            yield self._emitter.text_part_done(message, part)
            yield self._emitter.item_done(message)
            self._message = None
        if self._call is not None:
            if isinstance(self._call, ResponseFunctionToolCall):
                self._call.status = "completed" if complete else "incomplete"
            yield self._emitter.call_input_done(self._call)
            yield self._emitter.item_done(self._call)
            self._call = None
        if self._built_in_call is not None:
            tool, pieces = self._built_in_call
            self._built_in_call = None
            if complete:
                yield from self._built_in_item(tool, json.loads("".join(pieces)))

    def _built_in_item(self, tool: ClientTool, arguments: dict[str, Any]) -> Iterator[ResponseStreamEvent]:
        item = tool.call(new_id(tool.items.call_prefix, self._suffix), new_call_id(), arguments)
        item.status = "in_progress"  # type: ignore[union-attr]
        yield self._emitter.item_added(item)
        item.status = "completed"  # type: ignore[union-attr]
        yield self._emitter.item_done(item)
