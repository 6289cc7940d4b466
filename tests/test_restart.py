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
