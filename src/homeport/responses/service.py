"""Create, retrieve, delete and list responses; decides what is stored and when.

A stored response is written when it starts (so a GET during generation sees it `in_progress`) and again when it
ends, each time whole and in one transaction. A stream whose client went away is stopped and stored `cancelled`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
from openai.types.responses import Response, ResponseStreamEvent

from homeport.engines import ChatMessage, Engine, GenerateRequest, ModelCatalog, Sampling
from homeport.engines.constraints import Constraint, LarkGrammar, Tool
from homeport.errors import InvalidRequest, NotFound
from homeport.files.service import FileService
from homeport.ids import new_id, suffix_of, thread_suffix
from homeport.outbound import OutboundPolicy
from homeport.responses.context import history, model_messages
from homeport.responses.conversations import ConversationService
from homeport.responses.documents import item_file_parts, read_documents
from homeport.responses.events import EventEmitter, wire
from homeport.responses.formats import format_echo, format_hint, text_constraint
from homeport.responses.items import Item, check_outputs_answer_calls, parse_input
from homeport.responses.params import CreateResponseParams, JsonSchemaFormat, reject_unsupported
from homeport.responses.prompts import PromptLibrary, ResolvedPrompt
from homeport.responses.runner import Turn, run_turn
from homeport.responses.tool_params import (
    ToolChoice,
    import_mcp_tools,
    responses_tool_choice,
    tool_constraint,
    tools_params,
)
from homeport.retrieval.vector_stores import VectorStoreService
from homeport.sandbox.containers import ContainerService
from homeport.store import ResponseRepository, StoredResponse
from homeport.tools.mcp import approved_calls
from homeport.tools.registry import ToolContext
from homeport.tools.search_providers import SearchProvider

_TERMINAL = ("completed", "incomplete", "failed", "cancelled")
PROSE = LarkGrammar('start: PROSE\nPROSE: /[^\\s{\\[<>`][\\s\\S]*/ & ~/[\\s\\S]*\\{"name"[\\s\\S]*/')
"""Text that does not open like a tool call, a JSON value or a code fence, nor writes a call out as JSON."""


@dataclass
class PreparedResponse:
    """A validated request, ready to run; everything that can be a 4xx has been checked."""

    project: str
    engine: Engine
    turn: Turn
    emitter: EventEmitter
    input_items: list[Item]
    store: bool
    conversation_id: str | None
    background: bool = False
    """Stored `queued` when it was created: the run updates that response rather than adding it."""


class ResponseService:
    def __init__(
        self,
        catalog: ModelCatalog,
        repository: ResponseRepository,
        conversations: ConversationService,
        prompts: PromptLibrary,
        files: FileService,
        vector_stores: VectorStoreService,
        containers: ContainerService,
        *,
        outbound: OutboundPolicy,
        connectors: Mapping[str, str],
        mcp_timeout: float,
        search: SearchProvider | None,
    ) -> None:
        self._catalog = catalog
        self._repository = repository
        self._conversations = conversations
        self._prompts = prompts
        self._files = files
        self._vector_stores = vector_stores
        self._containers = containers
        self._outbound = outbound
        self._connectors = connectors
        self._mcp_timeout = mcp_timeout
        self._search = search

    async def prepare(
        self, params: CreateResponseParams, project: str, *, response_id: str | None = None
    ) -> PreparedResponse:
        """Everything a run needs, every 4xx raised; `response_id` names a queued response prepared again."""
        reject_unsupported(params)
        prompt = self._prompts.resolve(params.prompt.model_dump()) if params.prompt else None
        engine = self._catalog.resolve(_model_name(params, prompt))
        instructions = _instructions(params, prompt)
        conversation_id = _conversation_id(params)
        if conversation_id:
            earlier = await self._conversations.history(project, conversation_id)
        else:
            earlier = await history(self._repository, project, params.previous_response_id)
        thread = conversation_id or params.previous_response_id
        suffix = suffix_of(thread) if thread else thread_suffix()
        input_items = parse_input(params.input, accepts_images=engine.accepts_images, suffix=suffix)
        if not input_items:
            raise InvalidRequest("'input' must contain at least one item.", param="input")
        check_outputs_answer_calls(earlier, input_items)
        documents = await read_documents(self._files, project, item_file_parts(earlier, "history"), strict=False)
        documents |= await read_documents(self._files, project, item_file_parts(input_items, "input"), strict=True)
        include = frozenset(params.include or ())
        context = ToolContext(
            project, self._vector_stores, self._containers, include, earlier,
            outbound=self._outbound, connectors=self._connectors, mcp_timeout=self._mcp_timeout, suffix=suffix,
            search=self._search, latest=input_items,
        )  # fmt: skip
        tools = tools_params(params.tools, engine, context)
        previewing = any(entry.get("type") == "computer_use_preview" for entry in params.tools or ())
        if previewing and params.truncation != "auto":
            raise InvalidRequest("The computer_use_preview tool needs 'truncation' set to 'auto'.", param="truncation")
        for server_tool in tools.server.values():
            await server_tool.check()
        await import_mcp_tools(tools, [*earlier, *input_items], engine)
        approved = approved_calls(earlier, input_items, tools.mcp)
        choice = responses_tool_choice(params.tool_choice, tools.tools, tools.mcp)
        # With tool_choice none the model is not told about the tools: it cannot call them, so it should not try.
        told = tools.tools if choice.mode != "none" else []
        response = _skeleton(
            params,
            response_id or new_id("resp", suffix),
            engine.model_id,
            instructions=instructions,
            conversation_id=conversation_id,
            prompt=prompt,
            tools=tools.echo,
        )
        described = params.text.format if params.text else None
        hint = format_hint(described.description if isinstance(described, JsonSchemaFormat) else None)
        messages = model_messages(
            engine,
            instructions="\n\n".join(text for text in (instructions, hint) if text) or None,
            verbosity=params.text.verbosity if params.text else None,
            items=earlier + input_items,
            truncation=response.truncation or "disabled",
            tools=told,
            documents=documents,
        )
        text = text_constraint(params.text, engine, messages)
        parallel = params.parallel_tool_calls is not False
        calls = tool_constraint(
            told,
            choice,
            parallel=parallel,
            max_calls=params.max_tool_calls,
            text=text,
            engine=engine,
        )
        # After a server-owned tool has run the model answers from what it found: it may call a client tool, or
        # run a failed call again (code, an MCP tool; one call at a time), but not search again, and a plain-text
        # answer may not open like a call (small models otherwise repeat the same search, code or call, as a call
        # or written out as one, or call every tool in turn).
        followup = ToolChoice("auto" if choice.mode == "required" else choice.mode, choice.allowed)
        again = {name for name, server_tool in tools.server.items() if server_tool.repeatable}
        client_tools = [tool for tool in told if tool.name not in tools.server]
        answer = text if text is not None or not tools.server else PROSE
        after_tools = tool_constraint(
            client_tools, followup, parallel=parallel, max_calls=None, text=text, engine=engine
        )
        retry = [tool for tool in told if tool.name not in tools.server or tool.name in again]
        after_failure = tool_constraint(retry, followup, parallel=False, max_calls=None, text=text, engine=engine)
        return PreparedResponse(
            project=project,
            engine=engine,
            turn=Turn(
                _generate_request(params, messages, calls or text, told),
                "message.output_text.logprobs" in include,
                server_tools=tools.server,
                after_tools=after_tools or answer,
                after_failure=after_failure or answer,
                without_tools=answer,
                max_tool_calls=params.max_tool_calls,
                opening=[opening for mcp in tools.mcp for opening in mcp.opening()],
                approved=approved,
                client_tools=tools.client,
                queued=params.background is True,
            ),
            emitter=EventEmitter(response, obfuscate=_obfuscate(params)),
            input_items=input_items,
            store=params.store is not False,
            conversation_id=conversation_id,
            background=params.background is True,
        )

    async def run(self, prepared: PreparedResponse) -> AsyncIterator[ResponseStreamEvent]:
        """The response's events. Its final state is stored before the terminal event goes out, so a client that
        reads the response (or its conversation) right after `response.completed` sees exactly that response."""
        emitter = prepared.emitter
        # The first write runs while the model reads the prompt: it is off the time-to-first-token path, and
        # `_finish` waits for it before writing the final state.
        write = self._repository.replace if prepared.background else self._repository.add
        inserted = asyncio.ensure_future(write(self._stored(prepared))) if prepared.store else None
        finished = False
        try:
            async for event in run_turn(prepared.engine, prepared.turn, emitter):
                if emitter.response.status in _TERMINAL:
                    await self._finish(prepared, inserted)
                    finished = True
                yield event
        finally:
            if not finished:
                emitter.response.status = "cancelled"
                with anyio.CancelScope(shield=True):
                    await self._finish(prepared, inserted)

    async def _finish(self, prepared: PreparedResponse, inserted: asyncio.Future[None] | None) -> None:
        response = prepared.emitter.response
        if inserted is not None:
            await inserted
            await self._repository.replace(self._stored(prepared))
        if prepared.conversation_id and response.status in ("completed", "incomplete"):
            output = [wire(item) for item in response.output]
            await self._conversations.append(
                prepared.conversation_id, prepared.input_items + output, skip_existing=True
            )

    async def create(self, params: CreateResponseParams, project: str) -> Response:
        """The non-streaming path: the same events, collected."""
        prepared = await self.prepare(params, project)
        async for _event in self.run(prepared):
            pass
        return prepared.emitter.response

    @staticmethod
    def _stored(prepared: PreparedResponse) -> StoredResponse:
        response = prepared.emitter.response
        return StoredResponse(response.id, prepared.project, wire(response), prepared.input_items)

    async def get(self, project: str, response_id: str) -> StoredResponse:
        stored = await self._repository.get(project, response_id)
        if stored is None:
            raise NotFound(f"No response found with id '{response_id}'.", param="response_id")
        return stored

    async def delete(self, project: str, response_id: str) -> None:
        if not await self._repository.delete(project, response_id):
            raise NotFound(f"No response found with id '{response_id}'.", param="response_id")

    async def count_input_tokens(self, params: CreateResponseParams, project: str) -> int:
        prepared = await self.prepare(params, project)
        request = prepared.turn.request
        return prepared.engine.count_tokens(request.messages, request.tools)


def _model_name(params: CreateResponseParams, prompt: ResolvedPrompt | None) -> str:
    """The request's model, else the prompt's."""
    model = params.model or (prompt.model if prompt else None)
    if not model:
        raise InvalidRequest("Missing required parameter: 'model'.", param="model", code="missing_required_parameter")
    return model


def _instructions(params: CreateResponseParams, prompt: ResolvedPrompt | None) -> str | None:
    """A prompt's instructions come first; the request's own instructions follow them."""
    parts = [text for text in (prompt.instructions if prompt else None, params.instructions) if text]
    return "\n\n".join(parts) or None


def _conversation_id(params: CreateResponseParams) -> str | None:
    conversation = params.conversation
    if conversation is None:
        return None
    if params.previous_response_id:
        raise InvalidRequest(
            "Mutually exclusive parameters: provide either 'conversation' or 'previous_response_id', not both.",
            param="conversation",
        )
    return conversation if isinstance(conversation, str) else conversation.id


def _skeleton(
    params: CreateResponseParams,
    response_id: str,
    model_id: str,
    *,
    instructions: str | None,
    conversation_id: str | None,
    prompt: ResolvedPrompt | None,
    tools: list[dict[str, Any]],
) -> Response:
    """The response as `response.created` shows it, every field at OpenAI's default unless the request set it.

    Validated from a mapping because `store` is on the wire (and in the docs' printouts) but not in the SDK type.
    """
    verbosity = (params.text.verbosity if params.text else None) or "medium"
    return Response.model_validate(
        {
            "id": response_id,
            "object": "response",
            "created_at": int(time.time()),
            "status": "in_progress",
            "background": params.background is True,
            "error": None,
            "incomplete_details": None,
            "instructions": instructions,
            "max_output_tokens": params.max_output_tokens,
            "max_tool_calls": params.max_tool_calls,
            "metadata": params.metadata or {},
            "model": model_id,
            "output": [],
            "parallel_tool_calls": params.parallel_tool_calls is not False,
            "previous_response_id": params.previous_response_id,
            "prompt_cache_key": params.prompt_cache_key,
            "reasoning": {"effort": None, "summary": None},
            "safety_identifier": params.safety_identifier,
            "service_tier": "default",
            "store": params.store is not False,
            "temperature": 1.0 if params.temperature is None else params.temperature,
            "text": {"format": format_echo(params.text), "verbosity": verbosity},
            "tool_choice": params.tool_choice or "auto",
            "tools": tools,
            "top_logprobs": params.top_logprobs or 0,
            "top_p": 1.0 if params.top_p is None else params.top_p,
            "truncation": params.truncation or "disabled",
            "usage": None,
            "user": params.user,
            "prompt": {"id": prompt.id, "version": prompt.version, "variables": prompt.variables} if prompt else None,
            **({"conversation": {"id": conversation_id}} if conversation_id else {}),
        }
    )


def _generate_request(
    params: CreateResponseParams, messages: list[ChatMessage], constraint: Constraint | None, tools: list[Tool]
) -> GenerateRequest:
    include = set(params.include or ())
    return GenerateRequest(
        messages=messages,
        tools=tools,
        sampling=Sampling(
            temperature=1.0 if params.temperature is None else params.temperature,
            top_p=1.0 if params.top_p is None else params.top_p,
            max_tokens=params.max_output_tokens,
            top_logprobs=(params.top_logprobs or 0) if "message.output_text.logprobs" in include else None,
            constraint=constraint,
        ),
    )


def _obfuscate(params: CreateResponseParams) -> bool:
    options = params.stream_options
    return bool(params.stream) and (options is None or options.include_obfuscation is not False)
