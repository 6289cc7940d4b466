"""The built-in tools the client runs (computer use, local_shell, shell, apply_patch): the model's call is the tool's
own item, the client's output goes back as input, and the model reads it. Protocol round trips on the small packaged
model, every body and event checked by the SDK."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai import OpenAI
from openai.types.responses import (
    ResponseApplyPatchToolCall,
    ResponseComputerToolCall,
    ResponseFunctionShellToolCall,
)
from openai.types.responses.response_output_item import LocalShellCall
from tests.conftest import SMALL, SMALL_ENV, Server

SCREEN = {"type": "computer_use_preview", "display_width": 800, "display_height": 600, "environment": "browser"}
SCREENSHOT = {"type": "computer_screenshot", "image_url": "data:image/png;base64,iVBORw0KGgo="}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenAI]:
    """The small model with room for a computer's action schema, which alone takes some 700 tokens of its prompt."""
    running = Server(tmp_path_factory.mktemp("client-tools"), env={**SMALL_ENV, "HOMEPORT_CONTEXT_SIZE": "4096"})
    running.start()
    yield running.client()
    running.stop()


def called(client: OpenAI, tool: dict[str, Any], text: str = "Open the page", **options: Any) -> Any:
    """The first output item of a response that must call `tool`."""
    if tool["type"] == "computer_use_preview":
        options.setdefault("truncation", "auto")
    options.setdefault("tool_choice", "required")
    response = client.responses.create(
        model=SMALL, input=text, tools=[tool], temperature=0, max_output_tokens=300, parallel_tool_calls=False,  # type: ignore[list-item]
        **options,
    )  # fmt: skip
    assert response.status == "completed" and len(response.output) == 1
    return response.output[0], response


def bad_request(client: OpenAI, **request: Any) -> dict[str, Any]:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=SMALL, **request)
    return caught.value.body  # type: ignore[return-value]


def test_a_computer_call_acts_on_the_screen_and_its_screenshot_goes_back(client: OpenAI) -> None:
    call, first = called(client, SCREEN)
    assert isinstance(call, ResponseComputerToolCall) and call.id.startswith("cu_")
    assert call.pending_safety_checks == [] and call.action is not None and call.actions is None
    if hasattr(call.action, "x"):
        assert 0 <= call.action.x < 800 and 0 <= call.action.y < 600  # type: ignore[union-attr]
    assert first.tools[0].model_dump(exclude_none=True) == SCREEN and first.truncation == "auto"
    # The docs' loop sends the screenshot as an input_image; it is stored as the computer_screenshot it stands for.
    output = {"type": "computer_call_output", "call_id": call.call_id, "output": {**SCREENSHOT, "type": "input_image"}}
    second = client.responses.create(
        model=SMALL, previous_response_id=first.id, input=[output], tools=[SCREEN], truncation="auto",  # type: ignore[list-item]
        max_output_tokens=40,
    )  # fmt: skip
    assert second.status in ("completed", "incomplete")
    [stored] = client.responses.input_items.list(second.id).data
    assert stored.type == "computer_call_output" and stored.output.type == "computer_screenshot"  # type: ignore[union-attr]
    assert stored.id.startswith("cuo_")


def test_computer_use_preview_needs_truncation_auto(client: OpenAI) -> None:
    body = bad_request(client, input="Open the page", tools=[SCREEN])
    assert body["param"] == "truncation" and "auto" in body["message"]


def test_the_batched_computer_tool_returns_a_list_of_actions(client: OpenAI) -> None:
    call, response = called(client, {"type": "computer"}, tool_choice={"type": "computer_use"})
    assert isinstance(call, ResponseComputerToolCall) and call.action is None
    assert call.actions and response.tool_choice.type == "computer_use"  # type: ignore[union-attr]


