"""The turn loop: run the engine, turn its deltas into the events of its output items (`output.py`), and run the
server-owned tools it calls (`tools/`) until the model answers.

Client-owned tool calls end the turn: the client runs them and sends their outputs in the next request. A call of a
server-owned tool is run here: its item and status events go out, its output joins the chat, and the engine runs
again (the grammar then allows, but no longer requires, a client tool call, and no server tool call: the model
answers from what it found). Engine failures
after the stream has started are reported in-band as `response.failed`, never as a second HTTP answer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import Any

from openai.types.responses import ResponseStreamEvent, ResponseUsage
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from homeport.engines.base import ChatMessage, Engine, Finished, GenerateRequest, ToolCall, Usage
from homeport.engines.constraints import Constraint
from homeport.errors import HomeportError
from homeport.ids import new_id, suffix_of
from homeport.responses.events import EventEmitter
from homeport.responses.output import Annotate, OutputBuilder, ServerCall
from homeport.tools.base import Progress, ServerTool, ToolResult

log = logging.getLogger("homeport.responses")

MAX_TOOL_ROUNDS = 4
"""Engine runs after server tools in one response: a model that keeps searching gets to answer eventually."""
_ANSWER_ROOM = 512
"""Tokens of context kept free for the answer when tool output is added to the chat."""


@dataclass(frozen=True)
class Turn:
    request: GenerateRequest
    include_logprobs: bool
    server_tools: Mapping[str, ServerTool] = field(default_factory=dict)
    after_tools: Constraint | None = None
    """The constraint once a server tool has run: client tools allowed, not required; server tools no more."""
    without_tools: Constraint | None = None
    """The constraint once `max_tool_calls` server-tool calls have run: no more calls."""
    max_tool_calls: int | None = None


async def run_turn(engine: Engine, turn: Turn, emitter: EventEmitter) -> AsyncIterator[ResponseStreamEvent]:
    """Every event of the response, from `response.created` to its one terminal event."""
    yield emitter.created()
    yield emitter.in_progress()
    request = turn.request
    usage = Usage(0, 0, 0)
    annotate: Annotate | None = None
    calls_made = 0
    for round_number in range(MAX_TOOL_ROUNDS + 1):
        output = OutputBuilder(emitter, include_logprobs=turn.include_logprobs, server_tools=turn.server_tools)
        finished: Finished | None = None
        try:
            async with aclosing(engine.generate(request)) as deltas:
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
        usage = _add(usage, finished.usage)
        # A call cut short by the token limit is not run: the response ends incomplete.
        last = (
            finished.reason != "stop"
            or not output.server_calls
            or output.client_calls
            or round_number == MAX_TOOL_ROUNDS
        )
        for event in output.close(complete=finished.reason == "stop", annotate=annotate):
            yield event
        if last:
            break
        calls: list[ToolCall] = []
        outputs: list[ChatMessage] = []
        for call in output.server_calls:
            tool = turn.server_tools[call.name]
            result: ToolResult | None = None
            try:
                async for event_or_result in _run_tool(tool, call, emitter, _question(request)):
                    if isinstance(event_or_result, ToolResult):
                        result = event_or_result
                    else:
                        yield event_or_result
            except HomeportError as exc:
                log.warning("response %s: %s failed: %s", emitter.response.id, call.name, exc.message)
                yield emitter.failed(f"The {call.name} tool failed: {exc.message}")
                return
            except Exception:
                log.exception("response %s: %s failed", emitter.response.id, call.name)
                yield emitter.failed(f"The server had an error while running the {call.name} tool.")
                return
            assert result is not None, "a tool's run ends with its result"
            calls.append(ToolCall(call.name, arguments=call.arguments or "{}"))
            chat = [*request.messages, ChatMessage("assistant", "", tuple(calls)), *outputs]
            outputs.append(ChatMessage("tool", _fitting(engine, request, chat, result)))
            if result.annotate is not None:
                annotate = _bound(result)
        calls_made += len(calls)
        messages = [*request.messages, ChatMessage("assistant", "", tuple(calls)), *outputs]
        spent = turn.max_tool_calls is not None and calls_made >= turn.max_tool_calls
        constraint = turn.without_tools if spent else turn.after_tools
        # max_output_tokens bounds the whole response, tool calls included: later runs get what is left.
        budget = turn.request.sampling.max_tokens
        left = None if budget is None else budget - usage.output_tokens
        if left is not None and left <= 0:
            finished = replace(finished, reason="length")
            break
        sampling = replace(request.sampling, constraint=constraint, max_tokens=left)
        request = replace(request, messages=messages, sampling=sampling)
    emitter.response.usage = _usage(usage)
    assert finished is not None
    if finished.reason == "length":
        yield emitter.incomplete("max_output_tokens")
    else:
        yield emitter.completed()


async def _run_tool(
    tool: ServerTool, call: ServerCall, emitter: EventEmitter, question: str
) -> AsyncIterator[ResponseStreamEvent | ToolResult]:
    """One server-tool call: its item added, its status events, its item done; then its result for the loop."""
    item = await tool.start(new_id(tool.id_prefix, suffix_of(emitter.response.id)))
    yield emitter.item_added(item)
    try:
        arguments: Any = json.loads(call.arguments or "{}")
    except json.JSONDecodeError:
        arguments = {}
    async for step in tool.run(item, arguments if isinstance(arguments, dict) else {}, question):
        if isinstance(step, ToolResult):
            yield emitter.item_done(step.item)
            yield step
        elif isinstance(step, Progress):
            yield emitter.item_progress(step.type, item, step.fields)
        else:
            yield emitter.item_progress(step, item)


def _question(request: GenerateRequest) -> str:
    """The user's latest message."""
    return next((message.content for message in reversed(request.messages) if message.role == "user"), "")


def _fitting(engine: Engine, request: GenerateRequest, chat: list[ChatMessage], result: ToolResult) -> str:
    """As many of the result's pieces (most relevant first) as the context holds, leaving room for the answer."""
    room = engine.context_size - min(request.sampling.max_tokens or _ANSWER_ROOM, _ANSWER_ROOM)
    kept: list[str] = []
    for piece in result.pieces:
        candidate = "\n\n".join([*kept, piece, result.note])
        if engine.count_tokens([*chat, ChatMessage("tool", candidate)], request.tools) >= room:
            break
        kept.append(piece)
    result.read = len(kept)
    return "\n\n".join([*kept, result.note]).strip()


def _bound(result: ToolResult) -> Annotate:
    assert result.annotate is not None
    annotate, read = result.annotate, result.read
    return lambda text: annotate(text, read)


def _add(total: Usage, more: Usage) -> Usage:
    return Usage(
        input_tokens=total.input_tokens + more.input_tokens,
        output_tokens=total.output_tokens + more.output_tokens,
        cached_tokens=total.cached_tokens + more.cached_tokens,
    )


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
