"""Constrained decoding: what the model may write, enforced token by token with llguidance (ARCHITECTURE decision 5).

A `Grammars` is built once per loaded model (its tokenizer takes 0.3-1 s to build) and compiles a `Constraint` into
a `CompiledGrammar`, cached by a hash of its source, so a second request with the same schema does not compile again.
Each generation gets its own `GrammarLogitsProcessor`, a llama-cpp-python logits processor that sets the logit of
every token the grammar does not allow next to -inf, so whatever the sampler picks is allowed.

Constraints:

    JsonSchema      a JSON Schema; output is compact JSON (no whitespace), keys in schema order
    JsonObject      any JSON object (json_object mode)
    LarkGrammar     llguidance's Lark dialect (custom tools with `syntax: lark`)
    Regex           a regular expression, Rust `regex` syntax, matching the whole output (`syntax: regex`)
    ToolCalls       free text, or tool calls in the format `tool_format` documents (Qwen2.5's native one)

Models whose chat template has no tool-call syntax are told the same format in their prompt
(`tool_format.TOOL_CALL_INSTRUCTIONS`) and held to it by the same grammar, with the tags as plain text.
"""

from __future__ import annotations

import hashlib
import json
import threading
import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import llama_cpp
import llguidance
import llguidance.llamacpp
import llguidance.numpy
import numpy as np
import numpy.typing as npt

from homeport.engines.date_formats import with_date_patterns
from homeport.engines.tool_format import CLOSE, OPEN, CodeFence, Tags, tool_call_lark
from homeport.errors import InvalidRequest

if TYPE_CHECKING:
    from llguidance._lib import JsonCompileOptions  # declared only in the stub

# Compact output for JSON Schema and json_object: what a strict schema promises, in the fewest tokens.
_COMPACT: JsonCompileOptions = {"whitespace_flexible": False}
# Tool-call arguments as the chat template writes them (`tojson`), so calls look like those the model was tuned on.
_TEMPLATE_JSON: JsonCompileOptions = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}


@dataclass(frozen=True)
class JsonSchema:
    schema: Mapping[str, Any]
    strict: bool = True
    """False: keywords llguidance does not implement are ignored rather than refused (a non-strict schema guides)."""


@dataclass(frozen=True)
class JsonObject:
    """Any JSON object."""


@dataclass(frozen=True)
class LarkGrammar:
    text: str


@dataclass(frozen=True)
class Regex:
    pattern: str


@dataclass(frozen=True)
class FunctionTool:
    name: str
    parameters: Mapping[str, Any] | None = field(default=None, hash=False)
    """JSON Schema of the arguments; None: any JSON object. Compared but not hashed (a dict is not hashable)."""
    strict: bool = True
    description: str | None = None
    """For the prompt only; the grammar does not depend on it."""
    fence: CodeFence | None = None
    """A function that takes code: a Markdown block in that language calls it too (see `tool_format`)."""


@dataclass(frozen=True)
class CustomTool:
    name: str
    grammar: LarkGrammar | Regex | None = None
    """What the raw input must match; None: any text."""
    description: str | None = None
    """For the prompt only; the grammar does not depend on it."""


Tool = FunctionTool | CustomTool
"""A tool the model may be told about and call."""


@dataclass(frozen=True)
class ToolCalls:
    """Free text or tool calls. Only `tools` may be called: pass the allowed subset (tool_choice allowed_tools, or
    the one named tool) here even when the prompt lists more."""

    tools: Sequence[Tool]
    required: bool = False
    """True: at least one call and no text (tool_choice `required` or a named tool)."""
    max_calls: int | None = None
    """None: any number; 1 for parallel_tool_calls false."""
    text: JsonSchema | JsonObject | None = None
    """What text must be when the model answers instead of calling (a structured output); None: any text.
    Calls then always come tagged, never bare: a bare call would read as JSON text."""

    @property
    def fences(self) -> dict[str, CodeFence]:
        """Tool name -> the code block that calls it, for the functions that take code (none with `text`)."""
        if self.text is not None:
            return {}
        return {tool.name: tool.fence for tool in self.tools if isinstance(tool, FunctionTool) and tool.fence}


Constraint = JsonSchema | JsonObject | LarkGrammar | Regex | ToolCalls


@dataclass(frozen=True)
class CompiledGrammar:
    """A constraint compiled for one model's tokenizer; shared by every generation that uses the same source."""

    key: str
    """sha256 of the grammar."""
    grammar: str
    """The llguidance grammar (JSON) it was compiled from."""
    matcher: llguidance.LLMatcher = field(repr=False, compare=False)
    """Never advanced: each generation runs on its own `deep_copy` (about 10 µs)."""


