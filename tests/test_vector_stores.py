"""Vector stores, their files and batches, and search, through the official client, on real documents."""

from __future__ import annotations

import httpx2
import openai
import pytest
from openai import OpenAI
from tests.conftest import Server
from tests.documents import make_docx, make_html, make_pdf

PDF_PAGES = [
    "Harbor Logistics handbook. Chapter one covers onboarding of new staff and the badge office hours.",
    "Chapter two: the warehouse in Tauranga stores refrigerated kiwifruit at two degrees Celsius.",
    "Chapter three: forklift operators must renew their licence every three years.",
]


@pytest.fixture(scope="module")
def library(client: OpenAI) -> dict[str, str]:
    """Three documents in one vector store: a 3-page PDF, a Word file and an HTML page, each with attributes."""
    store = client.vector_stores.create(name="library", metadata={"team": "ops"})
    uploads = {
        "pdf": client.files.create(file=("handbook.pdf", make_pdf(PDF_PAGES)), purpose="assistants"),
        "docx": client.files.create(
            file=("menu.docx", make_docx(["The cafeteria serves pumpkin soup on Fridays."], "Menu")),
            purpose="assistants",
        ),
        "html": client.files.create(
            file=("parking.html", make_html("Parking", ["Visitors park in bay C near the north gate."])),
            purpose="assistants",
        ),
    }
    attributes = {"pdf": {"kind": "manual", "year": 2024}, "docx": {"kind": "menu", "year": 2023}, "html": {}}
    for name, file in uploads.items():
        attached = client.vector_stores.files.create_and_poll(
            vector_store_id=store.id, file_id=file.id, attributes=attributes[name]
        )
        assert attached.status == "completed", attached.last_error
        assert attached.id == file.id and attached.usage_bytes > 0
    return {"store": store.id, **{name: file.id for name, file in uploads.items()}}


def test_store_lifecycle(client: OpenAI) -> None:
    store = client.vector_stores.create(
        name="tmp", metadata={"a": "1"}, expires_after={"anchor": "last_active_at", "days": 7}
    )
    assert store.id.startswith("vs_") and len(store.id) == 35
    assert (store.status, store.file_counts.total, store.usage_bytes) == ("completed", 0, 0)
    assert store.expires_after is not None and store.expires_at == store.last_active_at + 7 * 86400
    assert client.vector_stores.retrieve(store.id) == store
    updated = client.vector_stores.update(store.id, name="renamed", metadata={"b": "2"}, expires_after=None)
    assert (updated.name, updated.metadata, updated.expires_at) == ("renamed", {"b": "2"}, None)
    assert store.id in [listed.id for listed in client.vector_stores.list()]
    deleted = client.vector_stores.delete(store.id)
    assert deleted.deleted and deleted.object == "vector_store.deleted"
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.retrieve(store.id)


def test_store_counts_and_usage(client: OpenAI, library: dict[str, str]) -> None:
    store = client.vector_stores.retrieve(library["store"])
    assert store.file_counts.completed == 3 and store.file_counts.total == 3
    assert store.status == "completed" and store.usage_bytes > 0
    listed = client.vector_stores.files.list(vector_store_id=library["store"], filter="completed")
    assert {file.id for file in listed} == {library["pdf"], library["docx"], library["html"]}
    chunking = listed.data[0].chunking_strategy
    assert chunking is not None and chunking.type == "static"
    assert (chunking.static.max_chunk_size_tokens, chunking.static.chunk_overlap_tokens) == (800, 400)


def test_search_finds_the_right_page_of_the_pdf(client: OpenAI, library: dict[str, str]) -> None:
    page = client.vector_stores.search(library["store"], query="At what temperature is kiwifruit stored?")
    results = page.data
    assert results[0].file_id == library["pdf"] and results[0].filename == "handbook.pdf"
    assert "two degrees Celsius" in results[0].content[0].text
    assert all(0 <= result.score <= 1 for result in results)
    assert [result.score for result in results] == sorted((result.score for result in results), reverse=True)
    assert results[0].attributes == {"kind": "manual", "year": 2024}


