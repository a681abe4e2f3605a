"""The audio-to-face network: a per-frame mel projection, then an MLP over a short window.

Input: ``CONTEXT`` past log-mel frames, the current one and ``LOOKAHEAD`` future ones
(T = CONTEXT + 1 + LOOKAHEAD). Each frame is projected 80 -> PROJ (shared weights, ReLU),
the window is flattened and two dense layers map it to the mouth parameters, clipped to 0..1.
Input normalisation (training-set mean/std per mel bin) is folded into the first layer at
export, so the ONNX graph is MatMul/Add/Relu/Reshape/Gemm/Clip only (opset 17).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

CONTEXT = 20
LOOKAHEAD = 4
WINDOW = CONTEXT + 1 + LOOKAHEAD
PROJ = 64
HIDDEN = (256, 128)

F32 = npt.NDArray[np.float32]
Params = dict[str, Any]


def init_params(rng: np.random.Generator, n_mels: int, n_out: int) -> Params:
    def dense(n_in: int, n: int) -> tuple[F32, F32]:
        w = rng.standard_normal((n_in, n)) * np.sqrt(2.0 / n_in)
        return w.astype(np.float32), np.zeros(n, np.float32)

    p: Params = {}
    p["w0"], p["b0"] = dense(n_mels, PROJ)
    p["w1"], p["b1"] = dense(WINDOW * PROJ, HIDDEN[0])
    p["w2"], p["b2"] = dense(HIDDEN[0], HIDDEN[1])
    p["w3"], p["b3"] = dense(HIDDEN[1], n_out)
    p["w3"] *= 0.1
    return p


def forward(p: Params, x: Any, xp: Any = np) -> Any:
    """x: (N, WINDOW, n_mels), already normalised -> (N, n_out), unclipped. ``xp``: np or jnp."""
    h = xp.maximum(x @ p["w0"] + p["b0"], 0.0)
    h = h.reshape(h.shape[0], -1)
    h = xp.maximum(h @ p["w1"] + p["b1"], 0.0)
    h = xp.maximum(h @ p["w2"] + p["b2"], 0.0)
    return h @ p["w3"] + p["b3"]


def fold_normalisation(p: Params, mean: F32, std: F32) -> Params:
    """Weights that take raw log-mel: (x - mean) / std @ w0 + b0 == x @ w0' + b0'."""
    out = {k: np.asarray(v, np.float32) for k, v in p.items()}
    w0 = out["w0"] / std[:, None]
    out["b0"] = (out["b0"] - (mean / std) @ out["w0"]).astype(np.float32)
    out["w0"] = w0.astype(np.float32)
    return out


def predict_raw(folded: Params, windows: F32) -> F32:
    """numpy reference of the exported graph (raw log-mel windows in, clipped params out)."""
    y = forward(folded, windows.astype(np.float32))
    return np.clip(y, 0.0, 1.0).astype(np.float32)


def export_onnx(folded: Params, n_mels: int, names: tuple[str, ...], metadata: dict[str, str]
                ) -> bytes:
    """The folded network as an ONNX graph: input "mel" (N, WINDOW, n_mels), output "mouth"."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(np.asarray(v, np.float32), name=k)
             for k, v in folded.items()]
    inits.append(numpy_helper.from_array(np.array([-1, WINDOW * PROJ], np.int64), "flat_shape"))
    inits.append(numpy_helper.from_array(np.array(0.0, np.float32), "lo"))
    inits.append(numpy_helper.from_array(np.array(1.0, np.float32), "hi"))
    nodes = [
        helper.make_node("MatMul", ["mel", "w0"], ["p0"]),
        helper.make_node("Add", ["p0", "b0"], ["p1"]),
        helper.make_node("Relu", ["p1"], ["p2"]),
        helper.make_node("Reshape", ["p2", "flat_shape"], ["flat"]),
        helper.make_node("Gemm", ["flat", "w1", "b1"], ["h1"]),
        helper.make_node("Relu", ["h1"], ["r1"]),
        helper.make_node("Gemm", ["r1", "w2", "b2"], ["h2"]),
        helper.make_node("Relu", ["h2"], ["r2"]),
        helper.make_node("Gemm", ["r2", "w3", "b3"], ["raw"]),
        helper.make_node("Clip", ["raw", "lo", "hi"], ["mouth"]),
    ]
    graph = helper.make_graph(
        nodes, "livehost_a2f",
        [helper.make_tensor_value_info("mel", TensorProto.FLOAT, ["N", WINDOW, n_mels])],
        [helper.make_tensor_value_info("mouth", TensorProto.FLOAT, ["N", len(names)])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="livehost-studio training.a2f")
    model.ir_version = 8
    meta = {"names": ",".join(names), "context": str(CONTEXT), "lookahead": str(LOOKAHEAD),
            **metadata}
    helper.set_model_props(model, meta)
    onnx.checker.check_model(model)
    data: bytes = model.SerializeToString()
    return data
