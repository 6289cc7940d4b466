"""`text.format`: what the answer must look like, turned into a decoding constraint the engine enforces.

`json_schema` with `strict: true` must lie in OpenAI's Structured Outputs subset (checked first, with a `param` that
points into the schema); without `strict` the schema still guides decoding. `json_object` needs the word "JSON"
somewhere in what the model reads, as OpenAI requires, so the model is told what is expected of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from homeport.engines import ChatMessage, Engine, JsonObject, JsonSchema
from homeport.engines.constraints import Constraint
from homeport.engines.schema_subset import check_strict_schema
from homeport.errors import InvalidRequest
from homeport.responses.params import JsonObjectFormat, JsonSchemaFormat, TextConfig


def text_constraint(text: TextConfig | None, engine: Engine, messages: Sequence[ChatMessage]) -> Constraint | None:
    """The constraint for a request's `text.format`, compiled once now so a bad schema is a 400 before streaming."""
    chosen = text.format if text else None
    constraint: Constraint
    if isinstance(chosen, JsonSchemaFormat):
        if chosen.strict:
            check_strict_schema(chosen.schema_, param="text.format.schema")
        constraint = JsonSchema(chosen.schema_, strict=bool(chosen.strict))
    elif isinstance(chosen, JsonObjectFormat):
        if not any("json" in message.content.lower() for message in messages):
            raise InvalidRequest(
                "'input' must contain the word 'json' in some form to use 'text.format' of type 'json_object'.",
                param="input",
            )
        constraint = JsonObject()
    else:
        return None
    engine.check_constraint(constraint, param="text.format")
    return constraint


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
