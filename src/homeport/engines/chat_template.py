"""What a chat template is given: messages and tools in the shape Hugging Face templates read.

A template with its own tool syntax (Qwen2.5's `<tool_call>`, the format `tool_format` implements) gets the tools
and `tool` turns as it expects them. Any other template is told about the tools and the format in the system message,
and reads tool outputs as user turns; the grammar holds every model to the same format either way. Assistant turns
that called tools are written out as the model wrote them, so both kinds of template replay them alike.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from homeport.engines.base import ChatMessage
from homeport.engines.constraints import FunctionTool, LarkGrammar, Tool
from homeport.engines.tool_format import (
    CLOSE,
    OPEN,
    RESPONSE_CLOSE,
    RESPONSE_OPEN,
    TOOL_CALL_INSTRUCTIONS,
    write_tool_calls,
)


def has_tool_syntax(template: str) -> bool:
    """Whether a chat template renders `tools` and writes calls in this server's tool-call format."""
    return "tools" in template and OPEN in template


def template_inputs(
    messages: Sequence[ChatMessage], tools: Sequence[Tool], *, native: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """The template's `messages` and `tools` (None: the template is not given tools)."""
    chat = [_message(message, native) for message in messages]
    if not tools:
        return chat, None
    listed = [_listed(tool) for tool in tools]
    if native:
        return chat, listed
    section = "\n".join(
        ["# Tools", "", "You may call these tools:", *map(json.dumps, listed), "", TOOL_CALL_INSTRUCTIONS]
    )
    if chat and chat[0]["role"] == "system":
        chat[0] = {"role": "system", "content": f"{chat[0]['content']}\n\n{section}"}
    else:
        chat.insert(0, {"role": "system", "content": section})
    return chat, None


def _message(message: ChatMessage, native: bool) -> dict[str, Any]:
    if message.role == "tool" and not native:
        return {"role": "user", "content": f"{RESPONSE_OPEN}\n{message.content}\n{RESPONSE_CLOSE}"}
    if message.tool_calls:
        return {"role": "assistant", "content": write_tool_calls(message.content, message.tool_calls)}
    return {"role": message.role, "content": message.content}


def _listed(tool: Tool) -> dict[str, Any]:
    """A tool as templates list them: OpenAI's Chat Completions function shape."""
    if isinstance(tool, FunctionTool):
        function: dict[str, Any] = {"name": tool.name}
        if tool.description:
            function["description"] = tool.description
        function["parameters"] = tool.parameters or {"type": "object", "properties": {}}
        return {"type": "function", "function": function}
    how = (
        f"This tool takes raw text, not JSON: write {OPEN}, then {json.dumps({'name': tool.name})} on its own line, "
        f"then the input, then {CLOSE}."
    )
    if tool.grammar is not None:
        syntax = "Lark grammar" if isinstance(tool.grammar, LarkGrammar) else "regular expression"
        definition = tool.grammar.text if isinstance(tool.grammar, LarkGrammar) else tool.grammar.pattern
        how += f" The input must match this {syntax}:\n{definition}"
    description = f"{tool.description}\n{how}" if tool.description else how
    return {"type": "function", "function": {"name": tool.name, "description": description}}
