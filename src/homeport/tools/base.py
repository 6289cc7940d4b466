"""What the turn loop knows of a built-in tool, and nothing more: a server-owned tool it runs, or a client-run one
(`ClientTool`) whose call it shows as the tool's own item.

A tool is offered to the model as a function (`function`); when the model starts a call, the loop opens the tool's
output item (`start`) and passes on the status events it names while the model writes the arguments (`writing`) and
while it works (`run` yields their `type`s), and then takes its `ToolResult`: the finished item, the pieces of text
the model reads (most relevant first, so the loop can keep as many as fit the context), and optionally how an answer
built on them is annotated.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from openai.types.responses import ResponseOutputItem
from pydantic import BaseModel

from homeport.engines.base import ToolCall
from homeport.engines.constraints import FunctionTool


def strict_object(**properties: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema object as strict mode writes it: every property required, no others."""
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def tagged(kind: str, **properties: dict[str, Any]) -> dict[str, Any]:
    """A strict object whose `type` is `kind`: one branch of a union the model picks from."""
    return strict_object(type={"const": kind}, **properties)


Annotator = Callable[[str, int], list[dict[str, Any]]]
"""(final answer text, how many result pieces the model read) -> the answer's annotations, in text order."""


@dataclass(frozen=True)
class Progress:
    """A status event of the tool's item: its `type`, and any fields beyond the item's id and place."""

    type: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class ToolResult:
    item: ResponseOutputItem
    pieces: Sequence[str]
    annotate: Annotator | None = None
    note: str = ""
    """Said to the model after the pieces, however many of them fit (how to use them)."""
    waits: bool = False
    """The call waits for the user (an approval request): the response ends with the item, and nothing goes to the
    model."""
    retry: bool = False
    """The model may call the tool again after reading this (its code raised): only tools that may repeat say so."""
    read: int = field(default=0)
    """How many of `pieces` the model was given; the loop sets it."""


Opening = tuple[ResponseOutputItem, Sequence[str]]
"""An item a tool shows before the model runs, and the status events it goes through."""


@dataclass(frozen=True)
class ApprovedCall:
    """A call the user approved in this request: `tool` runs it with the `arguments` the model wrote."""

    tool: ServerTool
    name: str
    arguments: str


class ServerTool(ABC):
    """One server-owned tool of one request (its options, bound to the caller's project)."""

    id_prefix: str
    """The prefix of its items' ids, e.g. `fs`."""
    repeatable: bool = False
    """May the model call it again when a result asks for it (`ToolResult.retry`: code or an MCP call after an
    error; a search never is)."""

    @abstractmethod
    async def check(self) -> None:
        """Refuse the request (a 4xx naming the param) if the tool cannot run, e.g. an unknown vector store."""

    @property
    @abstractmethod
    def function(self) -> FunctionTool:
        """How the model is told about it and calls it."""

    @abstractmethod
    async def start(self, item_id: str) -> ResponseOutputItem:
        """Its output item, `in_progress`, as `response.output_item.added` shows it."""

    def writing(self, item: ResponseOutputItem, arguments: str) -> Iterator[str | Progress]:
        """Status events while the model writes the call: once as it opens (`arguments` empty), then at each piece,
        with the arguments so far. None unless a tool shows them (code, as it is written)."""
        return iter(())

    @abstractmethod
    def run(
        self, item: ResponseOutputItem, arguments: dict[str, Any], question: str
    ) -> AsyncIterator[str | Progress | ToolResult]:
        """Do the work: yield each status event as it happens (its `type`, or a `Progress` with more fields), then
        one `ToolResult`. `question` is the user's latest message, for a tool that must make do when a small
        model's arguments say nothing."""


class ClientTool(ABC):
    """A built-in tool the client runs (a computer, a shell, a patcher): the model calls it as a function, and the
    call ends the turn as the tool's own item; the client sends what happened as that tool's output item."""

    items: ClassVar[ClientItems]

    @property
    @abstractmethod
    def function(self) -> FunctionTool:
        """How the model is told about it and calls it."""

    @abstractmethod
    def call(self, item_id: str, call_id: str, arguments: dict[str, Any]) -> ResponseOutputItem:
        """Its call item, complete, from the arguments the model wrote (valid by the grammar)."""


@dataclass(frozen=True)
class ClientItems:
    """How a client-run tool's call and output items come back as input: validated (`call`, `output`: models whose
    dump is the stored wire shape), given ids, and read by the model as the function call it made and the tool turn
    that answered it."""

    call_type: str
    output_type: str
    call: type[BaseModel]
    output: type[BaseModel]
    call_prefix: str
    output_prefix: str
    read_call: Callable[[dict[str, Any]], ToolCall]
    read_output: Callable[[dict[str, Any]], str]
    check: Callable[[dict[str, Any], dict[str, Any], str], None] | None = None
    """(call, its output, the output's param) -> a 400 if the output may not answer the call as it stands."""
