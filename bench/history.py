"""History assembly for a long thread: `previous_response_id` chains and conversations of 100 turns.

The engine is stubbed (token counts from text length) so the number is Homeport's own cost: reading the history
from the store and turning it into the model's messages. The baseline is the same assembly for a 1-turn thread.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from homeport.engines import ChatMessage, EngineDelta, GenerateRequest
from homeport.responses import ConversationService
from homeport.responses.context import history, model_messages
from homeport.store import ConversationRepository, Database, ResponseRepository, StoredConversation, StoredResponse

PROJECT = "bench"


class StubEngine:
    """Counts tokens as characters / 4 and never generates: assembly is what is measured."""

    model_id = "stub"
    context_size = 1_000_000
    vocab_size = 1
    accepts_images = False

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return sum(len(message.content) for message in messages) // 4

    def check_constraint(self, constraint: object, *, param: str) -> None:
        pass

    def count_prompt_tokens(self, prompt: str) -> int:
        return len(prompt) // 4

    async def generate(self, request: GenerateRequest) -> AsyncGenerator[EngineDelta, None]:
        raise NotImplementedError("the history benchmark never generates")
        yield  # pragma: no cover

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class Assembly:
    turns: int
    chain_ms: float
    conversation_ms: float
    baseline_chain_ms: float
    baseline_conversation_ms: float


def _message(item_id: str, role: str, text: str) -> dict[str, object]:
    kind = "output_text" if role == "assistant" else "input_text"
    return {
        "id": item_id,
        "type": "message",
        "role": role,
        "status": "completed",
        "content": [{"type": kind, "text": text, **({"annotations": []} if role == "assistant" else {})}],
    }


async def _chain(repository: ResponseRepository, turns: int, tag: str) -> str:
    previous: str | None = None
    for turn in range(turns):
        response_id = f"resp_{tag}_{turn}"
        body = {
            "id": response_id,
            "created_at": turn,
            "status": "completed",
            "previous_response_id": previous,
            "output": [_message(f"msg_{tag}_out_{turn}", "assistant", f"Answer number {turn}. " * 8)],
        }
        inputs = [_message(f"msg_{tag}_in_{turn}", "user", f"Question number {turn}? " * 8)]
        await repository.add(StoredResponse(response_id, PROJECT, body, inputs))
        previous = response_id
    assert previous is not None
    return previous


async def _conversation(repository: ConversationRepository, turns: int, tag: str) -> str:
    conversation = StoredConversation(f"conv_{tag}", PROJECT, 0, {})
    items = []
    for turn in range(turns):
        items += [
            _message(f"msg_{tag}_q{turn}", "user", f"Question number {turn}? " * 8),
            _message(f"msg_{tag}_a{turn}", "assistant", f"Answer number {turn}. " * 8),
        ]
    await repository.add(conversation, items)
    return conversation.id


async def _p50(step: Callable[[], Awaitable[object]], runs: int) -> float:
    await step()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        await step()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


async def measure(directory: Path, turns: int = 100, runs: int = 50) -> Assembly:
    database = await Database.open(f"sqlite+aiosqlite:///{directory / 'history.db'}")
    try:
        responses = ResponseRepository(database)
        conversations = ConversationService(ConversationRepository(database), accepts_images=False)
        engine = StubEngine()

        def assemble_chain(last: str) -> Callable[[], Awaitable[object]]:
            async def step() -> object:
                items = await history(responses, PROJECT, last)
                return model_messages(engine, instructions=None, verbosity=None, items=items, truncation="disabled")

            return step

        def assemble_conversation(conversation_id: str) -> Callable[[], Awaitable[object]]:
            async def step() -> object:
                items = await conversations.history(PROJECT, conversation_id)
                return model_messages(engine, instructions=None, verbosity=None, items=items, truncation="disabled")

            return step

        long_chain, short_chain = await _chain(responses, turns, "long"), await _chain(responses, 1, "short")
        long_conv = await _conversation(ConversationRepository(database), turns, "long")
        short_conv = await _conversation(ConversationRepository(database), 1, "short")
        return Assembly(
            turns=turns,
            chain_ms=await _p50(assemble_chain(long_chain), runs),
            conversation_ms=await _p50(assemble_conversation(long_conv), runs),
            baseline_chain_ms=await _p50(assemble_chain(short_chain), runs),
            baseline_conversation_ms=await _p50(assemble_conversation(short_conv), runs),
        )
    finally:
        await database.close()


def report(assembly: Assembly) -> list[str]:
    return [
        f"history previous_response_id, {assembly.turns} turns: p50 {assembly.chain_ms:.2f} ms "
        f"(1 turn: {assembly.baseline_chain_ms:.2f} ms, ratio {assembly.chain_ms / assembly.baseline_chain_ms:.1f}x; "
        "goal < 5 ms)",
        f"history conversation, {assembly.turns} turns: p50 {assembly.conversation_ms:.2f} ms "
        f"(1 turn: {assembly.baseline_conversation_ms:.2f} ms, "
        f"ratio {assembly.conversation_ms / assembly.baseline_conversation_ms:.1f}x; goal < 5 ms)",
    ]
