"""code_interpreter: containers that run code for real (bubblewrap), and the tool's item, events and outputs.

What the code computes is tested on the container service directly (its code is ours); through the API the small
model is made to call the tool (`tool_choice`), and what it writes does not matter, only what the server does.
"""

from __future__ import annotations

from pathlib import Path

import openai
import pytest
from openai import OpenAI
from openai.types.responses import ResponseCodeInterpreterToolCall

from homeport.errors import NotFound
from homeport.files.blobs import BlobStore
from homeport.files.service import FileService
from homeport.responses.runner import MAX_TOOL_ROUNDS
from homeport.sandbox.containers import ContainerService
from homeport.sandbox.runtime import probe
from homeport.store import ContainerRepository, Database, FileRepository

pytestmark = pytest.mark.skipif(probe() is not None, reason=f"no confined execution here: {probe()}")


async def test_state_files_and_charts_persist_in_a_container(tmp_path: Path) -> None:
    database = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'homeport.db'}")
    files = FileService(FileRepository(database), BlobStore(tmp_path / "files"), max_bytes=1 << 20)
    service = ContainerService(ContainerRepository(database), files, tmp_path / "containers")
    try:
        container = await service.create("p", "analysis", 20, "1g", [])
        staged = files.blobs.stage(1 << 20)
        staged.write(b"month,total\njan,10\nfeb,12\nmar,17\n")
        await service.add_upload(container, staged, "sales.csv")
        first, _ = await service.execute(container, "import pandas as pd\ndf = pd.read_csv('sales.csv')", 30)
        assert first.error is None
        second, written = await service.execute(
            container,
            "import matplotlib.pyplot as plt\n"
            "print(df.total.sum())\n"
            "df.plot(x='month', y='total')\n"
            "plt.savefig('/mnt/data/chart.png')\n"
            "plt.show()",
            30,
        )
        assert second.error is None and "39" in second.logs
        assert second.images and second.images[0].startswith(b"\x89PNG")
        assert [(file.path, file.source) for file in written] == [("/mnt/data/chart.png", "assistant")]
        paths = {file.path for file in await service.files(container)}
        assert paths == {"/mnt/data/sales.csv", "/mnt/data/chart.png"}
        with service.open(written[0]) as chart:
            assert chart.read().startswith(b"\x89PNG")
        # A symlink the code plants is neither listed nor read through.
        planted, links = await service.execute(container, "import os; os.symlink('/etc/passwd', 'leak.txt')", 30)
        assert planted.error is None and links == []
        assert "/mnt/data/leak.txt" not in {file.path for file in await service.files(container)}
        # A recorded file swapped for a symlink afterwards is not served either.
        swap = "import os; os.remove('chart.png'); os.symlink('/etc/passwd', 'chart.png')"
        await service.execute(container, swap, 30)
        with pytest.raises(NotFound):
            service.open(written[0])
    finally:
        await service.close()
        await database.close()


def test_the_tool_runs_code_in_a_container(client: OpenAI) -> None:
    with client.responses.stream(
        model="gpt-4o",
        input="Use python to print the sum of 2 and 3.",
        tools=[{"type": "code_interpreter", "container": {"type": "auto"}}],
        tool_choice={"type": "code_interpreter"},
        parallel_tool_calls=False,
        include=["code_interpreter_call.outputs"],
        max_output_tokens=160,
        temperature=0,
    ) as stream:
        events = list(stream)
    types = [event.type for event in events]
    calls = [t for t in types if t.startswith("response.code_interpreter_call")]
    # The item opens as the model starts the call, and its code streams as the model writes it.
    added = types.index("response.output_item.added")
    assert types[added + 1 : added + 3] == [
        "response.code_interpreter_call.in_progress",
        "response.code_interpreter_call_code.delta",
    ]
    deltas = calls.count("response.code_interpreter_call_code.delta")
    assert (
        calls
        == [
            "response.code_interpreter_call.in_progress",
            *["response.code_interpreter_call_code.delta"] * deltas,
            "response.code_interpreter_call_code.done",
            "response.code_interpreter_call.interpreting",
            "response.code_interpreter_call.completed",
        ][: len(calls)]
    )
    assert deltas > 1
    final = events[-1]
    assert final.type in ("response.completed", "response.incomplete")
    code = final.response.output[0]
    assert isinstance(code, ResponseCodeInterpreterToolCall) and code.code
    streamed = "".join(event.delta for event in events if event.type == "response.code_interpreter_call_code.delta")
    assert streamed == code.code


