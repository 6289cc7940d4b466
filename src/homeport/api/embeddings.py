"""HTTP for /v1/embeddings: OpenAI's request and response, served by the local model (`retrieval.Embedder`).

Every name in `OPENAI_MODELS`, and the local name `all-minilm-l6-v2`, is answered by the one local model
(all-MiniLM-L6-v2, 384 dimensions); the response echoes the name that was asked for. Any other name is a 404.
Where OpenAI's models differ from it, this is what a caller sees:

- Vectors have 384 dimensions whatever the name, so they are comparable only with vectors from this server.
- `dimensions` (text-embedding-3 names and the local name) keeps the first N and rescales them to unit length, as
  OpenAI shortens its vectors. MiniLM was not trained for that, so a short vector loses more than OpenAI's does.
- Token-array inputs are ids of the local tokenizer (WordPiece), not tiktoken's, and every token count (the limits,
  `usage`) is in local tokens.
- `user` is the caller's end-user id, which OpenAI uses to watch for abuse. It has no effect on an embedding: it is
  validated and then not used.
"""

from __future__ import annotations

import base64
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from openai.types import CreateEmbeddingResponse, Embedding
from openai.types.create_embedding_response import Usage
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from homeport.api.auth import project
from homeport.api.body import read_json
from homeport.errors import ContextLengthExceeded, InvalidRequest, ModelNotFound
from homeport.retrieval import Embedder

router = APIRouter(dependencies=[Depends(project)])

FIXED_SIZE_MODELS = frozenset({"text-embedding-ada-002"})
"""Names whose OpenAI model refuses `dimensions`."""
OPENAI_MODELS = frozenset({"text-embedding-3-small", "text-embedding-3-large"}) | FIXED_SIZE_MODELS

# OpenAI's limits: inputs per request, tokens per input, and tokens summed over a request's inputs. The last also
# bounds the work of one request: 300,000 tokens are about a minute of both cores.
MAX_INPUTS = 2048
MAX_INPUT_TOKENS = 8192
MAX_REQUEST_TOKENS = 300_000


class CreateEmbeddingParams(BaseModel):
    """`EmbeddingCreateParams`. Strict, as OpenAI is: `"1"` is not a token id and `true` is not a number."""

    model_config = ConfigDict(extra="forbid", strict=True)

    input: str | list[str] | list[int] | list[list[int]]
    model: str
    dimensions: int | None = None
    encoding_format: Literal["float", "base64"] | None = None
    user: str | None = Field(None, max_length=512)

    def inputs(self) -> list[str] | list[list[int]]:
        """The inputs as a list: of texts, or of token-id arrays (a single array is one input)."""
        if isinstance(self.input, str):
            return [self.input]
        if self.input and isinstance(self.input[0], int):
            return [self.input]
        # What is left is a list of texts or of arrays, or empty; mypy cannot tell an empty list[int] apart.
        return cast(list[str] | list[list[int]], self.input)


@router.post("/embeddings")
async def create_embedding(request: Request) -> Any:
    params = await read_json(request, CreateEmbeddingParams)
    embedder: Embedder = request.app.state.embedder
    dimensions = _dimensions(params, embedder)
    inputs = params.inputs()
    _check_count(inputs)
    # Tokenizing and encoding are CPU work: a worker thread keeps the event loop answering other requests.
    vectors, tokens = await run_in_threadpool(_embed, embedder, inputs)
    return JSONResponse(_wire(_shortened(vectors, dimensions), params, tokens))


def _dimensions(params: CreateEmbeddingParams, embedder: Embedder) -> int:
    """The length of the vectors to return; 404 for a model name not served, 400 for a length it cannot give."""
    if params.model not in OPENAI_MODELS and params.model != embedder.name:
        raise ModelNotFound(params.model)
    if params.dimensions is None:
        return embedder.dimensions
    if params.model in FIXED_SIZE_MODELS:
        raise InvalidRequest("This model does not support specifying dimensions.", param="dimensions")
    if not 1 <= params.dimensions <= embedder.dimensions:
        raise InvalidRequest(
            f"Invalid value for 'dimensions': {params.dimensions}. It must be between 1 and {embedder.dimensions}, "
            f"the dimensions of the local model that serves '{params.model}'.",
            param="dimensions",
            code="invalid_value",
        )
    return params.dimensions


