"""Webhooks: endpoints the operator adds with `homeport webhooks`, events signed as Standard Webhooks (verified by
the SDK's `client.webhooks.unwrap`), delivered durably with retries, and kept to the outbound policy."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import OpenAI
from tests.conftest import SMALL, SMALL_ENV, Server, free_port

SECRET = "whsec_" + base64.b64encode(b"homeport-test-webhook-secret-32b").decode()


class Receiver:
    """The docs' webhook server, on loopback: it verifies each delivery with `client.webhooks.unwrap`, answers 400
    to a bad signature, and can be told to fail the next few deliveries."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[dict[str, Any]] = []
        self.verified: list[Any] = []
        self.failing = 0
        self.sdk = OpenAI(api_key="unused", webhook_secret=SECRET)
        self.secrets = [SECRET]
        """The secrets it knows: the operator's, and any a test hands it."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.received.append({"headers": dict(self.headers), "body": body})
                event = receiver.verify(body, dict(self.headers))
                if event is None:
                    self.send_response(400)
                else:
                    if receiver.failing:
                        receiver.failing -= 1
                        self.send_response(500)
                    else:
                        receiver.verified.append(event)
                        self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def verify(self, body: bytes, headers: dict[str, str]) -> Any:
        """The event, unwrapped with whichever known secret signed it; None if none did."""
        for secret in self.secrets:
            try:
                return self.sdk.webhooks.unwrap(body, headers, secret=secret)
            except openai.InvalidWebhookSignatureError:
                continue
        return None

    def url(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/webhook"

    def wait(self, count: int, timeout: float = 30) -> list[Any]:
        deadline = time.monotonic() + timeout
        while len(self.verified) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.verified


def homeport(data_dir: Path, *args: str) -> str:
    """`homeport webhooks …` as an operator runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "homeport.cli", "webhooks", *args, "--data-dir", str(data_dir)],
        capture_output=True, text=True, env={**os.environ}, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.http.shutdown()