class Grammars:
    """Compiles constraints for one model and keeps the most recent `cache_size` of them.

    Safe to call from several threads. Compiling a large grammar can take tens of milliseconds (llguidance lets go
    of the GIL meanwhile), so an async caller may want `asyncio.to_thread(grammars.compile, ...)`.
    """

    def __init__(self, llm: llama_cpp.Llama, *, cache_size: int = 256) -> None:
        vocab = llama_cpp.llama_model_get_vocab(llm.model)
        size = llama_cpp.llama_vocab_n_tokens(vocab)
        # Every end-of-generation token ends a complete output, not only the one the GGUF names `eos`.
        self.eos_tokens = [t for t in range(size) if llama_cpp.llama_vocab_is_eog(vocab, t)]
        with warnings.catch_warnings():
            # llguidance 1.9 reads token attributes through a function llama-cpp-python 0.3.36 deprecates: one
            # warning per token (150k on Qwen) otherwise. Filters are process-wide; this runs once, at model load.
            warnings.simplefilter("ignore", DeprecationWarning)
            self.tokenizer = llguidance.llamacpp.lltokenizer_from_vocab(vocab, eos_token=self.eos_tokens or None)
        self.tags = Tags(self._is_special(llm, OPEN), self._is_special(llm, CLOSE))
        self._cache: OrderedDict[str, CompiledGrammar] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def _is_special(self, llm: llama_cpp.Llama, text: str) -> bool:
        tokens = llm.tokenize(text.encode(), add_bos=False, special=True)
        return len(tokens) == 1 and self.tokenizer.is_special_token(tokens[0])

    def compile(self, constraint: Constraint, *, param: str | None = None) -> CompiledGrammar:
        """The compiled grammar, from the cache when the same source was compiled before.

        Raises `InvalidRequest` naming `param` when llguidance refuses the schema, grammar or regex.
        """
        # The llguidance grammar is the source made canonical (JSON re-serialized, key order kept: it is the output's
        # key order) and costs microseconds to build; compiling it is what the cache saves.
        grammar = self._grammar(constraint, param)
        key = hashlib.sha256(grammar.encode()).hexdigest()
        with self._lock:
            if (hit := self._cache.get(key)) is not None:
                self._cache.move_to_end(key)
                return hit
        matcher = llguidance.LLMatcher(self.tokenizer, grammar, log_level=0)
        if matcher.is_error():
            raise InvalidRequest(f"Invalid {_WHAT[type(constraint)]}: {matcher.get_error()}", param=param)
        compiled = CompiledGrammar(key, grammar, matcher)
        with self._lock:
            self._cache[key] = compiled
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return compiled

    def processor(
        self, constraint: Constraint | CompiledGrammar, *, param: str | None = None
    ) -> GrammarLogitsProcessor:
        """A fresh logits processor for one generation."""
        compiled = constraint if isinstance(constraint, CompiledGrammar) else self.compile(constraint, param=param)
        return GrammarLogitsProcessor(compiled.matcher.deep_copy(), self.tokenizer.vocab_size, self.eos_tokens)

    def _grammar(self, constraint: Constraint, param: str | None) -> str:
        match constraint:
            case JsonSchema(schema, strict):
                return _json_grammar(schema, _COMPACT if strict else {**_COMPACT, "lenient": True}, param)
            case JsonObject():
                return _json_grammar({"type": "object"}, _COMPACT, param)
            case LarkGrammar(text):
                return llguidance.LLMatcher.grammar_from_lark(text)
            case Regex(pattern):
                return llguidance.LLMatcher.grammar_from_regex(pattern)
            case ToolCalls():
                return self._tool_grammar(constraint, param)

    def _tool_grammar(self, calls: ToolCalls, param: str | None) -> str:
        functions: dict[str, Mapping[str, Any]] = {}
        custom: dict[str, str | None] = {}
        for tool in calls.tools:
            if isinstance(tool, FunctionTool):
                schema = with_date_patterns(tool.parameters) if tool.parameters is not None else {"type": "object"}
                functions[tool.name] = schema if tool.strict else {**schema, "x-guidance": {"lenient": True}}
            else:
                custom[tool.name] = _as_lark(tool.grammar)
        try:
            lark, side = tool_call_lark(
                functions, custom, required=calls.required, max_calls=calls.max_calls, tags=self.tags,
                json_options=_TEMPLATE_JSON, text_schema=_text_schema(calls.text), fences=list(calls.fences.values()),
            )  # fmt: skip
        except ValueError as exc:
            raise InvalidRequest(str(exc), param=param) from exc
        grammars = [{"name": "tool_calls", "lark_grammar": lark}]
        grammars += [{"name": name, "lark_grammar": text} for name, text in side.items()]
        return json.dumps({"grammars": grammars})


