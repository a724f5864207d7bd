"""An IsolationForest as a small ONNX graph: every tree in one ``TreeEnsembleRegressor``.

skl2onnx converts each tree into its own ensemble and a dozen arithmetic nodes (2,710 nodes
for 100 trees): onnxruntime then spends ~0.9 ms on a single row and ~3.7 ms on 64, nearly
all of it per node. Here each leaf carries its share of the forest's mean path length
(the leaf's depth plus the expected depth of the samples left in it, divided by the number of
trees times the expected depth at ``max_samples``), one ensemble sums the shares, and six
nodes turn the sum into scikit-learn's ``decision_function`` (``scores``) and ``predict``
(``label``). ``train.py`` checks the result against scikit-learn.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper
from sklearn.ensemble import IsolationForest


def isolation_forest_onnx(model: IsolationForest, width: int) -> onnx.ModelProto:
    """The model's scores for float32 rows of ``width`` inputs (tensor ``X``)."""
    norm = len(model.estimators_) * expected_depth(model.max_samples_)
    nodes: dict[str, list[Any]] = {k: [] for k in _NODE_ATTRIBUTES}
    targets: dict[str, list[Any]] = {"target_treeids": [], "target_nodeids": [], "weights": []}
    for tree_id, estimator in enumerate(model.estimators_):
        tree = estimator.tree_
        depths = _depths(tree)
        for node in range(tree.node_count):
            leaf = tree.children_left[node] == -1
            nodes["nodes_treeids"].append(tree_id)
            nodes["nodes_nodeids"].append(node)
            nodes["nodes_featureids"].append(0 if leaf else int(tree.feature[node]))
            nodes["nodes_values"].append(0.0 if leaf else _float32_at_most(tree.threshold[node]))
            nodes["nodes_modes"].append("LEAF" if leaf else "BRANCH_LEQ")
            nodes["nodes_truenodeids"].append(0 if leaf else int(tree.children_left[node]))
            nodes["nodes_falsenodeids"].append(0 if leaf else int(tree.children_right[node]))
            if leaf:
                targets["target_treeids"].append(tree_id)
                targets["target_nodeids"].append(node)
                length = depths[node] + expected_depth(int(tree.n_node_samples[node]))
                targets["weights"].append(length / norm)
    count = len(targets["weights"])
    ensemble = helper.make_node(
        "TreeEnsembleRegressor",
        ["X"],
        ["depth"],
        domain="ai.onnx.ml",
        n_targets=1,
        aggregate_function="SUM",
        post_transform="NONE",
        **nodes,
        target_treeids=targets["target_treeids"],
        target_nodeids=targets["target_nodeids"],
        target_ids=[0] * count,
        target_weights=targets["weights"],
    )
    constants = {
        "two": np.array([2.0], dtype=np.float32),
        "offset": np.array([model.offset_], dtype=np.float32),
        "zero": np.array([0.0], dtype=np.float32),
        "inlier": np.array([1], dtype=np.int64),
        "outlier": np.array([-1], dtype=np.int64),
    }
    graph = helper.make_graph(
        [
            ensemble,
            helper.make_node("Neg", ["depth"], ["exponent"]),
            helper.make_node("Pow", ["two", "exponent"], ["anomaly"]),  # 2 ** -(E[h] / c)
            helper.make_node("Neg", ["anomaly"], ["sample_scores"]),
            helper.make_node("Sub", ["sample_scores", "offset"], ["scores"]),
            helper.make_node("Less", ["scores", "zero"], ["unusual"]),
            helper.make_node("Where", ["unusual", "outlier", "inlier"], ["label"]),
        ],
        "isolation_forest",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, width])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, [None, 1]),
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, [None, 1]),
        ],
        initializer=[onnx.numpy_helper.from_array(v, k) for k, v in constants.items()],
    )
    model_proto = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)],
        producer_name="twin-server inference/pump-anomaly/forest.py",
    )
    model_proto.ir_version = 8
    onnx.checker.check_model(model_proto)
    return model_proto


def expected_depth(samples: int) -> float:
    """The mean depth at which a random tree isolates one of ``samples`` points (the
    isolation forest paper's c(n))."""
    if samples <= 1:
        return 0.0
    if samples == 2:
        return 1.0
    return 2.0 * (math.log(samples - 1.0) + np.euler_gamma) - 2.0 * (samples - 1.0) / samples


def _depths(tree: Any) -> list[int]:
    """Each node's depth (the root's is 0)."""
    depths = [0] * tree.node_count
    for node in range(tree.node_count):  # children come after their parent
        for child in (tree.children_left[node], tree.children_right[node]):
            if child != -1:
                depths[child] = depths[node] + 1
    return depths


def _float32_at_most(threshold: float) -> float:
    """The largest float32 not above a (float64) threshold: for a float32 input x,
    ``x <= threshold`` exactly when ``x <=`` it (the nearest float32 could be above, and send
    a value equal to it down the wrong branch)."""
    rounded = np.float32(threshold)
    if rounded > threshold:
        rounded = np.nextafter(rounded, np.float32(-np.inf))
    return float(rounded)


_NODE_ATTRIBUTES = (
    "nodes_treeids",
    "nodes_nodeids",
    "nodes_featureids",
    "nodes_values",
    "nodes_modes",
    "nodes_truenodeids",
    "nodes_falsenodeids",
)
