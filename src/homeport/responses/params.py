"""What `POST /v1/responses` accepts, validated field by field.

Every field of the SDK's `ResponseCreateParams` is declared here, so an unknown key is a 400 naming it, and a field
we cannot honour yet is rejected by `reject_unsupported` instead of being silently dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from homeport.errors import InvalidRequest
from homeport.metadata import Metadata

# Strict: "yes" is not a boolean and "1" is not a number, as in OpenAI's API.
_STRICT = ConfigDict(extra="forbid", strict=True)


class InputText(BaseModel):
    model_config = _STRICT
    type: Literal["input_text"]
    text: str


class OutputText(BaseModel):
    """Assistant text replayed as input, as `response.output` hands it back."""

    model_config = _STRICT
    type: Literal["output_text"]
    text: str
    annotations: list[Any] = Field(default_factory=list)
    logprobs: list[Any] | None = None


class Refusal(BaseModel):
    model_config = _STRICT
    type: Literal["refusal"]
    refusal: str


class InputImage(BaseModel):
    model_config = _STRICT
    type: Literal["input_image"]
    image_url: str | None = None
    file_id: str | None = None
    detail: Literal["low", "high", "auto", "original"] = "auto"


class InputFile(BaseModel):
    model_config = _STRICT
    type: Literal["input_file"]
    file_id: str | None = None
    file_data: str | None = None
    file_url: str | None = None
    filename: str | None = None


def by_type(**models: str) -> Discriminator:
    """A discriminator on `type` whose tags are class names: pydantic puts the tag into an error's location, and a
    capitalized name is one `errors.param_path` leaves out, so a param reads `text.format.schema`, not
    `text.format.json_schema.schema`."""

    def tag(value: Any) -> str | None:
        kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
        return models.get(kind) if isinstance(kind, str) else None

    return Discriminator(tag)


ContentPart = Annotated[
    Annotated[InputText, Tag("InputText")]
    | Annotated[OutputText, Tag("OutputText")]
    | Annotated[Refusal, Tag("Refusal")]
    | Annotated[InputImage, Tag("InputImage")]
    | Annotated[InputFile, Tag("InputFile")],
    by_type(
        input_text="InputText",
        output_text="OutputText",
        refusal="Refusal",
        input_image="InputImage",
        input_file="InputFile",
    ),
]


class MessageItem(BaseModel):
    """A message given as input: the easy form (`role` + string) or the full item with typed parts."""

    model_config = _STRICT
    type: Literal["message"] = "message"
    role: Literal["user", "system", "developer", "assistant"]
    content: str | list[ContentPart]
    id: str | None = None
    status: Literal["in_progress", "completed", "incomplete"] | None = None
    phase: Literal["commentary", "final_answer"] | None = None


ToolOutputPart = Annotated[
    Annotated[InputText, Tag("InputText")]
    | Annotated[InputImage, Tag("InputImage")]
    | Annotated[InputFile, Tag("InputFile")],
    by_type(input_text="InputText", input_image="InputImage", input_file="InputFile"),
]

_ItemStatus = Literal["in_progress", "completed", "incomplete"]


class _ToolItem(BaseModel):
    """What every tool call and tool output item has besides its own content: the call it belongs to."""

    model_config = _STRICT
    call_id: str = Field(min_length=1)
    id: str | None = None
    status: _ItemStatus | None = None


class FunctionCallItem(_ToolItem):
    """A function call the model made, replayed as input (as `response.output` hands it back)."""

    type: Literal["function_call"]
    name: str
    arguments: str


class CustomToolCallItem(_ToolItem):
    type: Literal["custom_tool_call"]
    name: str
    input: str


class FunctionCallOutputItem(_ToolItem):
    """What the client's code returned for a call; `call_id` names the call."""

    type: Literal["function_call_output"]
    output: str | list[ToolOutputPart]


class CustomToolCallOutputItem(_ToolItem):
    type: Literal["custom_tool_call_output"]
    output: str | list[ToolOutputPart]


class TextFormat(BaseModel):
    model_config = _STRICT
    type: Literal["text"]


class JsonSchemaFormat(BaseModel):
    model_config = _STRICT
    type: Literal["json_schema"]
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    schema_: dict[str, Any] = Field(alias="schema")
    strict: bool | None = None
    """Off unless set, as in OpenAI's API: the schema then guides decoding but is not checked against the subset."""
    description: str | None = None


class JsonObjectFormat(BaseModel):
    model_config = _STRICT
    type: Literal["json_object"]


class TextConfig(BaseModel):
    model_config = _STRICT
    format: (
        Annotated[
            Annotated[TextFormat, Tag("TextFormat")]
            | Annotated[JsonSchemaFormat, Tag("JsonSchemaFormat")]
            | Annotated[JsonObjectFormat, Tag("JsonObjectFormat")],
            by_type(text="TextFormat", json_schema="JsonSchemaFormat", json_object="JsonObjectFormat"),
        ]
        | None
    ) = None
    verbosity: Literal["low", "medium", "high"] | None = None