class GrammarLogitsProcessor:
    """One generation's constraint, as a llama-cpp-python logits processor: `(input_ids, scores) -> scores`.

    Each call after the first feeds the matcher the tokens sampled since (the tail of `input_ids`), then masks
    `scores` in place. A caller that wants to know right after a token whether the output is complete calls
    `advance(token)` itself; the next call then does not feed that token again. Once the grammar is complete only
    end-of-generation tokens are allowed, so an unchecked loop still ends; `finished` lets the caller end it a token
    sooner, without sampling that end token.
    """

    def __init__(self, matcher: llguidance.LLMatcher, vocab_size: int, eos_tokens: Sequence[int]) -> None:
        self._matcher = matcher
        self._mask = llguidance.numpy.allocate_token_bitmask(1, vocab_size)
        self._eos = np.asarray(eos_tokens, dtype=np.intp)
        self._prompt_length: int | None = None
        self._advanced = 0

    def __call__(self, input_ids: npt.NDArray[np.intc], scores: npt.NDArray[np.single]) -> npt.NDArray[np.single]:
        if self._prompt_length is None:
            self._prompt_length = len(input_ids)
        for token in input_ids[self._prompt_length + self._advanced :]:
            self.advance(int(token))
        if self._matcher.is_error():
            # Never reached while only allowed tokens are sampled; if it is, let the model end instead of rambling.
            eos = scores[self._eos].copy()
            scores[:] = -np.inf
            scores[self._eos] = eos
            return scores
        llguidance.numpy.fill_next_token_bitmask(self._matcher, self._mask)
        # One bit per token, lowest bit first; ~20x faster than llguidance.numpy.apply_token_bitmask_inplace on a
        # 150k vocabulary (0.08 ms against 1.4 ms). Tokens past the mask (none in practice) count as not allowed.
        allowed = np.unpackbits(self._mask.view(np.uint8), count=len(scores), bitorder="little").view(np.bool_)
        np.copyto(scores, np.float32(-np.inf), where=~allowed)
        return scores

    def advance(self, token: int) -> None:
        """Feed the matcher a token the model produced."""
        self._advanced += 1
        self._matcher.consume_token(token)

    @property
    def accepting(self) -> bool:
        """The output so far is complete: it may end here (it may also go on, e.g. free text)."""
        return self._matcher.is_accepting()

    @property
    def finished(self) -> bool:
        """Nothing but an end-of-generation token can follow (or the matcher failed: see `error`)."""
        return self._matcher.is_stopped()

    @property
    def error(self) -> str | None:
        """Why the matcher failed (a token outside the grammar was fed to it), or None."""
        return self._matcher.get_error() or None


_WHAT = {
    JsonSchema: "JSON schema",
    JsonObject: "JSON schema",
    LarkGrammar: "Lark grammar",
    Regex: "regular expression",
    ToolCalls: "tool grammar",
}


def _json_grammar(schema: Mapping[str, Any], options: JsonCompileOptions, param: str | None) -> str:
    try:
        # As overrides: an `x-guidance` object inside the schema does not get to change them.
        return llguidance.LLMatcher.grammar_from_json_schema(json.dumps(with_date_patterns(schema)), overrides=options)
    except (ValueError, TypeError) as exc:
        raise InvalidRequest(f"Invalid JSON schema: {exc}", param=param) from exc


def _text_schema(text: JsonSchema | JsonObject | None) -> Mapping[str, Any] | None:
    """A structured-output constraint as a schema carrying its compile options, to inline in a tool grammar."""
    if text is None:
        return None
    schema = with_date_patterns(text.schema) if isinstance(text, JsonSchema) else {"type": "object"}
    lenient = isinstance(text, JsonSchema) and not text.strict
    return {**schema, "x-guidance": {**_COMPACT, **({"lenient": True} if lenient else {})}}


def _as_lark(grammar: LarkGrammar | Regex | None) -> str | None:
    if grammar is None or isinstance(grammar, LarkGrammar):
        return None if grammar is None else grammar.text
    return f"start: /{llguidance.regex_to_lark(grammar.pattern, '')}/"
