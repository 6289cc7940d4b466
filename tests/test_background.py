"""Background responses: queued, run by the worker pool, polled, cancelled, streamed and resumed from their event
log, and never left in progress by a server that stopped."""

from __future__ import annotations

import time
from collections.abc import Iterator
from time import sleep
from typing import Any

import openai
import pytest
from openai import OpenAI
from openai.types.responses import Response
from tests.conftest import SMALL, SMALL_ENV, Server

LONG = "Write a very long novel about otters in space."
TERMINAL = ("completed", "failed", "incomplete", "cancelled")


@pytest.fixture(scope="module")
def long_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Its own server: these tests restart it, a lease of 1 s lets a restarted server see a run it left, and the
    context holds a long run."""
    env = {**SMALL_ENV, "HOMEPORT_JOB_LEASE_SECONDS": "1", "HOMEPORT_CONTEXT_SIZE": "4096"}
    running = Server(tmp_path_factory.mktemp("background"), env=env)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def client(long_server: Server) -> OpenAI:
    return long_server.client()


def settled(client: OpenAI, response_id: str, timeout: float = 60) -> Response:
    """Poll as the docs do (here every 0.2 s) until the response is final."""
    deadline = time.monotonic() + timeout
    response = client.responses.retrieve(response_id)
    while response.status not in TERMINAL and time.monotonic() < deadline:
        time.sleep(0.2)
        response = client.responses.retrieve(response_id)
    return response


def novel(client: OpenAI, tokens: int = 3000, **options: Any) -> Any:
    """The docs' example; thousands of tokens run for several seconds even on the small model."""
    return client.responses.create(
        model=SMALL, input=LONG, background=True, max_output_tokens=tokens, temperature=0, **options
    )


def test_a_background_response_is_queued_then_runs_to_the_end(client: OpenAI) -> None:
    queued = novel(client, tokens=40)
    assert queued.status == "queued" and queued.background is True
    assert queued.output == [] and queued.usage is None and queued.service_tier == "auto"
    done = settled(client, queued.id)
    assert done.status in ("completed", "incomplete") and done.output_text and done.usage is not None
    assert done.background is True and done.id == queued.id


