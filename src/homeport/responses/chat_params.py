"""What `POST /v1/chat/completions` and `POST /v1/chat/completions/{id}` accept, validated field by field.

Every field of the SDK's chat `CompletionCreateParams` is declared, so an unknown key is a 400 naming it, and a
field this server cannot honour yet is refused by `reject_unsupported` rather than silently dropped.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from homeport.errors import InvalidRequest
from homeport.metadata import Metadata
from homeport.responses.params import check_serving_options
from homeport.responses.sampling import STRICT, SamplingParams

_LATER = "is not supported by this server yet"


class ResponseFormatText(BaseModel):
    model_config = STRICT
    type: Literal["text"]


class ResponseFormatJsonObject(BaseModel):
    model_config = STRICT
    type: Literal["json_object"]


class JsonSchemaSpec(BaseModel):
    """`response_format.json_schema`, Structured Outputs' settings."""

    model_config = STRICT
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str | None = None
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    """None: any JSON value."""
    strict: bool | None = None
    """Off unless set, as in OpenAI's API: the schema then guides decoding but is not checked against the subset."""


class ResponseFormatJsonSchema(BaseModel):
    model_config = STRICT
    type: Literal["json_schema"]
    json_schema: JsonSchemaSpec


class AnyResponseFormat(BaseModel):
    """Chosen only for a `type` that no format has (or none at all), so that the 400 names `response_format.type`
    and lists the types there are; it never validates, as each of those types picks its own model."""

    model_config = ConfigDict(extra="allow", strict=True)
    type: Literal["text", "json_object", "json_schema"]


_FORMAT_TAGS = {
    "text": "ResponseFormatText",
    "json_object": "ResponseFormatJsonObject",
    "json_schema": "ResponseFormatJsonSchema",
}


def _format_tag(value: Any) -> str:
    # Capitalized tags: pydantic puts the tag into an error's location and `errors.param_path` leaves such names out.
    kind = value.get("type") if isinstance(value, dict) else None
    return _FORMAT_TAGS.get(kind, "AnyResponseFormat") if isinstance(kind, str) else "AnyResponseFormat"


ResponseFormat = Annotated[
    Annotated[ResponseFormatText, Tag("ResponseFormatText")]
    | Annotated[ResponseFormatJsonObject, Tag("ResponseFormatJsonObject")]
    | Annotated[ResponseFormatJsonSchema, Tag("ResponseFormatJsonSchema")]
    | Annotated[AnyResponseFormat, Tag("AnyResponseFormat")],
    Discriminator(_format_tag),
]
"""`response_format`, which `formats.response_format_constraint` turns into what the engine enforces."""


class CreateChatCompletionParams(SamplingParams):
    messages: list[dict[str, Any]] = Field(min_length=1)
    """Checked one by one in `chat_messages`, so that each problem names its message."""
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    logprobs: bool | None = None
    top_logprobs: int | None = Field(None, ge=0, le=20)
    safety_identifier: str | None = Field(None, max_length=128)
    metadata: Metadata | None = None
    store: bool | None = None
    response_format: ResponseFormat | None = None
    prompt_cache_key: str | None = Field(None, max_length=512)
    prompt_cache_retention: Literal["in_memory", "24h"] | None = None
    service_tier: Literal["auto", "default", "flex", "scale", "priority", "fast"] | None = None
    reasoning_effort: Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"] | None = None
    verbosity: Literal["low", "medium", "high"] | None = None
    modalities: list[Literal["text", "audio"]] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    # Declared only to be refused by name in `reject_unsupported`.
    audio: dict[str, Any] | None = None
    function_call: str | dict[str, Any] | None = None
    functions: list[dict[str, Any]] | None = None
    moderation: dict[str, Any] | None = None
    prediction: dict[str, Any] | None = None
    prompt_cache_options: dict[str, Any] | None = None
    web_search_options: dict[str, Any] | None = None

    @property
    def output_limit(self) -> int | None:
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens

    @property
    def alternatives(self) -> int | None:
        """The engine's `top_logprobs`: None without logprobs, else how many alternatives each token carries."""
        return (self.top_logprobs or 0) if self.logprobs else None


class UpdateChatCompletionParams(BaseModel):
    model_config = STRICT
    metadata: Metadata | None


# Fields whose every value is refused until the issue that builds them lands, with the reason.
_REFUSED = {
    "audio": "Audio output is not supported by the served model.",
    "function_call": "The deprecated 'function_call' is not supported; use 'tool_choice'.",
    "functions": "The deprecated 'functions' is not supported; use 'tools'.",
    "moderation": f"Moderated completions {_LATER}.",
    "prediction": f"Predicted outputs {_LATER}.",
    "prompt_cache_options": f"'prompt_cache_options' {_LATER}.",
    "web_search_options": f"Web search {_LATER}.",
}


def reject_unsupported(params: CreateChatCompletionParams) -> None:
    """Refuse, naming the param, every value this server would otherwise have to ignore."""
    for name, reason in _REFUSED.items():
        if getattr(params, name) is not None:
            raise InvalidRequest(reason, param=name)
    _reject_tools(params)
    if params.max_tokens is not None and params.max_completion_tokens is not None:
        raise InvalidRequest("Set 'max_completion_tokens' or 'max_tokens', not both.", param="max_tokens")
    if params.top_logprobs is not None and not params.logprobs:
        raise InvalidRequest("'top_logprobs' needs 'logprobs' set to true.", param="top_logprobs")
    if params.modalities and set(params.modalities) != {"text"}:
        raise InvalidRequest(
            "The served model only produces text; 'modalities' must be [\"text\"].", param="modalities"
        )
    if params.reasoning_effort not in (None, "none"):
        raise InvalidRequest("Reasoning is not supported by this model.", param="reasoning_effort")
    if params.verbosity not in (None, "medium"):
        raise InvalidRequest(f"'verbosity' other than 'medium' {_LATER}.", param="verbosity")
    check_serving_options(params.service_tier, params.prompt_cache_retention)


def _reject_tools(params: CreateChatCompletionParams) -> None:
    if params.parallel_tool_calls is not None and not params.tools:
        raise InvalidRequest(
            "'parallel_tool_calls' is only allowed when 'tools' are specified.", param="parallel_tool_calls"
        )
