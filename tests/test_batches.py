"""The Batch API: a JSONL file of requests validated up front, run as a job, its outcomes in an output and an error
file in OpenAI's line format; cancelled, listed, and carried on after a restart."""

from __future__ import annotations

import io
import json
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai import OpenAI
from openai.types import Batch
from tests.conftest import SMALL, SMALL_ENV, Server

FINAL = ("completed", "failed", "expired", "cancelled")


@pytest.fixture(scope="module")
def batch_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Its own server: a test restarts it (a lease of 1 s lets the restarted server take the batch back)."""
    running = Server(tmp_path_factory.mktemp("batches"), env={**SMALL_ENV, "HOMEPORT_JOB_LEASE_SECONDS": "1"})
    running.start()
    yield running
    running.stop()


@pytest.fixture
def client(batch_server: Server) -> OpenAI:
    return batch_server.client()


def upload(client: OpenAI, lines: list[dict[str, Any] | str]) -> str:
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    return client.files.create(file=("requests.jsonl", io.BytesIO(text.encode())), purpose="batch").id


def settled(client: OpenAI, batch_id: str, timeout: float = 180) -> Batch:
    deadline = time.monotonic() + timeout
    batch = client.batches.retrieve(batch_id)
    while batch.status not in FINAL and time.monotonic() < deadline:
        time.sleep(0.2)
        batch = client.batches.retrieve(batch_id)
    return batch


def lines_of(client: OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    return [json.loads(line) for line in client.files.content(file_id).text.splitlines()] if file_id else []


def chat(custom_id: str, content: str, **body: Any) -> dict[str, Any]:
    messages = [{"role": "user", "content": content}]
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": SMALL, "messages": messages, "max_tokens": 8, **body}}  # fmt: skip


def test_fifty_mixed_requests_some_failing(client: OpenAI) -> None:
    requests = [chat(f"request-{n}", f"Say the number {n}.") for n in range(47)]
    requests += [chat("bad-temperature", "Hi", temperature=7), chat("bad-model", "Hi", model="no-such-model"),
                 chat("unknown-field", "Hi", colour="blue")]  # fmt: skip
    batch = client.batches.create(
        input_file_id=upload(client, requests), endpoint="/v1/chat/completions", completion_window="24h",
        metadata={"job": "nightly"},
    )  # fmt: skip
    assert batch.status == "validating" and batch.metadata == {"job": "nightly"} and batch.id.startswith("batch_")
    done = settled(client, batch.id)
    assert done.status == "completed" and done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (50, 47, 3)
    assert done.completed_at and done.in_progress_at and done.finalizing_at
    outputs = lines_of(client, done.output_file_id)
    assert sorted(line["custom_id"] for line in outputs) == sorted(f"request-{n}" for n in range(47))
    first = outputs[0]
    assert first["id"].startswith("batch_req_") and first["error"] is None
    assert first["response"]["status_code"] == 200 and first["response"]["body"]["object"] == "chat.completion"
    errors = {line["custom_id"]: line for line in lines_of(client, done.error_file_id)}
    assert set(errors) == {"bad-temperature", "bad-model", "unknown-field"}
    assert errors["bad-temperature"]["response"]["status_code"] == 400
    assert errors["bad-temperature"]["response"]["body"]["error"]["param"] == "temperature"
    assert errors["bad-model"]["response"]["status_code"] == 404
    assert done.usage is not None and done.usage.input_tokens > 0 and done.usage.output_tokens > 0
    assert client.files.retrieve(done.output_file_id).purpose == "batch_output"  # type: ignore[arg-type]
    assert batch.id in [listed.id for listed in client.batches.list(limit=100)]


def test_a_batch_with_bad_lines_fails_naming_each(client: OpenAI) -> None:
    lines: list[dict[str, Any] | str] = [
        chat("a", "Hi"), chat("a", "Hi again"), "{not json", {**chat("c", "Hi"), "url": "/v1/embeddings"},
        {**chat("d", "Hi"), "method": "GET"},
    ]  # fmt: skip
    batch = client.batches.create(input_file_id=upload(client, lines), endpoint="/v1/chat/completions",
                                  completion_window="24h")  # fmt: skip
    failed = settled(client, batch.id)
    assert failed.status == "failed" and failed.errors is not None and failed.output_file_id is None
    found = {(error.line, error.code) for error in failed.errors.data or []}
    assert found == {(2, "duplicate_custom_id"), (3, "invalid_json_line"), (4, "mismatched_url"),
                     (5, "invalid_method")}  # fmt: skip


def test_embeddings_and_responses_batches(client: OpenAI) -> None:
    embed = [{"custom_id": f"e{n}", "method": "POST", "url": "/v1/embeddings",
              "body": {"model": "text-embedding-3-small", "input": f"text {n}"}} for n in range(3)]  # fmt: skip
    respond = [{"custom_id": "r", "method": "POST", "url": "/v1/responses",
                "body": {"model": SMALL, "input": "Hi", "max_output_tokens": 16}},
               {"custom_id": "streamed", "method": "POST", "url": "/v1/responses",
                "body": {"model": SMALL, "input": "Hi", "stream": True}}]  # fmt: skip
    embedded = client.batches.create(input_file_id=upload(client, embed), endpoint="/v1/embeddings",
                                     completion_window="24h")  # fmt: skip
    responded = client.batches.create(input_file_id=upload(client, respond), endpoint="/v1/responses",
                                      completion_window="24h")  # fmt: skip
    vectors = lines_of(client, settled(client, embedded.id).output_file_id)
    assert len(vectors) == 3 and vectors[0]["response"]["body"]["data"][0]["object"] == "embedding"
    done = settled(client, responded.id)
    [answer] = lines_of(client, done.output_file_id)
    assert answer["response"]["body"]["object"] == "response"
    [streamed] = lines_of(client, done.error_file_id)
    assert streamed["custom_id"] == "streamed" and streamed["response"]["body"]["error"]["param"] == "stream"


def test_cancel_a_running_batch(client: OpenAI) -> None:
    requests = [chat(f"slow-{n}", "Write a long story.", max_tokens=200) for n in range(40)]
    batch = client.batches.create(input_file_id=upload(client, requests), endpoint="/v1/chat/completions",
                                  completion_window="24h")  # fmt: skip
    while client.batches.retrieve(batch.id).request_counts.completed < 2:  # type: ignore[union-attr]
        time.sleep(0.1)
    cancelling = client.batches.cancel(batch.id)
    assert cancelling.status in ("cancelling", "cancelled")
    cancelled = settled(client, batch.id)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at
    kept = lines_of(client, cancelled.output_file_id)
    assert 2 <= len(kept) < 40, "what finished before the cancel is kept"
    assert client.batches.cancel(batch.id).status == "cancelled"
    with pytest.raises(openai.BadRequestError):
        client.batches.cancel(settled(client, client.batches.create(
            input_file_id=upload(client, [chat("x", "Hi")]), endpoint="/v1/chat/completions",
            completion_window="24h").id).id)  # fmt: skip


def test_a_restart_in_the_middle_carries_the_batch_on(batch_server: Server) -> None:
    client = batch_server.client()
    requests = [chat(f"n-{n}", "Write a long story.", max_tokens=60) for n in range(30)]
    batch = client.batches.create(input_file_id=upload(client, requests), endpoint="/v1/chat/completions",
                                  completion_window="24h")  # fmt: skip
    while client.batches.retrieve(batch.id).request_counts.completed < 3:  # type: ignore[union-attr]
        time.sleep(0.1)
    assert batch_server.process is not None
    batch_server.process.kill()
    batch_server.process.wait()
    batch_server.start()
    client = batch_server.client()
    done = settled(client, batch.id)
    assert done.status == "completed" and done.request_counts.completed == 30  # type: ignore[union-attr]
    custom_ids = [line["custom_id"] for line in lines_of(client, done.output_file_id)]
    assert sorted(custom_ids) == sorted(f"n-{n}" for n in range(30)), "each request once, none lost or repeated"


@pytest.mark.parametrize(
    ("change", "param"),
    [({"endpoint": "/v1/moderations"}, "endpoint"), ({"completion_window": "1h"}, "completion_window"),
     ({"input_file_id": "file-nope"}, "input_file_id"), ({"colour": "blue"}, "colour")],
)  # fmt: skip
def test_bad_batches_are_400s_naming_the_param(client: OpenAI, change: dict[str, Any], param: str) -> None:
    request = {"input_file_id": upload(client, [chat("x", "Hi")]), "endpoint": "/v1/chat/completions",
               "completion_window": "24h", **change}  # fmt: skip
    with pytest.raises((openai.BadRequestError, openai.NotFoundError)) as caught:
        client.post("/batches", body=request, cast_to=Batch)
    assert caught.value.body["param"] == param  # type: ignore[union-attr, index]


def test_the_end_of_the_window_expires_what_is_left(batch_server: Server) -> None:
    client = batch_server.client()
    requests = [chat(f"late-{n}", "Write a long story.", max_tokens=100) for n in range(30)]
    batch = client.batches.create(input_file_id=upload(client, requests), endpoint="/v1/chat/completions",
                                  completion_window="24h")  # fmt: skip
    while client.batches.retrieve(batch.id).request_counts.completed < 2:  # type: ignore[union-attr]
        time.sleep(0.1)
    # 24 hours pass: the window's end is moved to now, in the store the server reads before each request.
    with sqlite3.connect(batch_server.data_dir / "homeport.db") as database:
        database.execute(
            "UPDATE batches SET body = json_set(body, '$.expires_at', ?) WHERE id = ?", (int(time.time()), batch.id)
        )
    expired = settled(client, batch.id)
    assert expired.status == "expired" and expired.expired_at
    kept = lines_of(client, expired.output_file_id)
    late = lines_of(client, expired.error_file_id)
    assert len(kept) + len(late) == 30 and late and len(kept) >= 2
    assert all(line["error"]["code"] == "batch_expired" and line["response"] is None for line in late)
