"""`input_file` (Responses) and `file` (Chat Completions) content: the document's text reaches the model.

Token counts prove it on the small model (the text is in the prompt, or the count would not move); the default
model answering from a PDF is in test_docs_examples.
"""

from __future__ import annotations

import base64
import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from openai import OpenAI
from tests.conftest import Server
from tests.documents import make_pdf

PAGES = ["The secret code word is PELICAN.", "Page two says the meeting moved to Thursday at noon."]


@pytest.fixture(scope="module")
def pdf(client: OpenAI) -> tuple[str, bytes]:
    data = make_pdf(PAGES)
    return client.files.create(file=("memo.pdf", data), purpose="user_data").id, data


def _count(client: OpenAI, content: list[dict[str, object]]) -> int:
    return client.responses.input_tokens.count(
        model="gpt-4o",
        input=[{"role": "user", "content": content}],  # type: ignore[list-item]
    ).input_tokens


def test_input_file_text_reaches_the_model(client: OpenAI, pdf: tuple[str, bytes]) -> None:
    file_id, data = pdf
    question = {"type": "input_text", "text": "What is the code word?"}
    bare = _count(client, [question])
    by_id = _count(client, [{"type": "input_file", "file_id": file_id}, question])
    inline = base64.b64encode(data).decode()
    by_data = _count(
        client,
        [
            {"type": "input_file", "filename": "memo.pdf", "file_data": f"data:application/pdf;base64,{inline}"},
            question,
        ],
    )
    assert by_id > bare + 20
    assert by_data == by_id
    response = client.responses.create(
        model="gpt-4o",
        input=[{"role": "user", "content": [{"type": "input_file", "file_id": file_id}, question]}],  # type: ignore[list-item]
        max_output_tokens=16,
    )
    assert response.usage is not None and response.usage.input_tokens == by_id
    items = client.responses.input_items.list(response.id).data
    assert items[0].content[0].type == "input_file"  # type: ignore[union-attr]


def test_input_file_errors(client: OpenAI) -> None:
    latin = client.files.create(file=("latin.txt", "café".encode("latin-1")), purpose="user_data").id
    cases = [
        ({"type": "input_file", "file_id": "file-missing"}, openai.NotFoundError, "input[0].content[0].file_id"),
        (
            {"type": "input_file", "file_url": "http://10.0.0.1/x.pdf"},
            openai.BadRequestError,
            "input[0].content[0].file_url",
        ),
        ({"type": "input_file", "file_data": "aGk="}, openai.BadRequestError, "input[0].content[0].filename"),
        (
            {"type": "input_file", "file_data": "!!", "filename": "a.txt"},
            openai.BadRequestError,
            "input[0].content[0].file_data",
        ),
        ({"type": "input_file", "file_id": latin}, openai.BadRequestError, "input[0].content[0]"),
    ]
    for part, error_type, param in cases:
        with pytest.raises(error_type) as error:
            client.responses.create(model="gpt-4o", input=[{"role": "user", "content": [part]}], max_output_tokens=16)  # type: ignore[list-item]
        assert error.value.param == param  # type: ignore[attr-defined]


def test_chat_file_part(client: OpenAI, pdf: tuple[str, bytes]) -> None:
    file_id, _ = pdf
    question = {"type": "text", "text": "What is the code word?"}

    def prompt_tokens(content: list[dict[str, object]]) -> int:
        completion = client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": content}],  # type: ignore[list-item, misc]
            max_tokens=1,
        )
        assert completion.usage is not None
        return completion.usage.prompt_tokens

    assert prompt_tokens([{"type": "file", "file": {"file_id": file_id}}, question]) > prompt_tokens([question]) + 20
    with pytest.raises(openai.NotFoundError) as error:
        prompt_tokens([{"type": "file", "file": {"file_id": "file-missing"}}, question])
    assert error.value.param == "messages[0].content[0].file.file_id"


@pytest.fixture(scope="module")
def pdf_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PDF served over HTTP on this machine's loopback address."""
    root = tmp_path_factory.mktemp("site")
    (root / "memo.pdf").write_bytes(make_pdf(PAGES))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{site.server_address[1]}/memo.pdf"
    site.shutdown()


@pytest.mark.parametrize("allow_private", [False, True])
def test_file_url_only_where_the_operator_allows(tmp_path: Path, pdf_url: str, allow_private: bool) -> None:
    env = {"HOMEPORT_CONTEXT_SIZE": "1024", "HOMEPORT_FETCH_FILE_URLS": "true"}
    if allow_private:
        env["HOMEPORT_OUTBOUND_ALLOW"] = "127.0.0.1/32"
    server = Server(tmp_path, env=env).start()
    try:
        client = server.client()
        content = [{"type": "input_file", "file_url": pdf_url}, {"type": "input_text", "text": "Code word?"}]
        if not allow_private:
            # Loopback is this server's own network: refused before any connection is made.
            with pytest.raises(openai.BadRequestError) as error:
                _count(client, content)
            assert error.value.param == "input[0].content[0].file_url" and "private" in error.value.message
            return
        assert _count(client, content) > _count(client, content[1:]) + 20
        with pytest.raises(openai.BadRequestError) as missing:
            _count(client, [{"type": "input_file", "file_url": pdf_url.replace("memo", "nothing")}])
        assert missing.value.param == "input[0].content[0].file_url"
    finally:
        server.stop()
