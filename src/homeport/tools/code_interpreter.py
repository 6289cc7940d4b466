"""The code_interpreter tool: the model writes Python, the container runs it, the model reads what it printed.

The model calls a `python` function whose one argument is the code, or writes the code as a Python block, which
calls it too (`tool_format.CodeFence`); its code streams as the model writes it. With `container: {"type": "auto"}`
a container is made on first use and reused along the response's chain while it lives; a `cntr_…` id names one.
Files the code writes become container files, and the answer cites them (`container_file_citation`) where it names
them, or at its end.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Literal

from openai.types.responses import ResponseCodeInterpreterToolCall, ResponseOutputItem
from openai.types.responses.response_code_interpreter_tool_call import Output
from pydantic import BaseModel, ConfigDict, TypeAdapter

from homeport.engines.base import ToolCall
from homeport.engines.constraints import FunctionTool
from homeport.engines.tool_format import CodeFence
from homeport.errors import InvalidRequest
from homeport.sandbox.containers import DEFAULT_MINUTES, MOUNT, ContainerService
from homeport.sandbox.runtime import SandboxUnavailable, probe
from homeport.store.containers import StoredContainer, StoredContainerFile
from homeport.tools.base import Progress, ServerTool, ToolResult

_STRICT = ConfigDict(extra="forbid", strict=True)
_OUTPUT: TypeAdapter[Output] = TypeAdapter(Output)
EXECUTION_TIMEOUT_SECONDS = 60.0
_MAX_LOG_CHARS = 4000
_MAX_LISTED = 20
_CODE_HEAD = '{"code": "'
"""How the arguments start: the schema has the one property, written with the chat template's separators."""
_LONGEST_ESCAPE = len("\\u0000") - 1
# What the model is told after the output. Without it Qwen2.5-Coder-0.5B runs the same code again, or answers with
# a stray word, far more often than it answers from what the code printed.
_AFTER_RUN = "Now answer the user from this output, in words."
_AFTER_ERROR = "The code failed. Fix it and run it again, or answer the user from what you know."

DESCRIPTION = (
    "Runs Python code and returns what it prints. Variables persist between calls (like a Jupyter notebook); "
    "files are in /mnt/data: save the files you make there. numpy, pandas, matplotlib and sympy are installed: "
    "solve equations with sympy (sympy.solve), and print every result you need."
)
"""Small models write the arithmetic of an equation themselves, often wrong, unless told to let sympy do it."""
PARAMETERS = {
    "type": "object",
    "properties": {"code": {"type": "string", "minLength": 1}},
    "required": ["code"],
    "additionalProperties": False,
}


class AutoContainer(BaseModel):
    model_config = _STRICT
    type: Literal["auto"]
    file_ids: list[str] | None = None
    memory_limit: Literal["1g", "4g", "16g", "64g"] | None = None


