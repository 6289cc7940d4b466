"""What is stored survives a restart of the server, and a chain continues across it."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import Server


def test_responses_survive_a_restart(tmp_path: Path) -> None:
    server = Server(tmp_path, env={"HOMEPORT_CONTEXT_SIZE": "1024"}).start()
    try:
        client = server.client()
        response = client.responses.create(model="gpt-4o", input="Remember the word lantern.", max_output_tokens=16)
        items = client.responses.input_items.list(response.id).data
        server.restart()
        client = server.client()
        assert client.responses.retrieve(response.id) == response
        assert client.responses.input_items.list(response.id).data == items
        follow_up = client.responses.create(
            model="gpt-4o", input="Which word?", previous_response_id=response.id, max_output_tokens=16
        )
        assert follow_up.previous_response_id == response.id
    finally:
        server.stop()


@pytest.mark.parametrize("model", ["not-a-model", "missing.gguf"])
def test_unknown_model_refuses_to_start(tmp_path: Path, model: str) -> None:
    server = Server(tmp_path, model=model)
    with pytest.raises(RuntimeError, match="homeport serve exited"):
        server.start()
    assert "Unknown model" in server.log()


def test_ingestion_resumes_after_a_restart(tmp_path: Path) -> None:
    server = Server(tmp_path, env={"HOMEPORT_CONTEXT_SIZE": "1024"}).start()
    try:
        client = server.client()
        text = " ".join(f"Paragraph {n} describes harbour crane number {n} and its cargo." for n in range(6000))
        file = client.files.create(file=("cranes.txt", text.encode()), purpose="assistants")
        store = client.vector_stores.create(name="cranes")
        attached = client.vector_stores.files.create(vector_store_id=store.id, file_id=file.id)
        assert attached.status == "in_progress"
        server.restart()
        client = server.client()
        # The worker finds the unfinished file in the store, not in the memory of the process that was stopped.
        assert client.vector_stores.files.retrieve(file.id, vector_store_id=store.id).status == "in_progress"
        done = client.vector_stores.files.poll(file.id, vector_store_id=store.id, poll_interval_ms=200)
        assert done.status == "completed"
        assert client.vector_stores.search(store.id, query="harbour crane number 5999").data
    finally:
        server.stop()
