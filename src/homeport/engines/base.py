"""The seam between Homeport and whatever runs the model.

Everything above `engines/` speaks only these types; an adapter (`llama_cpp.py` in-process, an upstream later)
turns them into its own calls. Deltas are plain dataclasses so an engine never leaks its library's objects.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from homeport.engines.constraints import Constraint, Tool

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class ToolCall:
    """A call the model made, as the chat replays it: exactly one of `arguments` and `input` is set."""

    name: str
    arguments: str | None = None
    """A function call's arguments, JSON text."""
    input: str | None = None
    """A custom tool call's raw input."""


@dataclass(frozen=True)
class ChatMessage:
    """One turn as the model's chat template sees it (developer messages arrive here as `system`).

    An assistant turn may end with `tool_calls`; a `tool` turn is one call's output, in the order of the calls.
    """

    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True)
class Sampling:
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int | None = None
    """None: until the model stops or the context window is full."""
    top_logprobs: int | None = None
    """None: no logprobs; 0..20: the sampled token's logprob plus that many alternatives."""
    stop: tuple[str, ...] = ()
    """Text that ends the answer when it appears; it is not part of the output, and the finish reason is `stop`."""
    seed: int | None = None
    """None: a fresh random seed per generation; set: sampling repeats on the same model, prompt and settings."""
    presence_penalty: float = 0.0
    """Subtracted from the logit of every token already generated (recent tokens; see the engine)."""
    frequency_penalty: float = 0.0
    """Subtracted from a generated token's logit once per time it was generated."""
    logit_bias: Mapping[int, float] = field(default_factory=dict)
    """Token id -> value added to its logit before sampling: -100 bans a token, +100 all but forces it."""
    constraint: Constraint | None = None
    """Enforced token by token; an answer that ends before the constraint is complete finishes as `length`."""


@dataclass(frozen=True)
class GenerateRequest:
    """What to continue: chat `messages`, rendered with the model's chat template, or a raw `prompt` fed to the
    model as it is (legacy completions). Not both. (A chat may be empty: a request that only approves an MCP call
    has nothing for the model to read until that call has run.)"""

    messages: Sequence[ChatMessage] = ()
    sampling: Sampling = field(default_factory=Sampling)
    prompt: str | None = None
    tools: Sequence[Tool] = ()
    """Tools the model is told about (with chat messages only). What it may call is `sampling.constraint`'s
    `ToolCalls`, which may be fewer."""

    def __post_init__(self) -> None:
        if self.prompt is not None and self.messages:
            raise ValueError("A GenerateRequest takes chat messages or a raw prompt, not both.")


@dataclass(frozen=True)
class TopLogprob:
    token: str
    bytes: list[int]
    logprob: float


@dataclass(frozen=True)
class TokenLogprob:
    token: str
    bytes: list[int]
    logprob: float
    top_logprobs: list[TopLogprob]


@dataclass(frozen=True)
class TextDelta:
    """Text the model produced since the last delta; never splits a UTF-8 character."""

    text: str
    logprobs: list[TokenLogprob] = field(default_factory=list)


@dataclass(frozen=True)
class ToolCallStarted:
    """The model started call `index` (0, 1, ... within one generation) of tool `name`."""

    index: int
    name: str
    custom: bool
    """True: a custom tool, whose deltas are raw input; False: a function, whose deltas are JSON arguments."""


@dataclass(frozen=True)
class ToolCallDelta:
    """More of call `index`'s arguments or input. A call ends where the next starts, or with `Finished`."""

    index: int
    text: str


@dataclass(frozen=True)
class Usage:
    input_tokens: int
    cached_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class Finished:
    """Always the last delta. `length`: max_tokens or the context window cut the answer short."""

    reason: Literal["stop", "length"]
    usage: Usage


EngineDelta = TextDelta | ToolCallStarted | ToolCallDelta | Finished


class Engine(Protocol):
    """A loaded model. `generate` is an async generator that ends with exactly one `Finished`.

    Closing the iterator early (a client that went away) must stop the generation and free the engine.
    """

    model_id: str
    context_size: int
    vocab_size: int
    """Token ids run from 0 to vocab_size - 1 (what `Sampling.logit_bias` may name)."""
    accepts_images: bool

    def count_tokens(self, messages: Sequence[ChatMessage], tools: Sequence[Tool] = ()) -> int:
        """Prompt tokens these messages (and the tools the model is told about) take once the chat template is
        applied."""
        ...

    def check_constraint(self, constraint: Constraint, *, param: str) -> None:
        """Compile (and cache) a constraint now, so a schema or grammar it cannot use is a 400 naming `param`
        before any output is sent."""
        ...

    def count_prompt_tokens(self, prompt: str) -> int:
        """Tokens of a raw prompt, as `GenerateRequest(prompt=...)` feeds it to the model."""
        ...

    def generate(self, request: GenerateRequest) -> AsyncGenerator[EngineDelta, None]: ...

    def close(self) -> None: ...
