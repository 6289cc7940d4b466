"""Create, store, list, update and delete chat completions.

A completion runs as its chunks; the non-streaming answer is those same chunks collected. Choices (`n`) are
generated one after another through `run_choice`, the turn loop Responses uses. A completion created with
`store: true` is written once, whole, before its last choice's closing chunk goes out, so a client that reads it
back right after the stream sees it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from openai.types.chat import ChatCompletion, ChatCompletionChunk

from homeport.engines import Engine, GenerateRequest, ModelCatalog
from homeport.engines.constraints import CustomTool
from homeport.errors import InvalidRequest, NotFound
from homeport.files.service import FileService
from homeport.ids import new_completion_id
from homeport.responses.chat_chunks import ChunkMaker, CompletionCollector, CompletionHead
from homeport.responses.chat_messages import chat_file_parts, chat_messages
from homeport.responses.chat_params import CreateChatCompletionParams, ResponseFormatJsonSchema, reject_unsupported
from homeport.responses.chat_tool_params import chat_tool_choice, chat_tools
from homeport.responses.choices import ChoiceEnd, run_choice
from homeport.responses.context import ensure_fits
from homeport.responses.documents import read_documents
from homeport.responses.events import wire
from homeport.responses.formats import format_hint, response_format_constraint, with_system_hint
from homeport.responses.tool_params import tool_constraint
from homeport.store import ChatCompletionRepository, StoredChatCompletion


@dataclass
class PreparedChatCompletion:
    """A validated request, ready to run; everything that can be a 4xx has been checked."""

    project: str
    engine: Engine
    request: GenerateRequest
    choices: int
    logprobs: bool
    store: bool
    messages: list[dict[str, Any]]
    chunks: ChunkMaker
    collected: CompletionCollector


class ChatCompletionService:
    def __init__(self, catalog: ModelCatalog, repository: ChatCompletionRepository, files: FileService) -> None:
        self._catalog = catalog
        self._repository = repository
        self._files = files

    async def prepare(self, params: CreateChatCompletionParams, project: str) -> PreparedChatCompletion:
        reject_unsupported(params)
        engine = self._catalog.resolve(params.model)
        completion_id = new_completion_id("chatcmpl")
        documents = await read_documents(self._files, project, chat_file_parts(params.messages), strict=True)
        messages, stored = chat_messages(params.messages, completion_id, documents)
        described = params.response_format
        if isinstance(described, ResponseFormatJsonSchema):
            messages = with_system_hint(messages, format_hint(described.json_schema.description))
        tools = chat_tools(params.tools, engine)
        choice = chat_tool_choice(params.tool_choice, tools)
        told = tools if choice.mode != "none" else []  # not told, the model does not try to call
        ensure_fits(engine, engine.count_tokens(messages, told), param="messages")
        sampling = params.sampling(
            vocab_size=engine.vocab_size, max_tokens=params.output_limit, top_logprobs=params.alternatives
        )
        text = response_format_constraint(params.response_format, engine, messages)
        parallel = params.parallel_tool_calls is not False
        calls = tool_constraint(told, choice, parallel=parallel, max_calls=None, text=text, engine=engine)
        if params.stream and calls and any(isinstance(tool, CustomTool) for tool in calls.tools):
            raise InvalidRequest(
                "Custom tool calls cannot be streamed on Chat Completions (its chunks have no place for them); "
                "set 'stream' false, or use the Responses API.",
                param="stream",
            )
        sampling = replace(sampling, constraint=calls or text)
        head = CompletionHead(completion_id, int(time.time()), engine.model_id, _fingerprint(engine.model_id))
        logprobs = bool(params.logprobs)
        return PreparedChatCompletion(
            project=project,
            engine=engine,
            request=GenerateRequest(messages, sampling, tools=told),
            choices=params.choices,
            logprobs=logprobs,
            store=params.store is True,
            messages=stored,
            chunks=ChunkMaker(head, logprobs, include_usage=params.include_usage, obfuscate=params.obfuscate),
            collected=CompletionCollector(head, logprobs, metadata=params.metadata or {}),
        )

    async def run(self, prepared: PreparedChatCompletion) -> AsyncIterator[ChatCompletionChunk]:
        """Every chunk, choice after choice; a failed generation raises `EngineError` (in-band once streaming)."""
        chunks, collected = prepared.chunks, prepared.collected
        for index in range(prepared.choices):
            yield chunks.opening(index)
            async for piece in run_choice(prepared.engine, prepared.request, index=index, logprobs=prepared.logprobs):
                collected.add(index, piece)
                if not isinstance(piece, ChoiceEnd):
                    yield chunks.piece(index, piece)
                    continue
                if index == prepared.choices - 1 and prepared.store:
                    await self._store(prepared)
                yield chunks.closing(index, piece.reason)
        if chunks.include_usage:
            yield chunks.usage(collected.usage.wire())

    async def create(self, prepared: PreparedChatCompletion) -> ChatCompletion:
        """The non-streaming path: the same chunks, collected."""
        async for _sent in self.run(prepared):
            pass
        return prepared.collected.completion()

    async def _store(self, prepared: PreparedChatCompletion) -> None:
        completion = prepared.collected.completion()
        await self._repository.add(
            StoredChatCompletion(
                id=completion.id,
                project=prepared.project,
                created_at=completion.created,
                model=completion.model,
                body=wire(completion),
                messages=prepared.messages,
            )
        )

    async def get(self, project: str, completion_id: str) -> StoredChatCompletion:
        stored = await self._repository.get(project, completion_id)
        if stored is None:
            raise NotFound(f"No chat completion found with id '{completion_id}'.", param="completion_id")
        return stored

    async def page(
        self,
        project: str,
        *,
        model: str | None,
        metadata: Mapping[str, str],
        after: str | None,
        limit: int,
        order: Literal["asc", "desc"],
    ) -> dict[str, Any]:
        """One page of the stored completions, OpenAI's list envelope around them.

        A model filter names what the completions report, the model that really ran, so an alias (`gpt-4o`) finds
        the completions its model made.
        """
        if model is not None and model in self._catalog.names:
            model = self._catalog.resolve(model).model_id
        page = await self._repository.page(
            project, model=model, metadata=metadata, after=after, limit=limit, newest_first=order == "desc"
        )
        if page is None:
            raise NotFound(f"No chat completion found with id '{after}'.", param="after")
        data = [stored.body for stored in page.completions]
        return {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else "",
            "last_id": data[-1]["id"] if data else "",
            "has_more": page.has_more,
        }

    async def update(self, project: str, completion_id: str, metadata: dict[str, str] | None) -> dict[str, Any]:
        body = await self._repository.set_metadata(project, completion_id, metadata or {})
        if body is None:
            raise NotFound(f"No chat completion found with id '{completion_id}'.", param="completion_id")
        return body

    async def delete(self, project: str, completion_id: str) -> None:
        if not await self._repository.delete(project, completion_id):
            raise NotFound(f"No chat completion found with id '{completion_id}'.", param="completion_id")


def _fingerprint(model_id: str) -> str:
    """Names the model configuration that served a completion, so seeded clients can see when it changes."""
    return "fp_" + hashlib.sha256(model_id.encode()).hexdigest()[:10]
