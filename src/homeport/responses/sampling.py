"""The request fields Chat Completions and legacy completions share, and how they become the engine's `Sampling`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from homeport.engines.base import Sampling
from homeport.errors import InvalidRequest

# Strict: "yes" is not a boolean and "1" is not a number, as in OpenAI's API.
STRICT = ConfigDict(extra="forbid", strict=True)

MAX_STOPS = 4


class StreamOptions(BaseModel):
    model_config = STRICT
    include_usage: bool | None = None
    include_obfuscation: bool | None = None


class SamplingParams(BaseModel):
    """Fields of both `CompletionCreateParams` types that shape sampling or streaming."""

    model_config = STRICT

    model: str
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    n: int | None = Field(None, ge=1, le=128)
    stop: str | list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = Field(None, ge=-2, le=2)
    frequency_penalty: float | None = Field(None, ge=-2, le=2)
    logit_bias: dict[str, int] | None = None
    user: str | None = Field(None, max_length=512)
    stream: bool | None = None
    stream_options: StreamOptions | None = None

    def sampling(self, *, vocab_size: int, max_tokens: int | None, top_logprobs: int | None) -> Sampling:
        """The engine's settings for these fields; 400 for a stop list or bias the engine cannot take."""
        if self.stream_options is not None and not self.stream:
            raise InvalidRequest("'stream_options' is only allowed when 'stream' is true.", param="stream_options")
        return Sampling(
            temperature=1.0 if self.temperature is None else self.temperature,
            top_p=1.0 if self.top_p is None else self.top_p,
            max_tokens=max_tokens,
            top_logprobs=top_logprobs,
            stop=stop_strings(self.stop),
            seed=self.seed,
            presence_penalty=self.presence_penalty or 0.0,
            frequency_penalty=self.frequency_penalty or 0.0,
            logit_bias=token_biases(self.logit_bias, vocab_size),
        )

    @property
    def choices(self) -> int:
        return self.n or 1

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)

    @property
    def obfuscate(self) -> bool:
        """Streamed chunks carry padding unless the client turned it off, as OpenAI's do."""
        options = self.stream_options
        return bool(self.stream) and (options is None or options.include_obfuscation is not False)


def stop_strings(stop: str | list[str] | None) -> tuple[str, ...]:
    """Up to four non-empty stop strings, as OpenAI takes them."""
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    if len(stops) > MAX_STOPS:
        raise InvalidRequest(
            f"Invalid 'stop': at most {MAX_STOPS} stop sequences, got {len(stops)}.", param="stop", code="invalid_value"
        )
    for index, text in enumerate(stops):
        if not text:
            where = "stop" if isinstance(stop, str) else f"stop[{index}]"
            raise InvalidRequest("Stop sequences must not be empty.", param=where, code="invalid_value")
    return tuple(stops)


def token_biases(logit_bias: dict[str, int] | None, vocab_size: int) -> dict[int, float]:
    """`{"token id": bias}` with ids of this model's vocabulary and biases from -100 to 100."""
    biases: dict[int, float] = {}
    for key, value in (logit_bias or {}).items():
        where = f"logit_bias.{key}"
        if not (key.isascii() and key.isdigit()) or int(key) >= vocab_size:
            raise InvalidRequest(
                f"Invalid 'logit_bias': {key!r} is not a token id of this model (0 to {vocab_size - 1}).",
                param=where,
                code="invalid_value",
            )
        if not -100 <= value <= 100:
            raise InvalidRequest(
                f"Invalid 'logit_bias': the bias of token {key} is {value}; biases go from -100 to 100.",
                param=where,
                code="invalid_value",
            )
        biases[int(key)] = float(value)
    return biases
