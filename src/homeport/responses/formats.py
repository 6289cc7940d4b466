"""Output formats: what the answer must look like, turned into a decoding constraint the engine enforces.

Both APIs take the same two JSON formats, nested differently: Responses `text.format` and Chat Completions
`response_format`. `json_schema` with `strict: true` must lie in OpenAI's Structured Outputs subset (checked first,
with a `param` that points into the schema); without `strict` the schema still guides decoding. `json_object` needs
the word "JSON" somewhere in what the model reads, as OpenAI requires, so the model is told what is expected of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from homeport.engines import ChatMessage, Engine, JsonObject, JsonSchema
from homeport.engines.schema_subset import check_strict_schema
from homeport.errors import InvalidRequest
from homeport.responses.chat_params import ResponseFormat, ResponseFormatJsonObject, ResponseFormatJsonSchema
from homeport.responses.params import JsonObjectFormat, JsonSchemaFormat, TextConfig


@dataclass(frozen=True)
class FormatPlace:
    """Where an API keeps a format's pieces in its request body, so each error's `param` names the right spot."""

    format: str
    """The format object: a schema the engine cannot compile is reported here."""
    schema: str
    """The JSON Schema: a strict schema outside the subset is reported at the offending place inside it."""
    messages: str
    """What the model reads: json_object without the word "json" is reported here."""


RESPONSES_FORMAT = FormatPlace(format="text.format", schema="text.format.schema", messages="input")
CHAT_FORMAT = FormatPlace(format="response_format", schema="response_format.json_schema.schema", messages="messages")


def json_constraint(
    engine: Engine,
    messages: Sequence[ChatMessage],
    place: FormatPlace,
    *,
    schema: dict[str, Any] | None,
    strict: bool = False,
) -> JsonSchema | JsonObject:
    """The constraint for a JSON format (`schema` for json_schema, None for json_object), compiled once now so a bad
    schema is a 400 before streaming."""
    constraint: JsonSchema | JsonObject
    if schema is not None:
        if strict:
            check_strict_schema(schema, param=place.schema)
        constraint = JsonSchema(schema, strict=strict)
    else:
        if not any("json" in message.content.lower() for message in messages):
            raise InvalidRequest(
                f"'{place.messages}' must contain the word 'json' in some form to use '{place.format}' of type "
                "'json_object'.",
                param=place.messages,
            )
        constraint = JsonObject()
    engine.check_constraint(constraint, param=place.format)
    return constraint


def text_constraint(
    text: TextConfig | None, engine: Engine, messages: Sequence[ChatMessage]
) -> JsonSchema | JsonObject | None:
    """The constraint for a Responses request's `text.format`; None for plain text."""
    chosen = text.format if text else None
    if isinstance(chosen, JsonSchemaFormat):
        return json_constraint(engine, messages, RESPONSES_FORMAT, schema=chosen.schema_, strict=bool(chosen.strict))
    if isinstance(chosen, JsonObjectFormat):
        return json_constraint(engine, messages, RESPONSES_FORMAT, schema=None)
    return None


def format_hint(description: str | None) -> str | None:
    """A `json_schema` format's `description`, which OpenAI documents as read by the model, as the model reads it."""
    return f"Your answer is a JSON value for this purpose: {description}" if description else None


def with_system_hint(messages: Sequence[ChatMessage], hint: str | None) -> list[ChatMessage]:
    """`messages` with `hint` at the end of the leading system message (one is added when there is none)."""
    if hint is None:
        return list(messages)
    if messages and messages[0].role == "system":
        return [ChatMessage("system", f"{messages[0].content}\n\n{hint}"), *messages[1:]]
    return [ChatMessage("system", hint), *messages]


def response_format_constraint(
    response_format: ResponseFormat | None, engine: Engine, messages: Sequence[ChatMessage]
) -> JsonSchema | JsonObject | None:
    """The constraint for a chat completion's `response_format`; None for plain text."""
    if isinstance(response_format, ResponseFormatJsonSchema):
        spec = response_format.json_schema
        schema = spec.schema_ if spec.schema_ is not None else {}
        return json_constraint(engine, messages, CHAT_FORMAT, schema=schema, strict=bool(spec.strict))
    if isinstance(response_format, ResponseFormatJsonObject):
        return json_constraint(engine, messages, CHAT_FORMAT, schema=None)
    return None


def format_echo(text: TextConfig | None) -> dict[str, Any]:
    """`text.format` as the response shows it: the request's, with OpenAI's defaults filled in."""
    chosen = text.format if text else None
    if isinstance(chosen, JsonSchemaFormat):
        return {
            "type": "json_schema",
            "name": chosen.name,
            "schema": chosen.schema_,
            "strict": bool(chosen.strict),
            "description": chosen.description,
        }
    if isinstance(chosen, JsonObjectFormat):
        return {"type": "json_object"}
    return {"type": "text"}
