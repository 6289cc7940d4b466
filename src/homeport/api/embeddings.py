"""HTTP for /v1/embeddings: OpenAI's request and response shapes; the behaviour is `retrieval.embeddings`."""

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
from homeport.retrieval import Embedder
from homeport.retrieval.embeddings import check_inputs, embed_inputs, output_dimensions, shortened

router = APIRouter(dependencies=[Depends(project)])


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
    dimensions = output_dimensions(params.model, params.dimensions, embedder)
    inputs = params.inputs()
    check_inputs(inputs)
    # Tokenizing and encoding are CPU work: a worker thread keeps the event loop answering other requests.
    vectors, tokens = await run_in_threadpool(embed_inputs, embedder, inputs)
    return JSONResponse(_wire(shortened(vectors, dimensions), params, tokens))


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
