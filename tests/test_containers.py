"""The Containers API and container files, through the official client."""

from __future__ import annotations

import time
from pathlib import Path

import openai
import pytest
from openai import OpenAI

from homeport.errors import InvalidRequest
from homeport.files.blobs import BlobStore
from homeport.files.service import FileService
from homeport.sandbox.containers import ContainerService
from homeport.store import ContainerRepository, Database, FileRepository


def test_container_lifecycle(client: OpenAI) -> None:
    container = client.containers.create(name="analysis", expires_after={"anchor": "last_active_at", "minutes": 5})
    assert container.id.startswith("cntr_") and container.status == "running" and container.object == "container"
    assert container.expires_after is not None and container.expires_after.minutes == 5
    assert container.memory_limit == "1g"
    assert client.containers.retrieve(container.id).name == "analysis"
    assert container.id in [listed.id for listed in client.containers.list()]
    client.containers.delete(container.id)
    with pytest.raises(openai.NotFoundError):
        client.containers.retrieve(container.id)


def test_container_files(client: OpenAI) -> None:
    uploaded = client.files.create(file=("sales.csv", b"month,total\njan,10\nfeb,12\n"), purpose="user_data")
    container = client.containers.create(name="files", file_ids=[uploaded.id], memory_limit="4g")
    assert container.memory_limit == "4g"
    listed = client.containers.files.list(container.id).data
    assert [(file.path, file.source, file.bytes) for file in listed] == [("/mnt/data/sales.csv", "user", 26)]
    direct = client.containers.files.create(container.id, file=("notes.txt", b"hello"))
    assert direct.object == "container.file" and direct.path == "/mnt/data/notes.txt" and direct.id.startswith("cfile_")
    copied = client.containers.files.create(container.id, file_id=uploaded.id)
    assert copied.path == "/mnt/data/sales.csv"
    assert client.containers.files.retrieve(direct.id, container_id=container.id).bytes == 5
    assert client.containers.files.content.retrieve(direct.id, container_id=container.id).read() == b"hello"
    client.containers.files.delete(direct.id, container_id=container.id)
    assert [file.path for file in client.containers.files.list(container.id)] == ["/mnt/data/sales.csv"]
    with pytest.raises(openai.NotFoundError):
        client.containers.files.retrieve(direct.id, container_id=container.id)


def test_bad_container_requests(client: OpenAI) -> None:
    cases = [
        (lambda: client.containers.create(name="x", memory_limit="2g"), "memory_limit"),  # type: ignore[arg-type]
        (lambda: client.containers.create(name="x", file_ids=["file-missing"]), "file_ids[0]"),
        (
            lambda: client.containers.create(
                name="x", network_policy={"type": "allowlist", "allowed_domains": ["example.com"]}
            ),
            "network_policy.type",
        ),
        (lambda: client.containers.create(name="x", expires_after={"anchor": "last_active_at", "minutes": 0}),
         "expires_after.minutes"),
    ]  # fmt: skip
    for call, param in cases:
        with pytest.raises(openai.APIStatusError) as error:
            call()
        assert error.value.status_code in (400, 404) and error.value.body["param"] == param  # type: ignore[index]


async def test_expiry_removes_files_and_keeps_metadata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'homeport.db'}")
    try:
        files = FileService(FileRepository(database), BlobStore(tmp_path / "files"), max_bytes=1 << 20)
        service = ContainerService(ContainerRepository(database), files, tmp_path / "containers")
        container = await service.create("p", "short", 1, "1g", [])
        staged = files.blobs.stage(1 << 20)
        staged.write(b"data")
        await service.add_upload(container, staged, "a.txt")
        assert (service.directory(container.id) / "a.txt").exists()
        later = time.time() + 61
        monkeypatch.setattr("homeport.sandbox.containers.time.time", lambda: later)
        assert (await service.get("p", container.id)).status == "expired"
        assert not service.directory(container.id).exists()
        assert await service.files(container) == []
        with pytest.raises(InvalidRequest) as error:
            await service.usable("p", container.id)
        assert "expired" in str(error.value)
        assert await service.sweep() == 0
    finally:
        await database.close()
