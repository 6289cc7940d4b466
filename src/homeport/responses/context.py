"""What the model reads for one turn: instructions, then the `previous_response_id` chain, then the new input.

Instructions of earlier responses are not carried over (as in OpenAI's API): each request states its own.
"""

from __future__ import annotations

from collections.abc import Sequence

from homeport.engines.base import ChatMessage, Engine
from homeport.engines.constraints import Tool
from homeport.errors import ContextLengthExceeded, NotFound
from homeport.responses.documents import Documents
from homeport.responses.items import Item, chat_turns
from homeport.store import ResponseRepository

_VERBOSITY = {
    "low": "Answer briefly: a sentence or two unless more is essential.",
    "high": "Answer thoroughly, with explanation and detail.",
}


async def history(repository: ResponseRepository, project: str, previous_response_id: str | None) -> list[Item]:
    """Every input and output item of the chain ending at `previous_response_id`, oldest first."""
    if previous_response_id is None:
        return []
    chain = await repository.chain(project, previous_response_id)
    if not chain or chain[0].previous_response_id is not None:
        missing = chain[0].previous_response_id if chain else previous_response_id
        raise NotFound(f"Previous response with id '{missing}' not found.", param="previous_response_id")
    items: list[Item] = []
    for stored in chain:
        items += stored.input_items + stored.output
    return items


def model_messages(
    engine: Engine,
    *,
    instructions: str | None,
    verbosity: str | None,
    items: Sequence[Item],
    truncation: str,
    tools: Sequence[Tool] = (),
    documents: Documents | None = None,
) -> list[ChatMessage]:
    """The chat the engine renders. With truncation `auto` the oldest items go first until the input fits."""
    system = [text for text in (instructions, _VERBOSITY.get(verbosity or "")) if text]
    head = [ChatMessage("system", "\n\n".join(system))] if system else []
    turns = chat_turns(items, documents)
    while True:
        messages = head + turns
        used = engine.count_tokens(messages, tools)
        if used < engine.context_size:
            return messages
        if truncation != "auto" or len(turns) <= 1:
            ensure_fits(engine, used, param="input", advice=" Shorten it, or set truncation to 'auto'.")
        turns = turns[1:]


def ensure_fits(engine: Engine, used: int, *, param: str, advice: str = "") -> None:
    """The one context-window check of every API: an input of `used` prompt tokens must leave room to answer."""
    if used >= engine.context_size:
        raise ContextLengthExceeded(
            f"The input ('{param}') takes {used} tokens, more than this model's context window of "
            f"{engine.context_size} tokens.{advice}",
            param=param,
        )
