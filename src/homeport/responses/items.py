"""Input items: from what a client sends, to what `input_items` lists, to what the model reads.

Stored items use the wire shape of the SDK's `ResponseItem` (ids assigned, status completed), so the listing
endpoint returns them as they are and a chained response can replay them.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError

from homeport.engines.base import ChatMessage
from homeport.errors import InvalidRequest, invalid_request_from
from homeport.ids import new_id
from homeport.responses.params import InputFile, InputImage, InputText, MessageItem, OutputText, Refusal

_MESSAGE = TypeAdapter(MessageItem)

Item = dict[str, Any]


def parse_input(
    raw: str | list[dict[str, Any]] | None, *, accepts_images: bool, suffix: str, param: str = "input"
) -> list[Item]:
    """Validate input items (a request's `input`, a conversation's `items`) and return them as stored, in order."""
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = [{"role": "user", "content": raw}]
    items: list[Item] = []
    for index, entry in enumerate(raw):
        where = f"{param}[{index}]"
        kind = entry.get("type", "message")
        if kind != "message":
            raise InvalidRequest(f"Input items of type '{kind}' are not supported yet.", param=f"{where}.type")
        try:
            message = _MESSAGE.validate_python(entry)
        except ValidationError as exc:
            raise invalid_request_from(exc, prefix=where) from exc
        item = _stored_message(message, where, accepts_images=accepts_images, suffix=suffix)
        if any(earlier["id"] == item["id"] for earlier in items):
            raise InvalidRequest(f"Item id '{item['id']}' appears twice in the input.", param=f"{where}.id")
        items.append(item)
    return items


def _stored_message(message: MessageItem, param: str, *, accepts_images: bool, suffix: str) -> Item:
    content_in = message.content
    parts = [InputText(type="input_text", text=content_in)] if isinstance(content_in, str) else content_in
    assistant = message.role == "assistant"
    content: list[dict[str, Any]] = []
    for index, part in enumerate(parts):
        where = f"{param}.content[{index}]"
        if isinstance(part, InputImage) and not accepts_images:
            raise InvalidRequest("The served model cannot see images; 'input_image' is not accepted.", param=where)
        if isinstance(part, InputFile):
            raise InvalidRequest("'input_file' content is not supported yet.", param=where)
        if assistant and isinstance(part, InputText | OutputText):
            content.append({"type": "output_text", "text": part.text, "annotations": []})
        elif isinstance(part, Refusal):
            if not assistant:
                raise InvalidRequest("Only assistant messages may carry a refusal.", param=where)
            content.append({"type": "refusal", "refusal": part.refusal})
        elif isinstance(part, OutputText):
            raise InvalidRequest("'output_text' content belongs to assistant messages.", param=where)
        else:
            content.append(part.model_dump(exclude_none=True))
    return {
        "id": message.id or new_id("msg", suffix),
        "type": "message",
        "role": message.role,
        "content": content,
        "status": "completed",
    }


def to_chat(item: Item) -> ChatMessage | None:
    """What the model reads of one stored item (input or earlier output); None if it reads nothing of it."""
    if item.get("type") != "message":
        return None
    texts = [part.get("text") or part.get("refusal") or "" for part in item.get("content", [])]
    role = item["role"]
    return ChatMessage(role="system" if role == "developer" else role, content="\n".join(texts))


def shown_items(items: list[Item], include: Sequence[str]) -> list[Item]:
    """Logprobs are stored when they were asked for at creation, and shown only when asked for again."""
    if "message.output_text.logprobs" in include:
        return items
    shown = copy.deepcopy(items)
    for item in shown:
        for part in item.get("content", []) if item.get("type") == "message" else []:
            if part.get("type") == "output_text" and part.get("logprobs"):
                part["logprobs"] = []
    return shown
