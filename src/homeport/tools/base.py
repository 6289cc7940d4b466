"""What the turn loop knows of a server-owned tool, and nothing more.

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
from typing import Any

from openai.types.responses import ResponseOutputItem

from homeport.engines.constraints import FunctionTool

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
