"""A BERT sentence encoder (mean pooling, unit length) as an ONNX Runtime session, built in memory from its weights.

Why ONNX Runtime rather than numpy: on 2 cores the same forward pass ran about 3x faster here (ONNX Runtime's fused
CPU kernels: `Attention`, `SkipLayerNormalization`, `BiasGelu`), and a session takes a thread count of its own, where
numpy's BLAS threads are a process-wide setting. `bench/embeddings.py` measures both.

Why built here rather than shipped as a `.onnx` file: the packaged model ships safetensors only, and building the
graph needs neither torch nor a conversion step. The weights go to the session as external initializers, so they are
never copied into a protobuf; loading costs a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from onnx import ModelProto, NodeProto, TensorProto, helper, numpy_helper

Weights = Mapping[str, npt.NDArray[Any]]

INPUT_IDS = "input_ids"
ATTENTION_MASK = "attention_mask"
EMBEDDING = "embedding"

# Opset 18: LayerNormalization (17) and ReduceL2 with its axes as an input (18). The com.microsoft ops are ONNX
# Runtime's fused CPU kernels.
_OPSETS = [helper.make_opsetid("", 18), helper.make_opsetid("com.microsoft", 1)]
_MS = "com.microsoft"


@dataclass(frozen=True)
class BertShape:
    """The few numbers of a Hugging Face `config.json` that the graph depends on."""

    layers: int
    hidden: int
    heads: int
    layer_norm_eps: float
    vocab_size: int
    max_positions: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> BertShape:
        """Refuses what the graph does not implement, rather than computing something else."""
        if config.get("hidden_act") != "gelu" or config.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError("only BERT encoders with exact GELU and absolute positions are supported")
        return cls(
            layers=int(config["num_hidden_layers"]),
            hidden=int(config["hidden_size"]),
            heads=int(config["num_attention_heads"]),
            layer_norm_eps=float(config["layer_norm_eps"]),
            vocab_size=int(config["vocab_size"]),
            max_positions=int(config["max_position_embeddings"]),
        )


class _Graph:
    """Nodes and weights of the graph under construction; each helper returns the name of the value it makes."""

    def __init__(self) -> None:
        self.nodes: list[NodeProto] = []
        self.placeholders: list[TensorProto] = []
        """Initializers: external placeholders of the weights, inline small constants."""
        self.weights: dict[str, npt.NDArray[Any]] = {}

    def weight(self, name: str, array: npt.NDArray[Any]) -> str:
        # An initializer marked external: the session takes its data from `add_external_initializers`.
        array = np.ascontiguousarray(array)
        placeholder = TensorProto(
            name=name,
            data_type=helper.np_dtype_to_tensor_dtype(array.dtype),
            dims=array.shape,
            data_location=TensorProto.EXTERNAL,
        )
        for key, value in (("location", name), ("offset", "0"), ("length", str(array.nbytes))):
            placeholder.external_data.add(key=key, value=value)
        self.placeholders.append(placeholder)
        self.weights[name] = array
        return name

    def constant(self, name: str, values: list[int]) -> str:
        # Inline, not external: shape inference reads these (axes, slice bounds) while the session is built.
        self.placeholders.append(numpy_helper.from_array(np.array(values, np.int64), name))
        return name

    def op(self, op_type: str, *inputs: str, domain: str | None = None, **attributes: Any) -> str:
        output = f"{op_type.lower()}_{len(self.nodes)}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [output], domain=domain, **attributes))
        return output


def _embeddings(graph: _Graph, weights: Weights, shape: BertShape) -> str:
    """Word + position + token-type (always type 0: one segment) embeddings, layer-normalised."""
    one = graph.constant("one", [1])
    length = graph.op("Slice", graph.op("Shape", INPUT_IDS), one, graph.constant("two", [2]))
    positions = graph.op(
        "Slice",
        graph.weight("position_table", weights["embeddings.position_embeddings.weight"]),
        graph.constant("zero", [0]),
        length,
    )
    words = graph.op("Gather", graph.weight("word_table", weights["embeddings.word_embeddings.weight"]), INPUT_IDS)
    segment = graph.weight("segment", weights["embeddings.token_type_embeddings.weight"][0])
    summed = graph.op("Add", graph.op("Add", words, positions), segment)
    scale = graph.weight("embeddings.ln.weight", weights["embeddings.LayerNorm.weight"])
    bias = graph.weight("embeddings.ln.bias", weights["embeddings.LayerNorm.bias"])
    return graph.op("LayerNormalization", summed, scale, bias, axis=-1, epsilon=shape.layer_norm_eps)


def _layer(graph: _Graph, weights: Weights, shape: BertShape, index: int, hidden: str, mask: str) -> str:
    """One transformer block: fused self-attention, then the feed-forward, each with residual and LayerNorm."""
    source = f"encoder.layer.{index}."

    def w(name: str, transpose: bool = False) -> str:
        array = weights[source + name]
        return graph.weight(f"{index}.{name}", array.T if transpose else array)

    projections = ("query", "key", "value")
    qkv = np.concatenate([weights[f"{source}attention.self.{p}.weight"] for p in projections]).T
    qkv_bias = np.concatenate([weights[f"{source}attention.self.{p}.bias"] for p in projections])
    attended = graph.op(
        "Attention",
        hidden,
        graph.weight(f"{index}.qkv.weight", qkv),
        graph.weight(f"{index}.qkv.bias", qkv_bias),
        mask,
        domain=_MS,
        num_heads=shape.heads,
    )
    projected = graph.op("MatMul", attended, w("attention.output.dense.weight", transpose=True))
    hidden = graph.op(
        "SkipLayerNormalization",
        projected,
        hidden,
        w("attention.output.LayerNorm.weight"),
        w("attention.output.LayerNorm.bias"),
        w("attention.output.dense.bias"),
        domain=_MS,
        epsilon=shape.layer_norm_eps,
    )
    inner = graph.op("MatMul", hidden, w("intermediate.dense.weight", transpose=True))
    activated = graph.op("BiasGelu", inner, w("intermediate.dense.bias"), domain=_MS)  # exact (erf) GELU
    outer = graph.op("MatMul", activated, w("output.dense.weight", transpose=True))
    return graph.op(
        "SkipLayerNormalization",
        outer,
        hidden,
        w("output.LayerNorm.weight"),
        w("output.LayerNorm.bias"),
        w("output.dense.bias"),
        domain=_MS,
        epsilon=shape.layer_norm_eps,
    )


def _pooled(graph: _Graph, hidden: str, mask: str) -> str:
    """Mean of the token vectors under the attention mask, scaled to unit length (sentence-transformers' pooling)."""
    last = graph.constant("last_axis", [-1])
    summed = graph.op("ReduceSum", graph.op("Mul", hidden, graph.op("Unsqueeze", mask, last)), "one", keepdims=0)
    mean = graph.op("Div", summed, graph.op("ReduceSum", mask, "one", keepdims=1))
    return graph.op("Div", mean, graph.op("ReduceL2", mean, last, keepdims=1))


class SentenceEncoder:
    """The built session, and the weights it reads in place: ONNX Runtime does not own external initializers, so
    they live exactly as long as this object."""

    def __init__(self, weights: Weights, shape: BertShape, threads: int | None) -> None:
        graph = _Graph()
        model = _model(graph, weights, shape)
        options = ort.SessionOptions()
        # None lets ONNX Runtime use every physical core.
        options.intra_op_num_threads = threads or 0
        options.inter_op_num_threads = 1
        # Idle pool threads sleep instead of spinning: they share the cores with the LLM engine.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        names = list(graph.weights)
        self._values = [ort.OrtValue.ortvalue_from_numpy(graph.weights[name]) for name in names]
        options.add_external_initializers(names, self._values)
        self._session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])

    def __call__(self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        """Unit-length embeddings (batch x hidden) of padded `ids` (batch x length); `mask` is 1 on real tokens.
        Thread-safe: ONNX Runtime allows concurrent runs of one session."""
        outputs = self._session.run([EMBEDDING], {INPUT_IDS: ids, ATTENTION_MASK: mask})
        return np.asarray(outputs[0], dtype=np.float32)


def _model(graph: _Graph, weights: Weights, shape: BertShape) -> ModelProto:
    hidden = _embeddings(graph, weights, shape)
    mask_int = graph.op("Cast", ATTENTION_MASK, to=TensorProto.INT32)
    for index in range(shape.layers):
        hidden = _layer(graph, weights, shape, index, hidden, mask_int)
    pooled = _pooled(graph, hidden, graph.op("Cast", ATTENTION_MASK, to=TensorProto.FLOAT))
    graph.nodes.append(helper.make_node("Identity", [pooled], [EMBEDDING]))
    dims = ["batch", "length"]
    return helper.make_model(
        helper.make_graph(
            graph.nodes,
            "sentence_encoder",
            [helper.make_tensor_value_info(name, TensorProto.INT64, dims) for name in (INPUT_IDS, ATTENTION_MASK)],
            [helper.make_tensor_value_info(EMBEDDING, TensorProto.FLOAT, ["batch", shape.hidden])],
            initializer=graph.placeholders,
        ),
        opset_imports=_OPSETS,
    )