def test_a_screenshot_off_the_named_site_must_be_acknowledged(client: OpenAI) -> None:
    call, first = called(client, SCREEN, text="Search bing.com for cats")
    elsewhere = {"type": "computer_call_output", "call_id": call.call_id, "output": SCREENSHOT,
                 "current_url": "https://phish.example.net/login"}  # fmt: skip
    second = client.responses.create(
        model=SMALL, previous_response_id=first.id, input=[elsewhere], tools=[SCREEN], truncation="auto",  # type: ignore[list-item]
        tool_choice="required", temperature=0, max_output_tokens=200,
    )  # fmt: skip
    flagged = second.output[0]
    assert isinstance(flagged, ResponseComputerToolCall)
    [check] = flagged.pending_safety_checks
    assert check.code == "irrelevant_domain" and "phish.example.net" in (check.message or "")
    answer = {"type": "computer_call_output", "call_id": flagged.call_id, "output": SCREENSHOT}
    follow = {"previous_response_id": second.id, "tools": [SCREEN], "truncation": "auto", "max_output_tokens": 20}
    unacknowledged = bad_request(client, input=[answer], **follow)
    assert unacknowledged["param"] == "input[0].acknowledged_safety_checks" and check.id in unacknowledged["message"]
    stranger = bad_request(client, input=[{**answer, "acknowledged_safety_checks": [{"id": "cu_sc_other"}]}], **follow)
    assert stranger["param"] == "input[0].acknowledged_safety_checks"
    acknowledged = {**answer, "acknowledged_safety_checks": [check.model_dump()]}
    assert client.responses.create(model=SMALL, input=[acknowledged], **follow).status in ("completed", "incomplete")
    # On the site the user named, nothing is flagged.
    home = {**elsewhere, "current_url": "https://www.bing.com/search?q=cats"}
    again = client.responses.create(
        model=SMALL, previous_response_id=first.id, input=[home], tools=[SCREEN], truncation="auto",  # type: ignore[list-item]
        tool_choice="required", temperature=0, max_output_tokens=200,
    )  # fmt: skip
    assert again.output[0].pending_safety_checks == []  # type: ignore[union-attr]


def test_a_local_shell_call_streams_as_one_item_and_its_output_goes_back(client: OpenAI) -> None:
    with client.responses.stream(
        model=SMALL, input="List the files here", tools=[{"type": "local_shell"}], tool_choice="required",
        temperature=0, max_output_tokens=200,
    ) as stream:  # fmt: skip
        events = [event.type for event in stream]
        first = stream.get_final_response()
    assert events == [
        "response.created", "response.in_progress", "response.output_item.added", "response.output_item.done",
        "response.completed",
    ]  # fmt: skip
    call = first.output[0]
    assert isinstance(call, LocalShellCall) and call.action.type == "exec" and call.action.command
    assert call.id.startswith("lsh_") and call.status == "completed"
    # The docs name the call by call_id; the SDK's input type by id. Both answer it.
    for reference in ({"call_id": call.call_id}, {"id": call.call_id}):
        output = {"type": "local_shell_call_output", "output": "a.txt\nb.txt\n", **reference}
        answered = client.responses.create(
            model=SMALL, previous_response_id=first.id, input=[output], tools=[{"type": "local_shell"}],  # type: ignore[list-item]
            max_output_tokens=20,
        )  # fmt: skip
        [stored] = client.responses.input_items.list(answered.id).data
        assert stored.type == "local_shell_call_output" and stored.id.startswith("lsho_")


def test_the_model_reads_what_the_client_ran(client: OpenAI) -> None:
    call, first = called(client, {"type": "local_shell"})

    def counted(printed: str) -> int:
        output = {"type": "local_shell_call_output", "call_id": call.call_id, "output": printed}
        return client.responses.input_tokens.count(
            model=SMALL,
            previous_response_id=first.id,
            input=[output],
            tools=[{"type": "local_shell"}],  # type: ignore[list-item]
        ).input_tokens

    assert counted("a.txt " * 50) > counted("a.txt") + 40