class CodeInterpreterParam(BaseModel):
    model_config = _STRICT
    type: Literal["code_interpreter"]
    container: str | AutoContainer

    def echo(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class CodeInterpreterCallItem(BaseModel):
    """A `code_interpreter_call` replayed as input (as `response.output` hands it back)."""

    model_config = _STRICT
    type: Literal["code_interpreter_call"]
    id: str
    code: str | None = None
    container_id: str
    outputs: list[dict[str, Any]] | None = None
    status: Literal["in_progress", "completed", "incomplete", "interpreting", "failed"]


def replay_code(item: dict[str, Any]) -> tuple[ToolCall, str]:
    """The code as the model wrote it, and what it printed if the outputs were kept."""
    call = ToolCall("python", arguments=json.dumps({"code": item.get("code") or ""}))
    outputs = item.get("outputs")
    if outputs is None:
        return call, "(The output of this code was not kept.)"
    logs = "\n".join(output.get("logs", "") for output in outputs if output.get("type") == "logs")
    images = sum(1 for output in outputs if output.get("type") == "image")
    return call, _model_text(logs, [b""] * images, [])


class CodeInterpreter(ServerTool):
    id_prefix = "ci"
    repeatable = True

    def __init__(
        self,
        param: CodeInterpreterParam,
        *,
        project: str,
        containers: ContainerService,
        earlier: Sequence[dict[str, Any]],
        include_outputs: bool,
        where: str,
    ) -> None:
        self._param = param
        self._project = project
        self._containers = containers
        self._earlier = earlier
        self._include_outputs = include_outputs
        self._where = where
        self._container: StoredContainer | None = None
        self._paths: list[str] = []
        """The files the code will find, for the model's prompt (it cannot guess their names)."""
        self._copied = False

    @property
    def function(self) -> FunctionTool:
        description = DESCRIPTION
        if self._paths:
            shown = self._paths[:_MAX_LISTED]
            description += f" Files in the sandbox: {', '.join(shown)}{', …' if shown != self._paths else ''}."
        return FunctionTool("python", PARAMETERS, description=description, fence=CodeFence("python", "code"))

    async def check(self) -> None:
        reason = probe()
        if reason is not None:
            raise InvalidRequest(f"code_interpreter is not available on this server: {reason}", param=self._where)
        container = self._param.container
        if isinstance(container, str):
            self._container = await self._containers.usable(self._project, container, param=f"{self._where}.container")
            self._paths = [file.path for file in await self._containers.files(self._container)]
            return
        names = await self._containers.check_file_ids(
            self._project, container.file_ids or [], f"{self._where}.container.file_ids"
        )
        self._container = await self._reused()
        present = [file.path for file in await self._containers.files(self._container)] if self._container else []
        self._paths = sorted({*present, *(f"{MOUNT}/{name}" for name in names)})

    async def _reused(self) -> StoredContainer | None:
        """The auto container of the chain's latest code_interpreter_call, if it still runs."""
        for item in reversed(self._earlier):
            if item.get("type") == "code_interpreter_call" and item.get("container_id"):
                try:
                    return await self._containers.usable(self._project, item["container_id"])
                except InvalidRequest:
                    return None
        return None

    async def _ready(self) -> StoredContainer:
        auto = self._param.container
        if self._container is None:
            assert isinstance(auto, AutoContainer)
            self._container = await self._containers.create(
                self._project, "code_interpreter", DEFAULT_MINUTES, auto.memory_limit or "1g", auto.file_ids or []
            )
            self._copied = True
        elif isinstance(auto, AutoContainer) and not self._copied:
            # A container reused along the chain gets this request's files too.
            for file_id in auto.file_ids or []:
                await self._containers.copy_file(self._container, file_id)
            self._copied = True
        return self._container

    async def start(self, item_id: str) -> ResponseOutputItem:
        container = await self._ready()
        return ResponseCodeInterpreterToolCall(
            id=item_id, type="code_interpreter_call", status="in_progress", code="", container_id=container.id,
            outputs=None,
        )  # fmt: skip

    def writing(self, item: ResponseOutputItem, arguments: str) -> Iterator[str | Progress]:
        assert isinstance(item, ResponseCodeInterpreterToolCall)
        if not arguments:
            yield "response.code_interpreter_call.in_progress"
        elif arguments.startswith(_CODE_HEAD):
            yield from self._code_delta(item, _string_so_far(arguments[len(_CODE_HEAD) :]))

    def _code_delta(self, item: ResponseCodeInterpreterToolCall, code: str) -> Iterator[Progress]:
        """The code written since the last delta (the model's arguments only grow)."""
        shown = item.code or ""
        if len(code) > len(shown) and code.startswith(shown):
            item.code = code
            yield Progress("response.code_interpreter_call_code.delta", {"delta": code[len(shown) :]})

    async def run(
        self, item: ResponseOutputItem, arguments: dict[str, Any], question: str
    ) -> AsyncIterator[str | Progress | ToolResult]:
        assert isinstance(item, ResponseCodeInterpreterToolCall)
        code = arguments.get("code") if isinstance(arguments.get("code"), str) else ""
        for delta in self._code_delta(item, str(code)):
            yield delta
        yield Progress("response.code_interpreter_call_code.done", {"code": item.code})
        item.status = "interpreting"
        yield "response.code_interpreter_call.interpreting"
        container = await self._ready()
        try:
            execution, written = await self._containers.execute(container, str(code), EXECUTION_TIMEOUT_SECONDS)
        except SandboxUnavailable as exc:
            item.status = "failed"
            yield ToolResult(item, [f"The code could not run: {exc}"])
            return
        item.status = "completed"
        logs = execution.logs + (
            f"\n{execution.error}" if execution.error and execution.error not in execution.logs else ""
        )
        if self._include_outputs:
            outputs: list[dict[str, Any]] = [{"type": "logs", "logs": logs}] if logs else []
            outputs += [{"type": "image", "url": _data_url(image)} for image in execution.images]
            item.outputs = [_OUTPUT.validate_python(output) for output in outputs]
        yield "response.code_interpreter_call.completed"
        failed = execution.error is not None
        pieces = [_model_text(logs, execution.images, written)]
        yield ToolResult(item, pieces, _citer(written), note=_AFTER_ERROR if failed else _AFTER_RUN, retry=failed)


def _string_so_far(text: str) -> str:
    """The decoded start of the JSON string whose contents `text` starts with, up to its last complete character
    (an escape may be cut in the middle), or the whole string once its closing quote has come."""
    try:
        return str(json.JSONDecoder().raw_decode('"' + text)[0])
    except json.JSONDecodeError:
        pass
    for cut in range(min(len(text), _LONGEST_ESCAPE) + 1):
        try:
            decoded = str(json.loads('"' + text[: len(text) - cut] + '"'))
        except json.JSONDecodeError:
            continue
        # Half a surrogate pair is no character yet.
        return decoded[:-1] if decoded and "\ud800" <= decoded[-1] <= "\udbff" else decoded
    return ""


def _model_text(logs: str, images: Sequence[bytes], written: Sequence[StoredContainerFile]) -> str:
    shown = logs if len(logs) <= _MAX_LOG_CHARS else logs[:_MAX_LOG_CHARS] + "\n[output cut]"
    parts = ["Output:\n" + (shown.strip() or "(nothing printed)")]
    if images:
        parts.append(f"[{len(images)} image(s) displayed]")
    if written:
        parts.append("Files written: " + ", ".join(file.path for file in written))
    return "\n".join(parts)


def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _citer(written: Sequence[StoredContainerFile]) -> Any:
    def annotate(text: str, read: int) -> list[dict[str, Any]]:
        return container_citations(text, written)

    return annotate if written else None


def container_citations(text: str, written: Sequence[StoredContainerFile]) -> list[dict[str, Any]]:
    """A `container_file_citation` for each file the code wrote: over its name where the answer names it, else at
    the answer's end."""
    cited = []
    for file in written:
        filename = file.path.rsplit("/", 1)[-1]
        start = text.find(filename)
        span = (start, start + len(filename)) if start >= 0 else (len(text), len(text))
        cited.append(
            {
                "type": "container_file_citation",
                "container_id": file.container_id,
                "file_id": file.id,
                "filename": filename,
                "start_index": span[0],
                "end_index": span[1],
            }
        )
    return sorted(cited, key=lambda citation: citation["start_index"])
