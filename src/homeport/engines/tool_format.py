"""The tool-call format: the grammar that makes a model answer in it, and how earlier calls are written back into
a prompt (`tool_reader` reads an answer as it streams).

An answer is free text, tool calls, or text followed by calls:

    I will look it up.
    <tool_call>
    {"name": "get_weather", "arguments": {"location": "Paris", "unit": "celsius"}}
    </tool_call>
    <tool_call>
    {"name": "run_sql"}
    SELECT 1</tool_call>

- A function call is the opening tag on its own line, one line of JSON with `name` then `arguments` (an object
  matching the tool's schema, written with `", "` and `": "` separators, as chat templates' `tojson` writes them),
  then the closing tag on its own line. This is Qwen2.5's native format; where a model's vocabulary has the tags as
  special tokens, the grammar requires those tokens.
- A custom tool call is the opening tag, `{"name": ...}` on its own line, then the raw input (matching the tool's
  grammar, or any text not containing the closing tag) directly followed by the closing tag.
- Calls are separated by one newline; nothing follows the last one. Text never contains the opening tag.
- Function calls may also come bare, one JSON line each and no tags, when the answer starts with them, or fenced as
  a Markdown JSON block (`{FENCE_OPEN}`, the lines, `{FENCE_CLOSE}`): small models (Qwen2.5-Coder-0.5B) call tools
  those ways, so an answer starting with `{` or with a JSON fence and `{` is calls, never text.
- A function that takes code (`CodeFence`) may also be called with a Markdown block in its language, alone or after
  some text, ending the answer: Qwen2.5-Coder writes the code it means to run that way, whatever its prompt says.
  Text never contains such a block, so with such a tool an answer's code block always runs.
- Whitespace between text and the first call is not part of the text.
- A tool's output goes back to the model as the chat template's `tool` turn; templates without one get it as a user
  turn, `<tool_response>`, the output, `</tool_response>` (Qwen2.5's own rendering).

llguidance's Lark lexer is greedy and looks one byte ahead, so a terminal that could run on past a textual tag would
swallow it: every terminal below that precedes one excludes the tag, or ends with it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from homeport.engines.base import ToolCall

OPEN = "<tool_call>"
CLOSE = "</tool_call>"
_CLOSE_IN_REGEX = CLOSE.replace("/", "\\/")

TOOL_CALL_INSTRUCTIONS = (
    "To call a tool, answer with one block per call and nothing after the last one:\n"
    f'{OPEN}\n{{"name": <tool name>, "arguments": <arguments as a JSON object>}}\n{CLOSE}'
)
"""For the prompt of a model whose chat template has no tool-call syntax: the format, in words."""

RESPONSE_OPEN = "<tool_response>"
RESPONSE_CLOSE = "</tool_response>"

FENCE_OPEN = "```json\n"
FENCE_CLOSE = "\n```"


@dataclass(frozen=True)
class CodeFence:
    """A function whose one argument is code: a Markdown block in `language` calls it, the block as `argument`."""

    language: str
    argument: str

    def __post_init__(self) -> None:
        if not self.language.isalnum():
            raise ValueError("A code fence's language is letters and digits.")

    @property
    def opening(self) -> str:
        return f"```{self.language}\n"

    def arguments_head(self) -> str:
        """The function's arguments up to the code, as JSON: the code follows as a JSON string's contents."""
        return json.dumps({self.argument: ""})[:-2]


# `(?s:.*)` is any text, newlines included; `&` and `~` are llguidance's and/not extensions of Lark terminals.
# Neither a brace nor a fence opening on a brace starts text (they start bare calls).
_NOT_CALLS = "~/```json\\n\\{(?s:.*)/"
# A custom tool's free-text input followed by the textual closing tag, ending at the first such tag.
_INPUT_THEN_CLOSE = f"/(?s:.*){_CLOSE_IN_REGEX}/ & ~/(?s:.*){_CLOSE_IN_REGEX}(?s:.+)/"
# The same where the closing tag is a special token: text cannot contain one, so the input just ends there.
_INPUT = "/(?s:.*)/"
# The code of a fenced call, closing fence included, ending at the first closing fence and the newlines after it
# (a tokenizer may have "```\n\n" as one token: refusing it would make the model write anything else instead).
_CODE_THEN_CLOSE = "/(?s:.+)\\n```\\n{0,2}/ & ~/(?s:.*)\\n```(?s:.*)[^\\n](?s:.*)/"


def _text_terminals(openings: Sequence[str]) -> dict[str, str]:
    """TEXT: text that starts with anything but a brace and never contains the opening tag or a code fence that
    calls a tool. TEXT_THEN_OPEN: text ending at its first opening tag (tag included), where a textual tag starts
    the first call after some text. TEXT_THEN_CODE: text ending at its first such code fence (fence included)."""
    openings = [opening.replace("\n", "\\n") for opening in openings]
    no_code = "".join(f" & ~/(?s:.*){fence}(?s:.*)/" for fence in openings)
    terminals = {
        "TEXT": f"/(?s:[^{{].*)/ & ~/(?s:.*){OPEN}(?s:.*)/ & {_NOT_CALLS}{no_code}",
        "TEXT_THEN_OPEN": f"/(?s:[^{{].*){OPEN}|{OPEN}/ & ~/(?s:.*){OPEN}(?s:.+)/ & {_NOT_CALLS}{no_code}",
    }
    if openings:
        fence = f"(?:{'|'.join(openings)})"
        terminals["TEXT_THEN_CODE"] = (
            f"/(?s:[^{{].*){fence}|{fence}/ & ~/(?s:.*){fence}(?s:.+)/ & ~/(?s:.*){OPEN}(?s:.*)/ & {_NOT_CALLS}"
        )
    return terminals


@dataclass(frozen=True)
class Tags:
    """Whether the model's vocabulary has each tag as one special token (its chat template's own format)."""

    open_is_token: bool
    close_is_token: bool


def write_tool_calls(text: str, calls: Sequence[ToolCall]) -> str:
    """An assistant turn as the model would have written it: its text, then its calls in this format.

    Arguments are rewritten with the template's separators when they are JSON (a client may replay them compact).
    """
    parts = [text] if text else []
    for call in calls:
        if call.arguments is None:
            parts.append(f"{OPEN}\n{json.dumps({'name': call.name})}\n{call.input or ''}{CLOSE}")
        else:
            parts.append(f"{OPEN}\n{function_call_head(call.name)}{_template_json(call.arguments)}}}\n{CLOSE}")
    return "\n".join(parts)


def _template_json(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), ensure_ascii=False)
    except ValueError:
        return arguments


def function_call_head(name: str) -> str:
    """What a function call's JSON line starts with, up to its arguments."""
    return f'{{"name": {json.dumps(name)}, "arguments": '