def _check_count(inputs: list[str] | list[list[int]]) -> None:
    """400 for no input, an empty one, or more inputs than OpenAI takes; cheap, so it runs before any tokenizing."""
    if not inputs or any(len(item) == 0 for item in inputs):
        raise InvalidRequest(
            "'input' must not be empty, nor hold an empty string or an empty token array.", param="input"
        )
    if len(inputs) > MAX_INPUTS:
        raise InvalidRequest(
            f"'input' holds {len(inputs)} inputs; at most {MAX_INPUTS} are allowed per request.", param="input"
        )


def _embed(embedder: Embedder, inputs: list[str] | list[list[int]]) -> tuple[npt.NDArray[np.float32], int]:
    """Unit vectors of the inputs, in order, and the tokens they were counted as."""
    if isinstance(inputs[0], str):
        ids = embedder.tokenize(inputs)
    else:
        ids = inputs
        _check_vocabulary(ids, embedder.vocab_size)
    for index, sequence in enumerate(ids):
        if len(sequence) > MAX_INPUT_TOKENS:
            at = "" if len(ids) == 1 else f" (input {index})"
            raise ContextLengthExceeded(
                f"This model's maximum context length is {MAX_INPUT_TOKENS} tokens, however you requested "
                f"{len(sequence)} tokens{at}. Please reduce your input."
            )
    tokens = sum(map(len, ids))
    if tokens > MAX_REQUEST_TOKENS:
        raise InvalidRequest(
            f"Requested {tokens} tokens; at most {MAX_REQUEST_TOKENS} tokens are allowed per request, summed over "
            "all inputs.",
            param="input",
            code="max_tokens_per_request",
        )
    return embedder.embed_ids(ids), tokens


def _check_vocabulary(ids: list[list[int]], vocab_size: int) -> None:
    for sequence in ids:
        outside = next((token for token in sequence if not 0 <= token < vocab_size), None)
        if outside is not None:
            raise InvalidRequest(
                f"Invalid token id {outside} in 'input': token ids are those of the local tokenizer, "
                f"from 0 to {vocab_size - 1}.",
                param="input",
                code="invalid_value",
            )


def _shortened(vectors: npt.NDArray[np.float32], dimensions: int) -> npt.NDArray[np.float32]:
    """The first `dimensions` of each vector, rescaled to unit length (a no-op at full length)."""
    if dimensions == vectors.shape[1]:
        return vectors
    short = vectors[:, :dimensions]
    norms: npt.NDArray[np.float32] = np.linalg.norm(short, axis=1, keepdims=True)
    # A prefix that is all zeros has no direction to keep; it stays zero rather than becoming NaN.
    norms[norms == 0] = 1
    return short / norms


def _wire(vectors: npt.NDArray[np.float32], params: CreateEmbeddingParams, tokens: int) -> dict[str, Any]:
    base64_format = params.encoding_format == "base64"
    data = [
        # The SDK's type describes the float form only. In base64 form OpenAI sends a string in the same field:
        # little-endian float32 bytes, which the SDK decodes (openai/lib/_parsing/_embeddings.py).
        Embedding.model_construct(embedding=_base64(vector), index=index, object="embedding")
        if base64_format
        else Embedding(embedding=vector.tolist(), index=index, object="embedding")
        for index, vector in enumerate(vectors)
    ]
    response = CreateEmbeddingResponse(
        data=data, model=params.model, object="list", usage=Usage(prompt_tokens=tokens, total_tokens=tokens)
    )
    # Without warnings: pydantic would warn that a base64 string is not the list of floats the type names.
    return response.model_dump(mode="json", warnings=not base64_format)


def _base64(vector: npt.NDArray[np.float32]) -> str:
    return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