def test_search_other_formats(client: OpenAI, library: dict[str, str]) -> None:
    soup = client.vector_stores.search(library["store"], query="Which soup is served on Fridays?").data
    assert soup[0].file_id == library["docx"] and "pumpkin soup" in soup[0].content[0].text
    parking = client.vector_stores.search(library["store"], query="where do visitors park").data
    assert parking[0].file_id == library["html"]
    assert "script text" not in parking[0].content[0].text


def test_search_filters_and_options(client: OpenAI, library: dict[str, str]) -> None:
    store = library["store"]
    menus = client.vector_stores.search(store, query="soup", filters={"type": "eq", "key": "kind", "value": "menu"})
    assert {result.file_id for result in menus.data} == {library["docx"]}
    recent = client.vector_stores.search(
        store,
        query="kiwifruit",
        filters={
            "type": "or",
            "filters": [
                {"type": "gte", "key": "year", "value": 2024},
                {"type": "in", "key": "kind", "value": ["nothing"]},
            ],
        },
    )
    assert {result.file_id for result in recent.data} == {library["pdf"]}
    one = client.vector_stores.search(store, query=["kiwifruit", "soup"], max_num_results=1)
    assert len(one.data) == 1
    strict = client.vector_stores.search(
        store, query="kiwifruit", ranking_options={"ranker": "auto", "score_threshold": 0.99}
    )
    assert all(result.score >= 0.99 for result in strict.data)


def test_rewrite_query_is_reported(client: OpenAI, library: dict[str, str], server: Server) -> None:
    response = httpx2.post(
        f"{server.base_url}/vector_stores/{library['store']}/search",
        json={"query": "What is the temperature of the kiwifruit?", "rewrite_query": True},
    )
    body = response.json()
    assert body["object"] == "vector_store.search_results.page"
    assert body["search_query"] == ["temperature kiwifruit"]
    assert body["data"][0]["file_id"] == library["pdf"]


def test_file_content_is_the_parsed_chunks(client: OpenAI, library: dict[str, str]) -> None:
    chunks = client.vector_stores.files.content(file_id=library["pdf"], vector_store_id=library["store"])
    text = "\n".join(chunk.text or "" for chunk in chunks)
    assert "Tauranga" in text and "forklift" in text


def test_attributes_update_and_detach(client: OpenAI, library: dict[str, str]) -> None:
    store = library["store"]
    file = client.files.create(file=("note.txt", b"The night shift ends at six in the morning."), purpose="assistants")
    client.vector_stores.files.create_and_poll(vector_store_id=store, file_id=file.id)
    updated = client.vector_stores.files.update(file.id, vector_store_id=store, attributes={"kind": "note"})
    assert updated.attributes == {"kind": "note"}
    found = client.vector_stores.search(
        store, query="night shift", filters={"type": "eq", "key": "kind", "value": "note"}
    )
    assert [result.file_id for result in found.data] == [file.id]
    detached = client.vector_stores.files.delete(file.id, vector_store_id=store)
    assert detached.deleted
    assert file.id not in {r.file_id for r in client.vector_stores.search(store, query="night shift").data}
    assert client.files.retrieve(file.id).id == file.id


def test_deleting_a_file_takes_it_out_of_its_stores(client: OpenAI) -> None:
    store = client.vector_stores.create(name="deletion")
    file = client.files.create(file=("gone.md", b"# Secret\nThe vault code is 4711."), purpose="assistants")
    client.vector_stores.files.create_and_poll(vector_store_id=store.id, file_id=file.id)
    assert client.vector_stores.search(store.id, query="vault code").data
    client.files.delete(file.id)
    assert client.vector_stores.search(store.id, query="vault code").data == []
    assert client.vector_stores.retrieve(store.id).file_counts.total == 0


