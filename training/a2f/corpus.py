"""The sentence corpus and its split: held-out sentences never appear in training."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from training.a2f.data import Utterance, load_utterances, save_utterances, synthesize_utterances
from training.a2f.sentences import harvest_sentences, template_sentences


def build_sentences(n_sentences: int, seed: int) -> list[str]:
    """Half harvested prose, half product-pitch templates, shuffled, unique."""
    rng = np.random.default_rng(seed)
    harvested = harvest_sentences(limit=max(4000, n_sentences))
    pick = rng.permutation(len(harvested))[: n_sentences // 2]
    out = {harvested[int(i)] for i in pick}
    gen = template_sentences(rng)
    while len(out) < n_sentences:
        out.add(next(gen))
    sentences = sorted(out)
    order = rng.permutation(len(sentences))
    return [sentences[int(i)] for i in order]


def held_out_ids(n_sentences: int, fraction: float, seed: int) -> set[int]:
    """Sentence ids kept out of training (whole sentences, every utterance that reads one)."""
    rng = np.random.default_rng(seed + 2)
    return set(rng.permutation(n_sentences)[: round(fraction * n_sentences)].tolist())


def kokoro_jobs(sentences: list[str], held: set[int], per_voice: int, seed: int
                ) -> list[tuple[int, str, str]]:
    """(sentence id, text, voice): training voices read training sentences; the held-out
    voice reads held-out sentences only, so it is a wholly unseen speaker and text."""
    from training.a2f.kokoro import HELD_OUT_VOICE, VOICES

    rng = np.random.default_rng(seed + 5)
    train_ids = [i for i in range(len(sentences)) if i not in held and len(sentences[i]) < 160]
    test_ids = sorted(held)
    jobs: list[tuple[int, str, str]] = []
    for voice in VOICES:
        pool = test_ids if voice == HELD_OUT_VOICE else train_ids
        n = max(1, per_voice * 3 // 5) if voice == HELD_OUT_VOICE else per_voice
        for i in rng.choice(pool, size=min(n, len(pool)), replace=False).tolist():
            jobs.append((int(i), sentences[int(i)], voice))
    return jobs


def load_or_synthesize(work: Path, n_sentences: int, seed: int) -> tuple[list[str],
                                                                          list[Utterance], float]:
    """Utterances for the corpus, cached in ``work`` (synthesis takes minutes)."""
    work.mkdir(parents=True, exist_ok=True)
    sentences = build_sentences(n_sentences, seed)
    cache = work / f"utterances_{n_sentences}_{seed}.npz"
    took_file = cache.with_suffix(".seconds")
    if cache.is_file():
        took = float(took_file.read_text()) if took_file.is_file() else 0.0
        return sentences, load_utterances(cache), took
    t0 = time.monotonic()
    utts = list(synthesize_utterances(sentences, np.random.default_rng(seed + 1)))
    took = time.monotonic() - t0
    save_utterances(cache, utts)
    took_file.write_text(f"{took:.1f}\n")
    (work / "sentences.txt").write_text("\n".join(sentences) + "\n", encoding="utf-8")
    return sentences, utts, took


if __name__ == "__main__":
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1200
    if len(sys.argv) > 2:  # kokoro: per-voice count, pre-builds train.py's cache
        from training.a2f import kokoro

        sents = build_sentences(n, 7)
        root = kokoro.find_packages(Path("build/kokoro/x"))
        assert root is not None, kokoro.EXTRA_PIP
        jobs = kokoro_jobs(sents, held_out_ids(n, 0.08, 7), int(sys.argv[2]), 7)
        out, took = kokoro.load_or_synthesize(Path("build/a2f"), root, jobs, 7)
        print(f"kokoro: {len(out)} utterances, {took:.0f} s")
        raise SystemExit(0)
    s, u, took = load_or_synthesize(Path("build/a2f"), n, 7)
    hops = sum(x.n_hops for x in u)
    print(f"{len(s)} sentences, {len(u)} utterances, {hops / 6000:.1f} min, {took:.0f} s")