class ReasoningConfig(BaseModel):
    model_config = _STRICT
    effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None
    summary: Literal["auto", "concise", "detailed"] | None = None
    generate_summary: Literal["auto", "concise", "detailed"] | None = None


class ConversationReference(BaseModel):
    model_config = _STRICT
    id: str


class PromptReference(BaseModel):
    model_config = _STRICT
    id: str
    version: str | None = None
    variables: dict[str, Any] | None = None


class StreamOptions(BaseModel):
    model_config = _STRICT
    include_obfuscation: bool | None = None


Include = Literal[
    "message.output_text.logprobs",
    "file_search_call.results",
    "web_search_call.results",
    "web_search_call.action.sources",
    "message.input_image.image_url",
    "computer_call_output.output.image_url",
    "code_interpreter_call.outputs",
    "reasoning.encrypted_content",
]

SUPPORTED_INCLUDES = frozenset(
    {
        "message.output_text.logprobs",
        "file_search_call.results",
        "code_interpreter_call.outputs",
        "web_search_call.action.sources",
    }
)


def check_includes(include: Sequence[str], param: str = "include") -> None:
    """`include` values this server can honour; the others are refused, not skipped."""
    for value in include:
        if value not in SUPPORTED_INCLUDES:
            raise InvalidRequest(f"include value '{value}' is not supported by this server yet.", param=param)


class CreateResponseParams(BaseModel):
    model_config = _STRICT

    model: str | None = None
    """Optional only when the `prompt` names a model."""
    input: str | list[dict[str, Any]] | None = None
    instructions: str | None = None
    max_output_tokens: int | None = Field(None, ge=16)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    top_logprobs: int | None = Field(None, ge=0, le=20)
    include: list[Include] | None = None
    metadata: Metadata | None = None
    store: bool | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    previous_response_id: str | None = None
    truncation: Literal["auto", "disabled"] | None = None
    user: str | None = Field(None, max_length=512)
    safety_identifier: str | None = Field(None, max_length=64)
    prompt_cache_key: str | None = Field(None, max_length=512)
    service_tier: Literal["auto", "default", "flex", "scale", "priority", "fast", "ultrafast"] | None = None
    parallel_tool_calls: bool | None = None
    text: TextConfig | None = None
    reasoning: ReasoningConfig | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    max_tool_calls: int | None = Field(None, ge=1)
    background: bool | None = None
    conversation: str | ConversationReference | None = None
    prompt: PromptReference | None = None
    prompt_cache_retention: Literal["in_memory", "24h"] | None = None
    prompt_cache_options: dict[str, Any] | None = None
    context_management: list[dict[str, Any]] | None = None
    background_options: dict[str, Any] | None = None
    access_programs: dict[str, Any] | None = None
    image: dict[str, Any] | None = None
    moderation: dict[str, Any] | None = None


_LATER = "is not supported by this server yet"

# Fields whose every non-default value is refused until the issue that builds them lands.
_UNSUPPORTED_FIELDS = (
    "prompt_cache_options",
    "context_management",
    "background_options",
    "access_programs",
    "image",
    "moderation",
)


def check_serving_options(service_tier: str | None, prompt_cache_retention: str | None) -> None:
    """Options of how a request is served that this server offers only in one form (both APIs take them)."""
    if service_tier not in (None, "auto", "default"):
        raise InvalidRequest(
            f"Service tier '{service_tier}' is not offered; this server has one tier, 'default'.",
            param="service_tier",
        )
    if prompt_cache_retention == "24h":
        raise InvalidRequest(
            "Prompt cache retention '24h' is not offered; the engine's cache is in memory.",
            param="prompt_cache_retention",
        )


def reject_unsupported(params: CreateResponseParams) -> None:
    """Refuse, naming the param, every value this server would otherwise have to ignore."""
    for name in _UNSUPPORTED_FIELDS:
        value = getattr(params, name)
        if value not in (None, False):
            raise InvalidRequest(f"'{name}' {_LATER}.", param=name)
    if params.reasoning and params.reasoning.effort not in (None, "none"):
        raise InvalidRequest("Reasoning is not supported by this model.", param="reasoning.effort")
    if params.reasoning and (params.reasoning.summary or params.reasoning.generate_summary):
        raise InvalidRequest("Reasoning summaries are not supported by this model.", param="reasoning.summary")
    check_includes(params.include or ())
    check_serving_options(params.service_tier, params.prompt_cache_retention)
    if params.stream_options is not None and not params.stream:
        raise InvalidRequest("'stream_options' is only allowed when 'stream' is true.", param="stream_options")