def tool_call_lark(
    functions: Mapping[str, Mapping[str, Any]],
    custom: Mapping[str, str | None],
    *,
    required: bool,
    max_calls: int | None,
    tags: Tags,
    json_options: Mapping[str, Any],
    text_schema: Mapping[str, Any] | None = None,
    fences: Sequence[CodeFence] = (),
) -> tuple[str, dict[str, str]]:
    """The top-level Lark grammar, and the named side grammars it refers to (`@name`), for text or tool calls.

    `functions`: tool name -> JSON schema of its arguments. `custom`: tool name -> Lark grammar that its raw input
    matches, or None for free text. `max_calls`: None for any number. `json_options` go into each schema's
    `x-guidance` (whitespace, separators). `text_schema`: the JSON schema (with its own `x-guidance`) that an
    answer without calls must match; calls are then tagged only, and never follow text. `fences`: the code blocks
    that call functions (not with `text_schema`).
    """
    if not functions and not custom:
        raise ValueError("A tool-call grammar needs at least one tool.")
    if max_calls is not None and max_calls < 1:
        raise ValueError("max_calls must be at least 1.")
    closer = CLOSE if tags.close_is_token else _lark_string(CLOSE)
    # After the first call: `("\n" call)*`, `("\n" call){0,N-1}`, or nothing for a single call.
    more = "" if max_calls == 1 else "*" if max_calls is None else f"{{0,{max_calls - 1}}}"
    tools = " | ".join(f"tool_{i}" for i in range(len(functions) + len(custom)))
    fences = fences if text_schema is None else ()
    terminals = _text_terminals([fence.opening for fence in fences])
    rules = [
        f"calls: {_repeated('call', 'call', more)}",
        f"call: {OPEN if tags.open_is_token else _lark_string(OPEN)} call_body",
        f'call_body: "\\n" ({tools})',
        f"TEXT: {terminals['TEXT']}",
    ]
    if required:
        starts = ["calls"]
    elif text_schema is not None:
        starts = ["json_text", "calls"]
        rules.append(f"json_text: %json {json.dumps(text_schema)}")
    elif tags.open_is_token:
        starts = ["TEXT? calls?"]  # text is valid UTF-8 and a tag token is not: text just ends where the tag comes
    else:
        starts = ["TEXT?", "calls", "text_then_calls"]
        rules += [f"text_then_calls: {_repeated('TEXT_THEN_OPEN call_body', 'call', more)}"]
        rules += [f"TEXT_THEN_OPEN: {terminals['TEXT_THEN_OPEN']}"]
    if fences:
        # Required: the block alone; else after any text, which is then the answer's text.
        opening = " | ".join(_lark_string(fence.opening) for fence in fences)
        starts.append(f"({opening}) CODE" if required else "TEXT_THEN_CODE CODE")
        rules += [f"CODE: {_CODE_THEN_CLOSE}"]
        rules += [] if required else [f"TEXT_THEN_CODE: {terminals['TEXT_THEN_CODE']}"]
    if functions and text_schema is None:
        starts += ["bare_calls", "fenced_calls"]
        rules += [f"fenced_calls: {_lark_string(FENCE_OPEN)} bare_calls {_lark_string(FENCE_CLOSE)}"]
        rules += [f"bare_calls: {_repeated('bare_call', 'bare_call', more)}"]
        rules += [f"bare_call: {' | '.join(f'function_{i}' for i in range(len(functions)))}"]
    rules += _function_rules(functions, closer, json_options)
    custom_rules, side = _custom_rules(custom, len(functions), tags, closer)
    return "\n".join([f"start: {' | '.join(starts)}", *rules, *custom_rules]) + "\n", side