@pytest.fixture(scope="module")
def hooked(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("webhooks")
    env = {**SMALL_ENV, "HOMEPORT_OUTBOUND_ALLOW": "127.0.0.1/32", "HOMEPORT_WEBHOOK_RETRY_BASE_SECONDS": "0.2"}
    running = Server(data_dir, env=env)
    homeport(data_dir, "add", receiver.url(), "--secret", SECRET, "--events", "response.completed,response.cancelled")
    running.start()
    yield running
    running.stop()


def background(client: OpenAI, tokens: int = 200) -> Any:
    """A short answer that ends by itself (`response.completed`), unless `tokens` cut it short."""
    return client.responses.create(
        model=SMALL, input="Say hello.", background=True, max_output_tokens=tokens, temperature=0
    )


def test_a_finished_background_response_is_announced_signed(hooked: Server, receiver: Receiver) -> None:
    client = hooked.client()
    response = background(client)
    [event] = receiver.wait(1)[-1:]
    assert event.type == "response.completed" and event.data.id == response.id and event.id.startswith("evt_")
    assert client.responses.retrieve(event.data.id).status == "completed"
    delivery = receiver.received[-1]
    headers = {key.lower(): value for key, value in delivery["headers"].items()}
    assert headers["webhook-id"].startswith("wh_") and abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    body = json.loads(delivery["body"])
    assert body == {"object": "event", "id": event.id, "type": "response.completed",
                    "created_at": body["created_at"], "data": {"id": response.id}}  # fmt: skip
    tampered = delivery["body"].replace(response.id.encode(), b"resp_" + b"0" * 48)
    with pytest.raises(openai.InvalidWebhookSignatureError):
        receiver.sdk.webhooks.unwrap(tampered, headers)


def test_a_failing_receiver_gets_the_same_delivery_again(hooked: Server, receiver: Receiver) -> None:
    before = len(receiver.received)
    receiver.failing = 2
    response = background(hooked.client())
    events = receiver.wait(len(receiver.verified) + 1)
    assert events[-1].data.id == response.id
    attempts = receiver.received[before:]
    assert len(attempts) == 3, "two failures, then the delivery that succeeded"
    assert len({attempt["headers"]["webhook-id"] for attempt in attempts}) == 1, "one webhook-id for every attempt"
    listed = homeport(hooked.data_dir, "deliveries")
    line = next(line for line in listed.splitlines() if attempts[0]["headers"]["webhook-id"] in line)
    assert "delivered" in line and "attempts 3" in line


def test_only_the_types_an_endpoint_takes_and_cancellations(hooked: Server, receiver: Receiver) -> None:
    client = hooked.client()
    before = len(receiver.received)
    novel = {"model": SMALL, "input": "Write a very long novel about otters in space.", "background": True}
    cut = client.responses.create(**novel, max_output_tokens=16)
    running = client.responses.create(**novel, max_output_tokens=900)
    while client.responses.retrieve(running.id).status == "queued":
        time.sleep(0.05)
    assert client.responses.retrieve(cut.id).status == "incomplete"
    assert client.responses.cancel(running.id).status == "cancelled"
    [event] = receiver.wait(len(receiver.verified) + 1)[-1:]
    assert event.type == "response.cancelled" and event.data.id == running.id
    time.sleep(0.5)
    assert len(receiver.received) == before + 1, "response.incomplete is not a type this endpoint takes"


def test_endpoints_are_listed_added_and_removed_while_the_server_runs(hooked: Server, receiver: Receiver) -> None:
    listed = homeport(hooked.data_dir, "list")
    assert receiver.url() in listed and SECRET not in listed, "the secret is shown once, when it is made"
    added = homeport(hooked.data_dir, "add", receiver.url("127.0.0.2"), "--events", "response.completed")
    endpoint_id, secret = added.split()[:2]
    assert endpoint_id.startswith("we_") and secret.startswith("whsec_")
    # A loopback address the operator did not allow is refused at delivery, and the reason is recorded.
    background(hooked.client())
    deadline = time.monotonic() + 20
    refused = ""
    while "HOMEPORT_OUTBOUND_ALLOW" not in refused and time.monotonic() < deadline:
        time.sleep(0.2)
        refused = next(
            (line for line in homeport(hooked.data_dir, "deliveries").splitlines() if endpoint_id in line), ""
        )
    assert "HOMEPORT_OUTBOUND_ALLOW" in refused
    homeport(hooked.data_dir, "remove", endpoint_id)
    assert endpoint_id not in homeport(hooked.data_dir, "list")


@pytest.mark.parametrize(
    "args",
    [("add", "ftp://example.com/x"), ("add", "https://example.com/x", "--secret", "plain"),
     ("add", "https://example.com/x", "--events", "response.done"), ("remove", "we_nope")],
)  # fmt: skip
def test_bad_webhook_commands_say_what_is_wrong(tmp_path: Path, args: tuple[str, ...]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "homeport.cli", "webhooks", *args, "--data-dir", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode != 0 and done.stderr.strip()


def test_a_project_manages_its_own_endpoints_through_the_api(hooked: Server, receiver: Receiver) -> None:
    client = hooked.client()
    made = client.webhooks.create(name="mine", url=receiver.url(), event_types=["response.failed"])
    assert made.id.startswith("we_") and made.signing_secret.startswith("whsec_") and made.name == "mine"
    shown = client.webhooks.retrieve(made.id)
    assert shown.signing_secret_hint and made.signing_secret not in shown.model_dump_json()
    assert made.id in [endpoint.id for endpoint in client.webhooks.list()]
    updated = client.webhooks.update(made.id, event_types=["response.completed"], name="renamed")
    assert updated.event_types == ["response.completed"] and updated.name == "renamed" and updated.updated_at
    # A test delivery is signed with the endpoint's own secret: the receiver refuses it (400) until it knows it.
    assert client.webhooks.test(made.id, event_type="response.completed").status_code == 400
    receiver.secrets.append(made.signing_secret)
    tested = client.webhooks.test(made.id, event_type="response.completed")
    assert tested.success and tested.status_code == 200 and tested.webhook_endpoint_id == made.id
    assert receiver.verified[-1].type == "response.completed" and receiver.verified[-1].data.id.startswith("resp_")
    rotated = client.webhooks.rotate_secret(made.id)
    assert rotated.signing_secret != made.signing_secret
    receiver.secrets.remove(made.signing_secret)
    assert client.webhooks.test(made.id, event_type="response.completed").status_code == 400, "the old one is gone"
    with pytest.raises(openai.BadRequestError) as kept:
        client.webhooks.rotate_secret(made.id, keep_old_secret_active_for_24_hours=True)
    assert kept.value.body["param"] == "keep_old_secret_active_for_24_hours"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as unknown:
        client.webhooks.create(name="x", url=receiver.url(), event_types=["video.completed"])
    assert unknown.value.body["param"] == "event_types[0]"  # type: ignore[index]
    assert client.webhooks.delete(made.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.webhooks.retrieve(made.id)