def test_the_item_and_its_container(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4o",
        input="Use python to print hello.",
        tools=[{"type": "code_interpreter", "container": {"type": "auto"}}],
        tool_choice={"type": "code_interpreter"},
        parallel_tool_calls=False,
        include=["code_interpreter_call.outputs"],
        max_output_tokens=160,
        temperature=0,
    )
    call = response.output[0]
    assert isinstance(call, ResponseCodeInterpreterToolCall)
    assert call.id.startswith("ci_") and call.status == "completed" and call.code
    assert call.outputs is not None
    container = client.containers.retrieve(call.container_id)
    assert container.status == "running"
    assert response.tools[0].type == "code_interpreter"
    # Without the include, the outputs are not shown; the chain reuses the same auto container, and this
    # request's files are copied into it.
    notes = client.files.create(file=("notes.txt", b"hello"), purpose="user_data")
    again = client.responses.create(
        model="gpt-4o",
        input="Run it again with python.",
        previous_response_id=response.id,
        tools=[{"type": "code_interpreter", "container": {"type": "auto", "file_ids": [notes.id]}}],
        tool_choice={"type": "code_interpreter"},
        parallel_tool_calls=False,
        max_output_tokens=160,
        temperature=0,
    )
    second = again.output[0]
    assert isinstance(second, ResponseCodeInterpreterToolCall)
    assert second.container_id == call.container_id and second.outputs is None
    assert "/mnt/data/notes.txt" in {file.path for file in client.containers.files.list(call.container_id)}


@pytest.mark.default_model
def test_failed_code_runs_again_within_the_limits(default_client: OpenAI) -> None:
    """After an error the model may run code again, one call at a time, until `max_tool_calls` or the rounds a
    response allows are spent; then it must answer (Qwen2.5-Coder-0.5B reruns this same code every time)."""
    for limit, most in ((None, MAX_TOOL_ROUNDS), (2, 2)):
        response = default_client.responses.create(
            model="gpt-4o",
            input="Use python to run this code: print(1/0)",
            tools=[{"type": "code_interpreter", "container": {"type": "auto"}}],
            include=["code_interpreter_call.outputs"],
            max_tool_calls=limit,
            max_output_tokens=500,
            temperature=0,
        )
        calls = [item for item in response.output if isinstance(item, ResponseCodeInterpreterToolCall)]
        assert 2 <= len(calls) <= most
        assert all(call.outputs and "ZeroDivisionError" in call.outputs[0].logs for call in calls)  # type: ignore[union-attr]
        assert response.status == "completed" and response.output[-1].type == "message" and response.output_text


def test_an_explicit_container_and_errors(client: OpenAI) -> None:
    container = client.containers.create(name="mine")
    response = client.responses.create(
        model="gpt-4o",
        input="Use python to print 1.",
        tools=[{"type": "code_interpreter", "container": container.id}],
        tool_choice={"type": "code_interpreter"},
        parallel_tool_calls=False,
        max_output_tokens=120,
        temperature=0,
    )
    assert response.output[0].container_id == container.id  # type: ignore[union-attr]
    with pytest.raises(openai.NotFoundError) as missing:
        client.responses.create(
            model="gpt-4o", input="x", tools=[{"type": "code_interpreter", "container": "cntr_missing"}]
        )
    assert missing.value.param == "tools[0].container"
    with pytest.raises(openai.NotFoundError) as no_file:
        client.responses.create(
            model="gpt-4o",
            input="x",
            tools=[{"type": "code_interpreter", "container": {"type": "auto", "file_ids": ["file-nope"]}}],
        )
    assert no_file.value.param == "tools[0].container.file_ids[0]"
