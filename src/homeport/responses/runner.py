"""The turn loop: run the engine, turn its deltas into the events of its output items (`output.py`), and run the
server-owned tools it calls (`tools/`) until the model answers.

Client-owned tool calls end the turn: the client runs them and sends their outputs in the next request. A call of a
server-owned tool is run here, as soon as the model has written it (`server_calls.py`): its item and status events
go out, its output joins the chat, and the engine runs again (the grammar then allows, but no longer requires, a
client tool call, and only server tools that may repeat: the model answers from what it found). Engine failures
after the stream has started are reported in-band as `response.failed`, never as a second HTTP answer.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field, replace

from openai.types.responses import ResponseStreamEvent, ResponseUsage
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from homeport.engines.base import (
    Engine,
    Finished,
    GenerateRequest,
    TextDelta,
    ToolCallDelta,
    ToolCallStarted,
    Usage,
)
from homeport.engines.constraints import Constraint
from homeport.errors import HomeportError
from homeport.responses.events import EventEmitter
from homeport.responses.output import Annotate, OutputBuilder
from homeport.responses.server_calls import ServerCalls
from homeport.tools.base import ApprovedCall, ClientTool, Opening, ServerTool

log = logging.getLogger("homeport.responses")

MAX_TOOL_ROUNDS = 4
"""Engine runs after server tools in one response: the last may not call tools, so a model that keeps searching
or rerunning code answers eventually."""


@dataclass(frozen=True)
class Turn:
    request: GenerateRequest
    include_logprobs: bool
    server_tools: Mapping[str, ServerTool] = field(default_factory=dict)
    after_tools: Constraint | None = None
    """The constraint once a server tool has run: client tools allowed, not required; server tools no more."""
    after_failure: Constraint | None = None
    """The constraint once a server tool has failed in a way the model may fix (code that raised): as `after_tools`,
    and one call of a tool that may repeat."""
    without_tools: Constraint | None = None
    """The constraint once `max_tool_calls` server-tool calls have run, and in the last run: no more calls."""
    max_tool_calls: int | None = None
    opening: Sequence[Opening] = ()
    """Items shown before the model runs (an MCP server's tool list), each with its status events."""
    approved: Sequence[ApprovedCall] = ()
    """Calls the user approved: they run before the model, and their outputs join its chat."""
    client_tools: Mapping[str, ClientTool] = field(default_factory=dict)
    """The client-run built-in tools, by function name: each call becomes that tool's own item."""
    queued: bool = False
    """A background response, announced (`response.created`, `response.queued`) when it was queued: its run starts
    at `response.in_progress`."""


async def run_turn(engine: Engine, turn: Turn, emitter: EventEmitter) -> AsyncIterator[ResponseStreamEvent]:
    """Every event of the response, from `response.created` to its one terminal event."""
    if not turn.queued:
        yield emitter.created()
    yield emitter.in_progress()
    request = turn.request
    opened = ServerCalls(turn.server_tools, emitter, engine, request)
    async for event in _open(turn, opened, emitter):
        yield event
    if opened.failed:
        return
    request = replace(request, messages=[*request.messages, *opened.chat("", last=False)]) if opened.calls else request
    usage = Usage(0, 0, 0)
    annotate: Annotate | None = None
    calls_made = 0
    for round_number in range(MAX_TOOL_ROUNDS + 1):
        output = OutputBuilder(emitter, include_logprobs=turn.include_logprobs, built_in=turn.client_tools)
        server = ServerCalls(turn.server_tools, emitter, engine, request)
        finished: Finished | None = None
        try:
            async with aclosing(engine.generate(request)) as deltas:
                async for delta in deltas:
                    if isinstance(delta, Finished):
                        finished = delta
                        continue
                    async for event in _route(delta, output, server):
                        yield event
                    if server.failed:
                        return
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
        if finished.reason == "stop":
            async for event in server.run():
                yield event
            if server.failed:
                return
        for event in server.cut_short():
            yield event
        for event in output.close(complete=finished.reason == "stop", annotate=annotate):
            yield event
        annotate = server.annotate or annotate
        ended = finished.reason != "stop" or output.client_calls or server.waiting
        if ended or not server.calls or round_number == MAX_TOOL_ROUNDS:
            break
        calls_made += len(server.calls)
        # The last run, or `max_tool_calls` spent: the model answers now, with no more calls.
        last = round_number + 1 == MAX_TOOL_ROUNDS or (
            turn.max_tool_calls is not None and calls_made >= turn.max_tool_calls
        )
        if last:
            constraint = turn.without_tools
        else:
            constraint = turn.after_failure if server.retry else turn.after_tools
        messages = [*request.messages, *server.chat(output.text, last=last)]
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


async def _open(turn: Turn, calls: ServerCalls, emitter: EventEmitter) -> AsyncIterator[ResponseStreamEvent]:
    for item, steps in turn.opening:
        yield emitter.item_added(item)
        for step in steps:
            yield emitter.item_progress(step, item)
        yield emitter.item_done(item)
    for approved in turn.approved:
        async for event in calls.open(approved.name, approved.tool):
            yield event
        for event in calls.write(approved.arguments):
            yield event
        async for event in calls.run():
            yield event
        if calls.failed:
            return


async def _route(
    delta: TextDelta | ToolCallStarted | ToolCallDelta, output: OutputBuilder, server: ServerCalls
) -> AsyncIterator[ResponseStreamEvent]:
    """A server tool's call to `server`, anything else to `output`; a server call is complete, and runs, when the
    next piece is not its arguments."""
    if isinstance(delta, ToolCallDelta) and server.is_open:
        for event in server.write(delta.text):
            yield event
        return
    async for event in server.run():
        yield event
    if server.failed:
        return
    if isinstance(delta, ToolCallStarted) and server.owns(delta.name) and not delta.custom:
        for event in output.interrupt():
            yield event
        async for event in server.open(delta.name):
            yield event
        return
    for event in output.add(delta):
        yield event


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