def test_a_shell_call_and_the_outcome_of_each_command(client: OpenAI) -> None:
    skill = {"name": "csv", "description": "Summarise CSV files", "path": "/skills/csv"}
    tool = {"type": "shell", "environment": {"type": "local", "skills": [skill]}}
    call, first = called(client, tool, text="How much disk is free?", tool_choice={"type": "shell"})
    assert isinstance(call, ResponseFunctionShellToolCall) and call.action.commands
    assert call.environment is not None and call.environment.type == "local"
    assert first.tools[0].model_dump(exclude_none=True) == tool
    outcomes = [
        {"stdout": "50G\n", "stderr": "", "outcome": {"type": "exit", "exit_code": 0}},
        {"stdout": "", "stderr": "", "outcome": {"type": "timeout"}},
    ]
    output = {"type": "shell_call_output", "call_id": call.call_id, "output": outcomes[: len(call.action.commands)]}
    answered = client.responses.create(
        model=SMALL, previous_response_id=first.id, input=[output], tools=[tool], max_output_tokens=20,  # type: ignore[list-item]
    )  # fmt: skip
    [stored] = client.responses.input_items.list(answered.id).data
    assert stored.type == "shell_call_output" and stored.output[0].outcome.type == "exit"  # type: ignore[union-attr]


def test_an_apply_patch_call_and_its_result(client: OpenAI) -> None:
    call, first = called(client, {"type": "apply_patch"}, text="Create hello.txt", tool_choice={"type": "apply_patch"})
    assert isinstance(call, ResponseApplyPatchToolCall) and call.operation.path
    assert call.operation.type in ("create_file", "update_file", "delete_file")
    # Without store: the call and its result replayed by hand.
    result = {"type": "apply_patch_call_output", "call_id": call.call_id, "status": "failed", "output": "exists"}
    replayed = [call.model_dump(exclude_none=True), result]
    answered = client.responses.create(
        model=SMALL, input=replayed, tools=[{"type": "apply_patch"}], store=False, max_output_tokens=20,  # type: ignore[arg-type, list-item]
    )  # fmt: skip
    assert answered.status in ("completed", "incomplete")


@pytest.mark.parametrize(
    "output",
    [
        {"type": "computer_call_output", "call_id": "call_nope", "output": SCREENSHOT},
        {"type": "local_shell_call_output", "call_id": "call_nope", "output": "x"},
        {"type": "shell_call_output", "call_id": "call_nope", "output": []},
        {"type": "apply_patch_call_output", "call_id": "call_nope", "status": "completed"},
    ],
)
def test_an_output_for_an_unknown_call_is_a_400(client: OpenAI, output: dict[str, Any]) -> None:
    body = bad_request(client, input=[output])
    assert body["param"] == "input[0].call_id" and "call_nope" in body["message"]


def test_an_output_answers_only_a_call_of_its_own_tool(client: OpenAI) -> None:
    call, first = called(client, {"type": "local_shell"})
    shell_output = {"type": "shell_call_output", "call_id": call.call_id, "output": []}
    body = bad_request(client, previous_response_id=first.id, input=[shell_output])
    assert body["param"] == "input[0].call_id"


@pytest.mark.parametrize(
    ("request_options", "param"),
    [
        ({"input": [{"type": "local_shell_call_output", "output": "x"}]}, "input[0]"),
        ({"input": [{"type": "computer_call_output", "call_id": "c", "output": {"type": "computer_screenshot"}}]},
         "input[0].output"),
        ({"input": [{"type": "apply_patch_call", "call_id": "c", "status": "completed",
                     "operation": {"type": "delete_file", "path": "a", "diff": "x"}}]}, "input[0].operation"),
        ({"input": "hi", "tools": [{"type": "shell", "environment": {"type": "container_auto"}}]},
         "tools[0].environment"),
        ({"input": "hi", "tools": [{"type": "apply_patch", "allowed_callers": ["programmatic"]}]},
         "tools[0].allowed_callers[0]"),
        ({"input": "hi", "tools": [{**SCREEN, "environment": "amiga"}], "truncation": "auto"},
         "tools[0].environment"),
        ({"input": "hi", "tools": [{"type": "local_shell", "cwd": "/"}]}, "tools[0].cwd"),
        ({"input": "hi", "tools": [{"type": "local_shell"}], "tool_choice": {"type": "shell"}}, "tool_choice.type"),
    ],
)  # fmt: skip
def test_bad_client_tools_and_items_are_400s_naming_the_param(
    client: OpenAI, request_options: dict[str, Any], param: str
) -> None:
    assert bad_request(client, **request_options)["param"] == param
