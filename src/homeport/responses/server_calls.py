"""The calls of server-owned tools in one engine run: each one's item opens as the model starts writing the call,
shows its arguments as they come (code deltas), and the tool runs as soon as the call is complete, so the item
closes before the next one opens and the stream keeps one open item at a time.

A call cut short by the token limit is not run: its item closes `incomplete`. A tool that fails ends the response
in-band (`failed`), since the stream has started.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from openai.types.responses import ResponseOutputItem, ResponseStreamEvent

from homeport.engines.base import ChatMessage, Engine, GenerateRequest, ToolCall
from homeport.errors import HomeportError
from homeport.ids import new_id, suffix_of
from homeport.responses.events import EventEmitter
from homeport.responses.output import Annotate
from homeport.tools.base import Progress, ServerTool, ToolResult

log = logging.getLogger("homeport.responses")

_ANSWER_ROOM = 512
"""Tokens of context kept free for the answer when tool output is added to the chat."""
_LAST_WORD = "No more tool calls are possible. Now answer the user from this output, in words."


@dataclass
class _OpenCall:
    tool: ServerTool
    name: str
    item: ResponseOutputItem
    arguments: str = ""


class ServerCalls:
    """Feed it the server-tool pieces of one engine run; it gives their events, and keeps the calls and their
    outputs for the chat of the next run."""

    def __init__(
        self, tools: Mapping[str, ServerTool], emitter: EventEmitter, engine: Engine, request: GenerateRequest
    ) -> None:
        self._tools = tools
        self._emitter = emitter
        self._engine = engine
        self._request = request
        self._open: _OpenCall | None = None
        self.calls: list[ToolCall] = []
        self._shown: list[tuple[str, str]] = []
        """Per call: what the model reads of its result, and the note that says what to do with it."""
        self.annotate: Annotate | None = None
        self.retry = False
        """A result said the model may call its tool again (its code raised)."""
        self.waiting = False
        """A call waits for the user's approval: the response ends with this run."""
        self.failed = False
        """A tool failed and the response with it (its `failed` event has gone out): nothing more may follow."""

    def owns(self, name: str) -> bool:
        return name in self._tools

    @property
    def is_open(self) -> bool:
        return self._open is not None

    async def open(self, name: str, tool: ServerTool | None = None) -> AsyncIterator[ResponseStreamEvent]:
        """The model started writing a call of `name` (of `tool`, when not the request's tool of that name): its
        item, and what the tool shows before any argument."""
        tool = tool or self._tools[name]
        item = await tool.start(new_id(tool.id_prefix, suffix_of(self._emitter.response.id)))
        self._open = _OpenCall(tool, name, item)
        yield self._emitter.item_added(item)
        for step in tool.writing(item, ""):
            yield self._progress(step, item)

    def write(self, text: str) -> Iterator[ResponseStreamEvent]:
        """More of the open call's arguments."""
        assert self._open is not None
        self._open.arguments += text
        for step in self._open.tool.writing(self._open.item, self._open.arguments):
            yield self._progress(step, self._open.item)

    async def run(self) -> AsyncIterator[ResponseStreamEvent]:
        """The open call is complete: run it, if any. After a failure, `failed` is set and the response is over."""
        if self._open is None:
            return
        call, self._open = self._open, None
        try:
            async for step in call.tool.run(call.item, _arguments(call.arguments), _question(self._request)):
                if isinstance(step, ToolResult):
                    yield self._emitter.item_done(step.item)
                    self._keep(call, step)
                else:
                    yield self._progress(step, call.item)
        except HomeportError as exc:
            log.warning("response %s: %s failed: %s", self._emitter.response.id, call.name, exc.message)
            self.failed = True
            yield self._emitter.failed(f"The {call.name} tool failed: {exc.message}")
        except Exception:
            log.exception("response %s: %s failed", self._emitter.response.id, call.name)
            self.failed = True
            yield self._emitter.failed(f"The server had an error while running the {call.name} tool.")

    def cut_short(self) -> Iterator[ResponseStreamEvent]:
        """The run ended inside the open call (the token limit): its item closes incomplete, and it does not run."""
        if self._open is not None:
            item, self._open = self._open.item, None
            if "status" in type(item).model_fields:  # an approval request has none
                item.status = "incomplete"  # type: ignore[union-attr]
            yield self._emitter.item_done(item)

    def chat(self, text: str, *, last: bool) -> list[ChatMessage]:
        """The run as the next run's chat sees it: the model's text and calls, then each call's output and what to
        do with it. `last`: the model may not call tools again, and the last output tells it so (told nothing, a
        small model keeps trying to call)."""
        outputs = [
            ChatMessage("tool", _joined(shown, _LAST_WORD if last and index == len(self._shown) - 1 else note))
            for index, (shown, note) in enumerate(self._shown)
        ]
        return [ChatMessage("assistant", text, tuple(self.calls)), *outputs]

    def _keep(self, call: _OpenCall, result: ToolResult) -> None:
        if result.waits:
            self.waiting = True
            return
        self.calls.append(ToolCall(call.name, arguments=call.arguments or "{}"))
        chat = [*self._request.messages, *self.chat("", last=False)]
        self._shown.append((self._fitting(chat, result), result.note))
        self.retry = self.retry or result.retry
        if result.annotate is not None:
            annotate, read = result.annotate, result.read
            self.annotate = lambda text: annotate(text, read)

    def _fitting(self, chat: list[ChatMessage], result: ToolResult) -> str:
        """As many of the result's pieces (most relevant first) as the context holds, leaving room for the answer."""
        room = self._engine.context_size - min(self._request.sampling.max_tokens or _ANSWER_ROOM, _ANSWER_ROOM)
        kept: list[str] = []
        for piece in result.pieces:
            candidate = "\n\n".join([*kept, piece, result.note])
            if self._engine.count_tokens([*chat, ChatMessage("tool", candidate)], self._request.tools) >= room:
                break
            kept.append(piece)
        result.read = len(kept)
        return "\n\n".join(kept)

    def _progress(self, step: str | Progress, item: ResponseOutputItem) -> ResponseStreamEvent:
        if isinstance(step, Progress):
            return self._emitter.item_progress(step.type, item, step.fields)
        return self._emitter.item_progress(step, item)


def _joined(*parts: str) -> str:
    return "\n\n".join(part for part in parts if part)


def _arguments(text: str) -> dict[str, Any]:
    try:
        arguments = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {}
    return arguments if isinstance(arguments, dict) else {}


def _question(request: GenerateRequest) -> str:
    """The user's latest message."""
    return next((message.content for message in reversed(request.messages) if message.role == "user"), "")