def test_background_needs_store(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        novel(client, store=False)
    assert caught.value.body["param"] == "background"  # type: ignore[index]


def test_a_background_stream_replays_from_any_cursor(client: OpenAI) -> None:
    stream = novel(client, tokens=60, stream=True)
    live = [event for event in stream]
    assert [event.type for event in live[:3]] == ["response.created", "response.queued", "response.in_progress"]
    assert live[0].response.status == "queued" and live[-1].type in ("response.completed", "response.incomplete")
    numbers = [event.sequence_number for event in live]
    assert numbers == list(range(len(live))), "numbered from 0, with no gap"
    response_id = live[0].response.id
    # Before the run started, in the middle, at the last event, and past it.
    for cursor in (0, 1, len(live) // 2, len(live) - 1, len(live) + 5):
        replayed = list(client.responses.retrieve(response_id, stream=True, starting_after=cursor))
        assert [event.model_dump() for event in replayed] == [event.model_dump() for event in live[cursor + 1 :]]
    everything = list(client.responses.retrieve(response_id, stream=True))
    assert [event.sequence_number for event in everything] == numbers


def test_a_dropped_stream_resumes_with_no_gap_and_no_duplicate(client: OpenAI) -> None:
    seen = []
    for event in novel(client, tokens=300, stream=True):
        seen.append(event)
        if len(seen) == 8:
            break  # the connection drops; the run goes on
    response_id = seen[0].response.id
    rest = list(client.responses.retrieve(response_id, stream=True, starting_after=seen[-1].sequence_number))
    numbers = [event.sequence_number for event in seen + rest]
    assert numbers == list(range(len(numbers))) and rest[-1].type in ("response.completed", "response.incomplete")
    text = "".join(event.delta for event in seen + rest if event.type == "response.output_text.delta")
    assert text == settled(client, response_id).output_text


def test_cancel_stops_a_running_and_a_queued_response(client: OpenAI) -> None:
    running = novel(client)
    waiting = novel(client)  # one worker: this one waits its turn
    while client.responses.retrieve(running.id).status == "queued":
        time.sleep(0.05)
    assert client.responses.retrieve(waiting.id).status == "queued"
    dequeued = client.responses.cancel(waiting.id)
    assert dequeued.status == "cancelled" and dequeued.output == []
    started = time.monotonic()
    stopped = client.responses.cancel(running.id)
    assert stopped.status == "cancelled" and time.monotonic() - started < 5
    assert client.responses.cancel(running.id).status == "cancelled", "cancelling again changes nothing"
    assert settled(client, running.id).status == "cancelled"
    # The stream of a cancelled response ends where the run stopped.
    replayed = list(client.responses.retrieve(running.id, stream=True))
    assert replayed and replayed[-1].type not in ("response.completed", "response.failed")
    finished = settled(client, novel(client, tokens=20).id)
    assert client.responses.cancel(finished.id).status == finished.status, "a finished response is returned as is"


def test_a_restart_fails_the_run_it_cut_and_runs_what_was_queued(long_server: Server) -> None:
    server = long_server
    client = server.client()
    cut = novel(client)
    queued = novel(client, tokens=20)
    while client.responses.retrieve(cut.id).status == "queued":
        time.sleep(0.05)
    assert server.process is not None
    server.process.kill()  # no shutdown: the run is simply gone
    server.process.wait()
    server.start()
    client = server.client()
    failed = settled(client, cut.id)
    assert failed.status == "failed" and failed.error is not None and failed.error.code == "server_error"
    assert list(client.responses.retrieve(cut.id, stream=True))[-1].type == "response.failed"
    assert settled(client, queued.id).status in ("completed", "incomplete")


def test_the_documentation_example_polls_to_the_end(server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    """The background guide's example as written (its model name is an alias), on the small model's short context;
    it polls every 2 s."""
    client = server.client()
    resp = client.responses.create(model="o3", input="Write a very long novel about otters in space.", background=True)
    print(resp.status)
    while resp.status in {"queued", "in_progress"}:
        print(f"Current status: {resp.status}")
        sleep(2)
        resp = client.responses.retrieve(resp.id)
    print(f"Final status: {resp.status}\nOutput:\n{resp.output_text}")
    printed = capsys.readouterr().out
    assert printed.startswith("queued\nCurrent status: queued")
    # As written it samples at temperature 1: the small model writes a page or a few lines.
    assert resp.status in ("completed", "incomplete") and resp.output_text
    assert f"Output:\n{resp.output_text}" in printed


def test_the_sdk_stream_helper_resumes_a_background_response(client: OpenAI) -> None:
    response = client.responses.create(
        model=SMALL, input="Say hello.", background=True, max_output_tokens=200, temperature=0
    )
    with client.responses.stream(response_id=response.id) as stream:
        everything = [event.sequence_number for event in stream]
        final = stream.get_final_response()
    assert final.status == "completed" and final.output_text and everything == list(range(len(everything)))
    with client.responses.stream(response_id=response.id, starting_after=4) as stream:
        assert [event.sequence_number for event in stream] == everything[5:]
        assert stream.get_final_response().output_text == final.output_text


def test_a_graceful_restart_fails_the_run_it_stopped(long_server: Server) -> None:
    client = long_server.client()
    cut = novel(client)
    while client.responses.retrieve(cut.id).status == "queued":
        time.sleep(0.05)
    long_server.restart()  # SIGTERM: the server stops its runs as it shuts down
    failed = settled(long_server.client(), cut.id)
    assert failed.status == "failed" and failed.error is not None and "shut down" in failed.error.message