def test_unreadable_files_fail_with_a_reason(client: OpenAI) -> None:
    store = client.vector_stores.create(name="failures")
    latin = client.files.create(file=("latin.txt", "café crème".encode("latin-1")), purpose="assistants")
    binary = client.files.create(file=("blob.xyz", b"\x00\x01"), purpose="assistants")
    for file, code in ((latin, "invalid_file"), (binary, "unsupported_file")):
        attached = client.vector_stores.files.create_and_poll(vector_store_id=store.id, file_id=file.id)
        assert attached.status == "failed" and attached.last_error is not None
        assert attached.last_error.code == code and attached.last_error.message
    assert client.vector_stores.retrieve(store.id).file_counts.failed == 2


def test_static_chunking(client: OpenAI) -> None:
    text = " ".join(f"Sentence number {n} talks about topic {n}." for n in range(200))
    file = client.files.create(file=("long.txt", text.encode()), purpose="assistants")
    store = client.vector_stores.create(name="chunks")
    client.vector_stores.files.create_and_poll(
        vector_store_id=store.id,
        file_id=file.id,
        chunking_strategy={"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 20}},
    )
    chunks = list(client.vector_stores.files.content(file_id=file.id, vector_store_id=store.id))
    assert len(chunks) > 10
    with pytest.raises(openai.BadRequestError) as error:
        client.vector_stores.files.create(
            vector_store_id=store.id,
            file_id=file.id,
            chunking_strategy={"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 60}},
        )
    assert error.value.param == "chunking_strategy.static.chunk_overlap_tokens"


def test_file_batches(client: OpenAI) -> None:
    store = client.vector_stores.create(name="batch")
    files = [(f"b{n}.txt", f"Batch document {n} mentions lighthouse number {n}.".encode()) for n in range(3)]
    batch = client.vector_stores.file_batches.upload_and_poll(store.id, files=files)
    assert batch.object == "vector_store.files_batch"
    assert (batch.status, batch.file_counts.completed, batch.file_counts.total) == ("completed", 3, 3)
    listed = client.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id)
    assert len(listed.data) == 3
    assert client.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id).id == batch.id
    many = [client.files.create(file=(f"c{n}.txt", b"text " * 200), purpose="assistants").id for n in range(6)]
    started = client.vector_stores.file_batches.create(store.id, file_ids=many)
    cancelled = client.vector_stores.file_batches.cancel(started.id, vector_store_id=store.id)
    assert cancelled.status == "cancelled"
    statuses = {f.status for f in client.vector_stores.file_batches.list_files(started.id, vector_store_id=store.id)}
    assert statuses <= {"completed", "cancelled"}


def test_bad_requests(client: OpenAI, library: dict[str, str]) -> None:
    store = library["store"]
    cases = [
        (lambda: client.vector_stores.retrieve("vs_missing"), openai.NotFoundError, "vector_store_id"),
        (
            lambda: client.vector_stores.files.create(vector_store_id=store, file_id="file-nope"),
            openai.NotFoundError,
            "file_id",
        ),
        (lambda: client.vector_stores.search(store, query=""), openai.BadRequestError, "query"),
        (
            lambda: client.vector_stores.search(store, query="x", max_num_results=51),
            openai.BadRequestError,
            "max_num_results",
        ),
        (
            lambda: client.vector_stores.search(store, query="x", filters={"type": "like", "key": "k", "value": 1}),  # type: ignore[arg-type]
            openai.BadRequestError,
            "filters.type",
        ),
        (
            lambda: client.vector_stores.files.update(
                library["html"], vector_store_id=store, attributes={f"k{n}": n for n in range(17)}
            ),
            openai.BadRequestError,
            "attributes",
        ),
        (lambda: client.vector_stores.create(name="x", extra_body={"colour": "red"}), openai.BadRequestError, "colour"),
        (
            lambda: client.vector_stores.create(name="x", chunking_strategy={"type": "auto"}),
            openai.BadRequestError,
            "chunking_strategy",
        ),
    ]
    for call, error_type, param in cases:
        with pytest.raises(error_type) as error:
            call()
        assert error.value.param == param, (param, error.value)  # type: ignore[attr-defined]
