"""Bearer keys: 401 without a good key, and each key's project sees only its own objects."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import openai
import pytest
from tests.conftest import Server


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(
        Path(tmp_path_factory.mktemp("keyed")),
        env={"HOMEPORT_API_KEYS": "team-a:sk-a,sk-b", "HOMEPORT_CONTEXT_SIZE": "1024"},
    ).start()
    yield running
    running.stop()


def test_missing_or_wrong_key_is_401(keyed_server: Server) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        keyed_server.client(api_key="sk-wrong").models.list()
    assert caught.value.code == "invalid_api_key"
    missing = httpx2.get(f"{keyed_server.base_url}/models")
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "invalid_api_key"


def test_objects_are_scoped_to_their_keys_project(keyed_server: Server) -> None:
    team_a = keyed_server.client(api_key="sk-a")
    team_b = keyed_server.client(api_key="sk-b")
    response = team_a.responses.create(model="gpt-4o", input="Secret plans", max_output_tokens=16)
    assert team_a.responses.retrieve(response.id).id == response.id
    with pytest.raises(openai.NotFoundError):
        team_b.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError):
        team_b.responses.create(model="gpt-4o", input="Continue", previous_response_id=response.id)
    with pytest.raises(openai.NotFoundError):
        team_b.responses.delete(response.id)
    assert team_a.responses.retrieve(response.id).id == response.id


def test_stored_chat_completions_are_scoped_to_their_keys_project(keyed_server: Server) -> None:
    team_a = keyed_server.client(api_key="sk-a")
    team_b = keyed_server.client(api_key="sk-b")
    completion = team_a.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Secret plans"}], max_tokens=2, store=True
    )
    assert [stored.id for stored in team_a.chat.completions.list()] == [completion.id]
    assert team_b.chat.completions.list().data == []
    for attempt in (
        lambda: team_b.chat.completions.retrieve(completion.id),
        lambda: team_b.chat.completions.update(completion.id, metadata={"taken": "yes"}),
        lambda: team_b.chat.completions.delete(completion.id),
        lambda: team_b.chat.completions.messages.list(completion.id),
        lambda: team_b.chat.completions.list(after=completion.id),
    ):
        with pytest.raises(openai.NotFoundError):
            attempt()
    assert team_a.chat.completions.retrieve(completion.id).metadata == {}


def test_files_and_vector_stores_are_scoped_to_their_keys_project(keyed_server: Server) -> None:
    team_a = keyed_server.client(api_key="sk-a")
    team_b = keyed_server.client(api_key="sk-b")
    file = team_a.files.create(file=("plans.txt", b"The launch is on Tuesday."), purpose="assistants")
    store = team_a.vector_stores.create(name="plans", file_ids=[file.id])
    container = team_a.containers.create(name="plans", file_ids=[file.id])
    assert team_b.files.list().data == [] and team_b.vector_stores.list().data == []
    assert team_b.containers.list().data == []
    for attempt in (
        lambda: team_b.files.retrieve(file.id),
        lambda: team_b.files.content(file.id),
        lambda: team_b.files.delete(file.id),
        lambda: team_b.vector_stores.retrieve(store.id),
        lambda: team_b.vector_stores.search(store.id, query="launch"),
        lambda: team_b.vector_stores.files.list(vector_store_id=store.id),
        lambda: team_b.containers.retrieve(container.id),
        lambda: team_b.containers.files.list(container.id),
        lambda: team_b.containers.create(name="theft", file_ids=[file.id]),
        lambda: team_b.responses.create(
            model="gpt-4o", input="When?", tools=[{"type": "file_search", "vector_store_ids": [store.id]}]
        ),
        lambda: team_b.responses.create(
            model="gpt-4o", input=[{"role": "user", "content": [{"type": "input_file", "file_id": file.id}]}]
        ),
    ):
        with pytest.raises(openai.NotFoundError):
            attempt()
    # Team B cannot put team A's file into a store of its own either.
    own = team_b.vector_stores.create(name="mine")
    with pytest.raises(openai.NotFoundError):
        team_b.vector_stores.files.create(vector_store_id=own.id, file_id=file.id)
    assert team_a.files.retrieve(file.id).id == file.id
