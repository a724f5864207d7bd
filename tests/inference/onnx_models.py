"""Small real ONNX models for the model-operations tests, built here with onnx.helper and
run by onnxruntime like any model: a linear scorer (exact, known outputs) and a table lookup
that fails at run time on an index out of its table (a model that errors on some inputs)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def linear(weights: list[float], bias: float = 0.0) -> bytes:
    """scores = X @ weights + bias, X of shape [N, len(weights)]."""
    w = numpy_helper.from_array(np.array(weights, dtype=np.float32).reshape(-1, 1), "W")
    b = numpy_helper.from_array(np.array([bias], dtype=np.float32), "B")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["X", "W"], ["XW"]),
            helper.make_node("Add", ["XW", "B"], ["scores"]),
        ],
        "linear",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, len(weights)])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [None, 1])],
        initializer=[w, b],
    )
    return _serialize(graph)


def with_confidence(weights: list[float]) -> bytes:
    """scores = X @ weights, and confidence = sigmoid(scores)."""
    w = numpy_helper.from_array(np.array(weights, dtype=np.float32).reshape(-1, 1), "W")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["X", "W"], ["scores"]),
            helper.make_node("Sigmoid", ["scores"], ["confidence"]),
        ],
        "confident",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, len(weights)])],
        [
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, [None, 1]),
            helper.make_tensor_value_info("confidence", TensorProto.FLOAT, [None, 1]),
        ],
        initializer=[w],
    )
    return _serialize(graph)


def lookup(table: list[float]) -> bytes:
    """scores = table[int(X[:, 0])]: an index past the table fails the whole call."""
    t = numpy_helper.from_array(np.array(table, dtype=np.float32), "T")
    graph = helper.make_graph(
        [
            helper.make_node("Cast", ["X"], ["I"], to=TensorProto.INT64),
            helper.make_node("Gather", ["T", "I"], ["scores"], axis=0),
        ],
        "lookup",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 1])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [None, 1])],
        initializer=[t],
    )
    return _serialize(graph)


def _serialize(graph: onnx.GraphProto) -> bytes:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def version(
    model_id: str,
    number: str,
    blob: bytes,
    inputs: list[str],
    *,
    output: str = "score",
    reference: dict[str, Any] | None = None,
    sha256: str | None = None,
) -> dict[str, Any]:
    """The body of POST /inference/models/{id}/versions."""
    manifest = {
        "id": model_id,
        "version": number,
        "file": "model.onnx",
        "sha256": sha256 or hashlib.sha256(blob).hexdigest(),
        "inputs": [{"name": n, "tensor": "X", "index": i} for i, n in enumerate(inputs)],
        "outputs": [{"tensor": "scores", "property": output}],
        "reference": reference or {},
    }
    return {"manifest": manifest, "onnx": base64.b64encode(blob).decode()}
