"""/v1/files and /v1/uploads through the official client: bytes in, the same bytes out, limits while streaming."""

from __future__ import annotations

import hashlib
import io
import os

import httpx2
import openai
import pytest
from openai import OpenAI
from tests.conftest import Server


def test_upload_retrieve_download_delete(client: OpenAI) -> None:
    data = os.urandom(300_000)
    created = client.files.create(file=("notes.bin", io.BytesIO(data)), purpose="user_data")
    assert created.id.startswith("file-") and len(created.id) == 27
    assert (created.bytes, created.filename, created.purpose, created.status) == (
        300_000,
        "notes.bin",
        "user_data",
        "processed",
    )
    assert created.expires_at is None
    assert client.files.retrieve(created.id) == created
    assert client.files.content(created.id).read() == data
    assert created.id in [file.id for file in client.files.list()]
    deleted = client.files.delete(created.id)
    assert (deleted.id, deleted.deleted) == (created.id, True)
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        client.files.content(created.id)


def test_list_filters_by_purpose_and_pages(client: OpenAI) -> None:
    ids = [client.files.create(file=(f"p{i}.txt", b"x"), purpose="vision").id for i in range(3)]
    batch = client.files.create(file=("b.jsonl", b"{}\n"), purpose="batch")
    assert batch.expires_at == batch.created_at + 30 * 86400
    listed = [file.id for file in client.files.list(purpose="vision")]
    assert listed[:3] == ids[::-1]
    assert batch.id not in listed
    first = client.files.list(purpose="vision", limit=2, order="asc")
    assert [file.id for file in first.data] == listed[::-1][:2] and first.has_more
    assert [file.id for file in first.get_next_page().data][0] == listed[::-1][2]


def test_expires_after(client: OpenAI) -> None:
    created = client.files.create(
        file=("e.txt", b"bye"), purpose="assistants", expires_after={"anchor": "created_at", "seconds": 3600}
    )
    assert created.expires_at == created.created_at + 3600
    with pytest.raises(openai.BadRequestError) as error:
        client.files.create(
            file=("e.txt", b"bye"), purpose="assistants", expires_after={"anchor": "created_at", "seconds": 5}
        )
    assert error.value.param == "expires_after.seconds"


def test_bad_uploads_are_refused(client: OpenAI, server: Server) -> None:
    with pytest.raises(openai.BadRequestError) as error:
        client.files.create(file=("a.txt", b"a"), purpose="nonsense")  # type: ignore[arg-type]
    assert error.value.param == "purpose"
    response = httpx2.post(f"{server.base_url}/files", data={"purpose": "user_data"})
    assert response.status_code == 400
    response = httpx2.post(
        f"{server.base_url}/files", data={"purpose": "user_data", "color": "red"}, files={"file": ("a.txt", b"a")}
    )
    assert (response.status_code, response.json()["error"]["param"]) == (400, "color")


def test_too_large_is_refused_while_streaming_and_leaves_nothing(client: OpenAI, server: Server) -> None:
    before = {file.id for file in client.files.list()}

    with pytest.raises(openai.APIStatusError) as error:
        client.files.create(file=("big.bin", b"y" * (8 * 2**20 + 1)), purpose="user_data")
    assert error.value.status_code == 413 and error.value.code == "file_too_large"
    assert {file.id for file in client.files.list()} == before
    assert list((server.data_dir / "files" / ".staging").iterdir()) == []


def test_multipart_upload_with_md5(client: OpenAI) -> None:
    data = os.urandom(50_000)
    upload = client.uploads.create(
        bytes=len(data), filename="big.pdf", mime_type="application/pdf", purpose="assistants"
    )
    assert upload.status == "pending" and upload.expires_at == upload.created_at + 3600
    parts = [client.uploads.parts.create(upload.id, data=data[i : i + 20_000]) for i in range(0, len(data), 20_000)]
    assert all(part.upload_id == upload.id for part in parts)
    with pytest.raises(openai.BadRequestError) as error:
        client.uploads.complete(upload.id, part_ids=[parts[0].id])
    assert error.value.param == "part_ids"
    with pytest.raises(openai.BadRequestError) as error:
        client.uploads.complete(upload.id, part_ids=[part.id for part in parts], md5="0" * 32)
    assert error.value.param == "md5"
    # Parts joined in the order given, not the order sent.
    order = [parts[1], parts[0], parts[2]]
    expected = b"".join(data[parts.index(part) * 20_000 : parts.index(part) * 20_000 + 20_000] for part in order)
    done = client.uploads.complete(
        upload.id, part_ids=[part.id for part in order], md5=hashlib.md5(expected).hexdigest()
    )
    assert done.status == "completed" and done.file is not None
    assert client.files.content(done.file.id).read() == expected
    with pytest.raises(openai.BadRequestError):
        client.uploads.parts.create(upload.id, data=b"more")


def test_upload_chunked_helper_and_cancel(client: OpenAI) -> None:
    data = os.urandom(10_000)
    done = client.uploads.upload_file_chunked(
        file=data,
        filename="x.bin",
        bytes=len(data),
        mime_type="application/octet-stream",
        purpose="user_data",
        part_size=3000,
    )
    assert done.file is not None and client.files.content(done.file.id).read() == data
    upload = client.uploads.create(bytes=10, filename="c.txt", mime_type="text/plain", purpose="user_data")
    client.uploads.parts.create(upload.id, data=b"12345")
    assert client.uploads.cancel(upload.id).status == "cancelled"
    with pytest.raises(openai.BadRequestError):
        client.uploads.complete(upload.id, part_ids=[])
    with pytest.raises(openai.BadRequestError) as error:
        client.uploads.create(bytes=2**40, filename="huge", mime_type="text/plain", purpose="user_data")
    assert error.value.param == "bytes"
