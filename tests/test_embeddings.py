"""POST /v1/embeddings through the official client, and the local embedding model below it."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from typing import Any

import numpy as np
import numpy.typing as npt
import openai
import pytest
from openai import OpenAI
from tests.conftest import Server

from homeport.retrieval import Embedder

CAT = "The cat sits on the mat"
KITTEN = "A kitten is resting on a rug"
REVENUE = "Quarterly revenue grew by 8%"

Vector = npt.NDArray[np.float64]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder.packaged(threads=1)


@pytest.fixture(scope="module")
def lenient(server: Server) -> OpenAI:
    """A client as users make one. Without `encoding_format` the SDK asks for base64 and decodes it into floats
    itself; strict validation checks that string against the type's list of floats first, which fails against
    OpenAI's API in the same way, so the strict `client` must ask for `float`."""
    return OpenAI(base_url=server.base_url, api_key="unused")


def _vectors(response: Any) -> list[Vector]:
    assert [item.index for item in response.data] == list(range(len(response.data)))
    return [np.asarray(item.embedding, dtype=np.float64) for item in response.data]


def _unit(vector: Vector) -> bool:
    return abs(float(np.linalg.norm(vector)) - 1) < 1e-5


# The server -----------------------------------------------------------------------------------------------------


def test_single_string(client: OpenAI, embedder: Embedder) -> None:
    response = client.embeddings.create(model="text-embedding-3-small", input=CAT, encoding_format="float")
    (vector,) = _vectors(response)
    assert response.object == "list" and response.model == "text-embedding-3-small"
    assert vector.shape == (384,) and _unit(vector)
    assert np.allclose(vector, embedder.embed([CAT])[0], atol=1e-5)
    assert response.usage.prompt_tokens == response.usage.total_tokens == embedder.count_tokens(CAT)


def test_the_sdks_default_base64_path_and_floats_agree(client: OpenAI, lenient: OpenAI) -> None:
    decoded = _vectors(lenient.embeddings.create(model="all-minilm-l6-v2", input=CAT))[0]
    floats = _vectors(client.embeddings.create(model="all-minilm-l6-v2", input=CAT, encoding_format="float"))[0]
    raw = client.embeddings.with_raw_response.create(model="all-minilm-l6-v2", input=CAT, encoding_format="base64")
    body = json.loads(raw.http_response.text)
    assert body["model"] == "all-minilm-l6-v2" and isinstance(body["data"][0]["embedding"], str)
    wire = np.frombuffer(base64.b64decode(body["data"][0]["embedding"]), dtype="<f4")
    assert np.allclose(decoded, floats, atol=1e-6) and np.allclose(decoded, wire, atol=1e-6)


def test_batch_keeps_order_and_counts_every_token(client: OpenAI, embedder: Embedder) -> None:
    texts = [CAT, KITTEN, REVENUE]
    response = client.embeddings.create(
        model="text-embedding-ada-002", input=texts, user="user-1234", encoding_format="float"
    )
    vectors = _vectors(response)
    assert np.allclose(np.stack(vectors), embedder.embed(texts), atol=1e-5)
    assert response.usage.total_tokens == sum(map(embedder.count_tokens, texts))


def test_token_arrays_embed_as_their_text(lenient: OpenAI, embedder: Embedder) -> None:
    ids = embedder.tokenize([CAT, REVENUE])
    texts = _vectors(lenient.embeddings.create(model="text-embedding-3-small", input=[CAT, REVENUE]))
    arrays = _vectors(lenient.embeddings.create(model="text-embedding-3-small", input=ids))
    single = lenient.embeddings.create(model="text-embedding-3-small", input=ids[0])
    assert np.allclose(np.stack(texts), np.stack(arrays), atol=1e-6)
    assert np.allclose(_vectors(single)[0], texts[0], atol=1e-6)
    assert single.usage.prompt_tokens == len(ids[0])


def test_dimensions_keep_a_unit_length_prefix(client: OpenAI, lenient: OpenAI) -> None:
    full = _vectors(client.embeddings.create(model="text-embedding-3-large", input=CAT, encoding_format="float"))[0]
    for model in ("text-embedding-3-large", "all-minilm-l6-v2"):
        (short,) = _vectors(lenient.embeddings.create(model=model, input=CAT, dimensions=64))
        assert short.shape == (64,) and _unit(short)
        assert np.allclose(short, full[:64] / np.linalg.norm(full[:64]), atol=1e-5)


