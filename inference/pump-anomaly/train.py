"""Train the pump anomaly detector and write it as ONNX, with its manifest and evaluation.

    .venv/bin/python inference/pump-anomaly/train.py

An IsolationForest learns healthy pumps from the station simulator
(``twin_server/simulation/pumps.py``), is written as ONNX (``forest.py``: its trees in one
ensemble, the same scores as scikit-learn's) and is checked against held-out healthy and
faulty readings through onnxruntime (the runtime the server uses). The
model outputs ``scores`` (the IsolationForest decision function: lower is more unusual); the
manifest turns it into ``anomalyScore`` = offset - score, higher meaning more anomalous, with
the offset chosen so that 0.5 is the 0.5% most unusual of the healthy training readings
(values over 0.5 are anomalies). Writes ``model.onnx``, ``manifest.json`` (with the model's
SHA-256, the input statistics for drift, and the evaluation) next to this file.
Deterministic: the same seeds give the same model.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
from sklearn.ensemble import IsolationForest
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from forest import isolation_forest_onnx  # noqa: E402

from twin_server.simulation.pumps import FEATURES, faulty_readings, healthy_readings  # noqa: E402

VERSION = "1"


def main() -> int:
    train = np.array(healthy_readings(20_000, seed=1), dtype=np.float32)
    model = IsolationForest(n_estimators=100, max_samples=512, random_state=7).fit(train)
    path = HERE / "model.onnx"
    path.write_bytes(isolation_forest_onnx(model, len(FEATURES)).SerializeToString())
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    _check_against(model, session, train)
    # the operating point: 0.5 at the 0.5% most unusual of the healthy training readings
    trained = session.run(["scores"], {"X": train})[0].ravel()
    offset = 0.5 + float(np.quantile(trained, 0.005))
    healthy = np.array(healthy_readings(4_000, seed=11), dtype=np.float32)
    faulty = np.array(faulty_readings(4_000, seed=12), dtype=np.float32)
    mild = np.array(faulty_readings(4_000, seed=13, level=0.3), dtype=np.float32)
    evaluation = {}
    for name, bad in (("developed faults (level 0.6)", faulty), ("early faults (level 0.3)", mild)):
        rows = np.vstack([healthy, bad])
        truth = np.array([0] * len(healthy) + [1] * len(bad))
        scores = offset - session.run(["scores"], {"X": rows})[0].ravel()
        predicted = (scores > 0.5).astype(int)
        evaluation[name] = {
            "precision": round(float(precision_score(truth, predicted)), 3),
            "recall": round(float(recall_score(truth, predicted)), 3),
            "f1": round(float(f1_score(truth, predicted)), 3),
            "rocAuc": round(float(roc_auc_score(truth, scores)), 3),
        }
    manifest = {
        "id": "pump-anomaly",
        "version": VERSION,
        "file": "model.onnx",
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "description": "Anomalies of a centrifugal pump (cavitation, bearing wear) from its "
        "flow, outlet pressure, speed, motor temperature, current and vibration.",
        "inputs": [{"name": f, "tensor": "X", "index": i} for i, f in enumerate(FEATURES)],
        "outputs": [
            {
                "tensor": "scores",
                "property": "anomalyScore",
                "scale": -1.0,
                "offset": round(offset, 6),
            }
        ],
        "reference": {
            f: {
                "mean": round(float(train[:, i].mean()), 4),
                "std": round(float(train[:, i].std()), 4),
                **_bins(train[:, i]),
            }
            for i, f in enumerate(FEATURES)
        },
        "evaluation": evaluation,
        "training": {"samples": len(train), "simulator": "twin_server/simulation/pumps.py"},
    }
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps(evaluation, indent=2))
    return 0


def _check_against(model: IsolationForest, session: Any, rows: np.ndarray) -> None:
    """The ONNX scores are scikit-learn's (to float32 precision), or the build stops."""
    expected = model.decision_function(rows)
    got = session.run(["scores"], {"X": rows})[0].ravel()
    worst = float(np.max(np.abs(expected - got)))
    if worst > 1e-5:
        raise SystemExit(f"the ONNX scores differ from scikit-learn's by up to {worst}")
    labels = session.run(["label"], {"X": rows})[0].ravel()
    if not np.array_equal(labels, model.predict(rows)):
        raise SystemExit("the ONNX labels differ from scikit-learn's")


def _bins(column: np.ndarray) -> dict[str, list[float]]:
    """Decile edges of a training input and the share of training rows in each bin, the
    reference the server's drift check (PSI) compares live inputs with."""
    edges = [round(float(e), 4) for e in np.quantile(column, np.linspace(0.1, 0.9, 9))]
    counts = np.bincount(np.searchsorted(edges, column, side="right"), minlength=len(edges) + 1)
    return {"edges": edges, "fractions": [round(float(c) / len(column), 4) for c in counts]}


if __name__ == "__main__":
    sys.exit(main())
