"""The tool-call format: the grammar that makes a model answer in it, and the parser that reads an answer back.

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
- Function calls may also come bare, one JSON line each and no tags, when the answer starts with them: small models
  (Qwen2.5-Coder-0.5B) call tools that way, so an answer starting with `{` is calls, never text.

llguidance's Lark lexer is greedy and looks one byte ahead, so a terminal that could run on past a textual tag would
swallow it: every terminal below that precedes one excludes the tag, or ends with it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

OPEN = "<tool_call>"
CLOSE = "</tool_call>"
_CLOSE_IN_REGEX = CLOSE.replace("/", "\\/")

TOOL_CALL_INSTRUCTIONS = (
    "To call a tool, answer with one block per call and nothing after the last one:\n"
    f'{OPEN}\n{{"name": <tool name>, "arguments": <arguments as a JSON object>}}\n{CLOSE}'
)
"""For the prompt of a model whose chat template has no tool-call syntax: the format, in words."""

# `(?s:.*)` is any text, newlines included; `&` and `~` are llguidance's and/not extensions of Lark terminals.
# Text starts with anything but a brace (that starts bare calls) and never contains the opening tag.
_TEXT = f"/(?s:[^{{].*)/ & ~/(?s:.*){OPEN}(?s:.*)/"
# Text ending at its first opening tag (tag included): where a textual tag starts the first call after some text.
_TEXT_THEN_OPEN = f"/(?s:[^{{].*){OPEN}|{OPEN}/ & ~/(?s:.*){OPEN}(?s:.+)/"
# A custom tool's free-text input followed by the textual closing tag, ending at the first such tag.
_INPUT_THEN_CLOSE = f"/(?s:.*){_CLOSE_IN_REGEX}/ & ~/(?s:.*){_CLOSE_IN_REGEX}(?s:.+)/"
# The same where the closing tag is a special token: text cannot contain one, so the input just ends there.
_INPUT = "/(?s:.*)/"


@dataclass(frozen=True)
class Tags:
    """Whether the model's vocabulary has each tag as one special token (its chat template's own format)."""

    open_is_token: bool
    close_is_token: bool


@dataclass(frozen=True)
class ParsedCall:
    name: str
    arguments: str | None
    """A function call's arguments, the JSON text as the model wrote it; None for a custom tool call."""
    input: str | None
    """A custom tool call's raw input; None for a function call."""


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
) -> tuple[str, dict[str, str]]:
    """The top-level Lark grammar, and the named side grammars it refers to (`@name`), for text or tool calls.

    `functions`: tool name -> JSON schema of its arguments. `custom`: tool name -> Lark grammar that its raw input
    matches, or None for free text. `max_calls`: None for any number. `json_options` go into each schema's
    `x-guidance` (whitespace, separators).
    """
    if not functions and not custom:
        raise ValueError("A tool-call grammar needs at least one tool.")
    if max_calls is not None and max_calls < 1:
        raise ValueError("max_calls must be at least 1.")
    closer = CLOSE if tags.close_is_token else _lark_string(CLOSE)
    # After the first call: `("\n" call)*`, `("\n" call){0,N-1}`, or nothing for a single call.
    more = "" if max_calls == 1 else "*" if max_calls is None else f"{{0,{max_calls - 1}}}"
    tools = " | ".join(f"tool_{i}" for i in range(len(functions) + len(custom)))
    rules = [
        f"calls: {_repeated('call', 'call', more)}",
        f"call: {OPEN if tags.open_is_token else _lark_string(OPEN)} call_body",
        f'call_body: "\\n" ({tools})',
        f"TEXT: {_TEXT}",
    ]
    if required:
        starts = ["calls"]
    elif tags.open_is_token:
        starts = ["TEXT? calls?"]  # text is valid UTF-8 and a tag token is not: text just ends where the tag comes
    else:
        starts = ["TEXT?", "calls", "text_then_calls"]
        rules += [f"text_then_calls: {_repeated('TEXT_THEN_OPEN call_body', 'call', more)}"]
        rules += [f"TEXT_THEN_OPEN: {_TEXT_THEN_OPEN}"]
    if functions:
        starts.append("bare_calls")
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


def parse_tool_calls(answer: str) -> tuple[str, list[ParsedCall]]:
    """The text before the calls, and the calls, of an answer that matched a tool-call grammar.

    Special tag tokens must be in `answer` as their text (llama.cpp's detokenizer prints Qwen's, which are
    user-defined tokens, even without `special`).
    """
    if answer.startswith("{"):
        return "", [_function_call(line) for line in answer.split("\n")]
    text, _, rest = answer.partition(OPEN)  # text never contains the tag: the first one starts the calls
    calls: list[ParsedCall] = []
    while rest:
        # A JSON line holds no raw newline, and may hold a tag inside a string: split on lines, not on tags.
        header, _, rest = rest.removeprefix("\n").partition("\n")
        if "arguments" in json.loads(header):
            calls.append(_function_call(header))
            rest = rest.removeprefix(CLOSE)
        else:
            raw, _, rest = rest.partition(CLOSE)
            calls.append(ParsedCall(json.loads(header)["name"], None, raw))
        rest = rest.removeprefix(f"\n{OPEN}")
    return text, calls


def _function_call(line: str) -> ParsedCall:
    """The arguments as the model wrote them: the grammar fixed everything around them, to the byte."""
    name = json.loads(line)["name"]
    return ParsedCall(name, line[len(function_call_head(name)) : -1], None)


def _lark_string(text: str) -> str:
    """`text` as a Lark string literal (JSON's escapes are a subset of what Lark reads)."""
    return json.dumps(text)