def test_similar_sentences_are_closer(client: OpenAI) -> None:
    cat, kitten, revenue = _vectors(
        client.embeddings.create(model="text-embedding-3-small", input=[CAT, KITTEN, REVENUE], encoding_format="float")
    )
    assert float(cat @ kitten) > float(cat @ revenue) + 0.3


@pytest.mark.parametrize(
    ("arguments", "param"),
    [
        ({"model": "text-embedding-3-small", "input": CAT, "dimensions": 385}, "dimensions"),
        ({"model": "text-embedding-3-small", "input": CAT, "dimensions": 0}, "dimensions"),
        ({"model": "text-embedding-ada-002", "input": CAT, "dimensions": 64}, "dimensions"),
        ({"model": "text-embedding-3-small", "input": ""}, "input"),
        ({"model": "text-embedding-3-small", "input": []}, "input"),
        ({"model": "text-embedding-3-small", "input": [CAT, ""]}, "input"),
        ({"model": "text-embedding-3-small", "input": [[1, 2], []]}, "input"),
        ({"model": "text-embedding-3-small", "input": ["a"] * 2049}, "input"),
        ({"model": "text-embedding-3-small", "input": [7, 30522]}, "input"),
        ({"model": "text-embedding-3-small", "input": [1] * 8193}, "input"),
        ({"model": "text-embedding-3-small", "input": [[1] * 8192] * 37}, "input"),
        ({"model": "text-embedding-3-small", "input": CAT, "encoding_format": "float16"}, "encoding_format"),
        ({"model": "text-embedding-3-small", "input": CAT, "extra_body": {"truncate": True}}, "truncate"),
    ],
    ids=[
        "dimensions-too-big",
        "dimensions-zero",
        "ada-with-dimensions",
        "empty-string",
        "empty-array",
        "empty-string-in-batch",
        "empty-token-array",
        "too-many-inputs",
        "token-outside-vocabulary",
        "input-too-long",
        "request-too-many-tokens",
        "encoding-format",
        "unknown-field",
    ],
)
def test_bad_requests_name_their_param(client: OpenAI, arguments: dict[str, Any], param: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(**arguments)
    assert caught.value.status_code == 400
    assert caught.value.param == param


def test_unknown_model_is_not_found(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.embeddings.create(model="text-embedding-4", input=CAT)
    assert caught.value.code == "model_not_found" and caught.value.param == "model"


# The model ------------------------------------------------------------------------------------------------------


def test_a_long_text_is_the_weighted_mean_of_its_windows(embedder: Embedder) -> None:
    text = " ".join(f"Sentence number {n} talks about ships, harbours and the sea." for n in range(60))
    ids = embedder.tokenize([text])[0]
    span = embedder.window_tokens - 2
    windows = [ids[start : start + span] for start in range(0, len(ids), span)]
    assert len(windows) >= 3 and embedder.count_tokens(text) == len(ids)
    parts = embedder.embed_ids(windows).astype(np.float64)
    expected = (parts * np.array([len(window) for window in windows])[:, None]).sum(axis=0)
    (vector,) = embedder.embed([text])
    assert _unit(vector) and np.allclose(vector, expected / np.linalg.norm(expected), atol=1e-5)
    # The whole text counts: its embedding differs from its first window's, which is where a cut would stop.
    assert float(vector @ parts[0]) < 0.999


def test_the_model_contract(embedder: Embedder) -> None:
    assert (embedder.dimensions, embedder.window_tokens, embedder.vocab_size) == (384, 256, 30522)
    assert embedder.tokenizer.truncation is None and embedder.tokenizer.padding is None
    assert embedder.count_tokens("hello world") == 2
    vectors = embedder.embed([CAT, "", CAT])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-6)
    assert np.allclose(vectors[0], vectors[2], atol=1e-6)
    assert np.allclose(embedder.embed_ids([[]]), vectors[1:2], atol=1e-6)
    with pytest.raises(ValueError):
        embedder.embed_ids([[embedder.vocab_size]])
    with pytest.raises(ValueError):
        embedder.embed_ids([[2**70]])


def test_serving_path_never_loads_torch() -> None:
    """torch arrives only as a dependency of the model's PyPI package; the server must not pay for it at run time."""
    script = (
        "import sys\n"
        "import homeport.app\n"
        "from homeport.retrieval import Embedder\n"
        "Embedder.packaged(threads=1).embed(['a harbour at dawn'])\n"
        "print(sorted(name for name in ('torch', 'transformers', 'sentence_transformers') if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