def _repeated(first: str, then: str, more: str) -> str:
    """`first`, then `then` repeated as `more` says (a Lark repetition; empty: never), each after a newline."""
    return f'{first} ("\\n" {then}){more}' if more else first


def _function_rules(functions: Mapping[str, Mapping[str, Any]], closer: str, options: Mapping[str, Any]) -> list[str]:
    rules = []
    for i, (name, schema) in enumerate(functions.items()):
        merged = {**schema, "x-guidance": {**dict(schema.get("x-guidance", {})), **options}}
        rules.append(f'tool_{i}: function_{i} "\\n" {closer}')
        rules.append(f'function_{i}: {_lark_string(function_call_head(name))} args_{i} "}}"')
        rules.append(f"args_{i}: %json {json.dumps(merged)}")
    return rules


def _custom_rules(
    custom: Mapping[str, str | None], first: int, tags: Tags, closer: str
) -> tuple[list[str], dict[str, str]]:
    rules: list[str] = []
    side: dict[str, str] = {}
    for i, (name, grammar) in enumerate(custom.items(), start=first):
        head = _lark_string(json.dumps({"name": name}) + "\n")
        if grammar is not None:
            side[f"input_{i}"] = grammar
            rules.append(f"tool_{i}: {head} @input_{i} {closer}")
        elif tags.close_is_token:
            rules += [f"tool_{i}: {head} INPUT_{i} {closer}", f"INPUT_{i}: {_INPUT}"]
        else:
            rules += [f"tool_{i}: {head} INPUT_{i}", f"INPUT_{i}: {_INPUT_THEN_CLOSE}"]
    return rules, side


def _lark_string(text: str) -> str:
    """`text` as a Lark string literal (JSON's escapes are a subset of what Lark reads)."""
    return json.dumps(text)
