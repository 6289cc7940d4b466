"""Embeddings as OpenAI's API gives them, from the local model (`Embedder`): names, limits, dimensions.

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

import numpy as np
import numpy.typing as npt

from homeport.errors import ContextLengthExceeded, InvalidRequest, ModelNotFound
from homeport.retrieval.embedder import Embedder

FIXED_SIZE_MODELS = frozenset({"text-embedding-ada-002"})
"""Names whose OpenAI model refuses `dimensions`."""
OPENAI_MODELS = frozenset({"text-embedding-3-small", "text-embedding-3-large"}) | FIXED_SIZE_MODELS

# OpenAI's limits: inputs per request, tokens per input, and tokens summed over a request's inputs. The last also
# bounds the work of one request: 300,000 tokens are about a minute of both cores.
MAX_INPUTS = 2048
MAX_INPUT_TOKENS = 8192
MAX_REQUEST_TOKENS = 300_000


def output_dimensions(model: str, dimensions: int | None, embedder: Embedder) -> int:
    """The length of the vectors to return; 404 for a model name not served, 400 for a length it cannot give."""
    if model not in OPENAI_MODELS and model != embedder.name:
        raise ModelNotFound(model)
    if dimensions is None:
        return embedder.dimensions
    if model in FIXED_SIZE_MODELS:
        raise InvalidRequest("This model does not support specifying dimensions.", param="dimensions")
    if not 1 <= dimensions <= embedder.dimensions:
        raise InvalidRequest(
            f"Invalid value for 'dimensions': {dimensions}. It must be between 1 and {embedder.dimensions}, "
            f"the dimensions of the local model that serves '{model}'.",
            param="dimensions",
            code="invalid_value",
        )
    return dimensions


def check_inputs(inputs: list[str] | list[list[int]]) -> None:
    """400 for no input, an empty one, or more inputs than OpenAI takes; cheap, so it runs before any tokenizing."""
    if not inputs or any(len(item) == 0 for item in inputs):
        raise InvalidRequest(
            "'input' must not be empty, nor hold an empty string or an empty token array.", param="input"
        )
    if len(inputs) > MAX_INPUTS:
        raise InvalidRequest(
            f"'input' holds {len(inputs)} inputs; at most {MAX_INPUTS} are allowed per request.", param="input"
        )


def embed_inputs(embedder: Embedder, inputs: list[str] | list[list[int]]) -> tuple[npt.NDArray[np.float32], int]:
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


def shortened(vectors: npt.NDArray[np.float32], dimensions: int) -> npt.NDArray[np.float32]:
    """The first `dimensions` of each vector, rescaled to unit length (a no-op at full length)."""
    if dimensions == vectors.shape[1]:
        return vectors
    short = vectors[:, :dimensions]
    norms: npt.NDArray[np.float32] = np.linalg.norm(short, axis=1, keepdims=True)
    # A prefix that is all zeros has no direction to keep; it stays zero rather than becoming NaN.
    norms[norms == 0] = 1
    return short / norms
