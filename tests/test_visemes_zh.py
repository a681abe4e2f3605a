"""Mandarin mouth shapes: the phonemes misaki's zh front-end (Kokoro v1.0's set) and espeak-ng's
cmn really emit for sales sentences, their visemes, and tones that keep the mouth open.

The phoneme strings come from the real front-ends (misaki 0.9.4 legacy, espeak-ng inside
piper-tts); only their timings are laid out here, one span per symbol as the voices give them.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from studio.core.clock import MediaClock
from studio.face.motion import FaceMotion
from studio.face.visemes import (
    FALLBACK_VISEME,
    PUCKER,
    STRETCH,
    Kind,
    Segment,
    build_segments,
    viseme_for,
)
from studio.voice.text_zh import configure_jieba, normalize_zh, split_languages
from studio.voice.types import PhonemeSpan

RATE = 48_000
SOUNDING = (Kind.VOWEL, Kind.CONSONANT, Kind.BILABIAL)
TONE_ARROWS = set("→↗↓↘")

SALES = [
    "大家好，欢迎来到直播间！我是你们的主播小雅。",
    "这款陶瓷咖啡杯今天只要¥39.9，原价¥59，立省30%！",
    "容量250ml，重量125克，下单后3-5天发货。",
    "4月20日晚上8点准时开抢，前100名买2送1。",
    "第3件半价，型号XR-200，2026年新款，日子热闹，女生去买，绿色的云和雪，儿子吃饭说话四次。",
    "嗯，哦，好的，全场包邮，赶紧下单吧！",
]


@pytest.fixture(scope="module")
def misaki_phonemes() -> list[str]:
    """misaki's legacy zh phonemes (Kokoro v1.0) for the Chinese runs of each sales sentence."""
    configure_jieba()
    from misaki.zh import ZHG2P

    g2p = ZHG2P()
    out = []
    for sentence in SALES:
        runs = [g2p(run)[0] for lang, run in split_languages(normalize_zh(sentence))
                if lang == "zh"]
        out.append(" ".join(runs))
    return out


@pytest.fixture(scope="module")
def espeak_phonemes() -> list[list[str]]:
    """espeak-ng cmn phonemes as Piper splits them (one code point per symbol)."""
    from piper.phonemize_espeak import EspeakPhonemizer

    phonemizer = EspeakPhonemizer()
    out = []
    for sentence in SALES[:4]:
        text = "".join(run for lang, run in split_languages(normalize_zh(sentence))
                       if lang == "zh")
        out.append([p for sent in phonemizer.phonemize("cmn", text) for p in sent])
    return out


def lay_out(symbols: list[str]) -> list[PhonemeSpan]:
    """One span per symbol: vowels 90 ms, consonants 60 ms, tones 50 ms, gaps 20 ms, pauses 200."""
    durations_s = {Kind.VOWEL: 0.09, Kind.CONSONANT: 0.06, Kind.BILABIAL: 0.06,
                   Kind.TONE: 0.05, Kind.GAP: 0.02, Kind.SILENCE: 0.2, Kind.STRESS: 0.0,
                   Kind.LENGTH: 0.02}
    out: list[PhonemeSpan] = [PhonemeSpan("^", 0, 2400)]
    t = 2400
    for sym in symbols:
        n = round(durations_s[viseme_for(sym).kind] * RATE)
        out.append(PhonemeSpan(sym, t, t + n))
        t += n
    out.append(PhonemeSpan("$", t, t + 2400))
    return out


def covering(segments: list[Segment], sample: int) -> Segment | None:
    return next((s for s in segments if s.start_samples <= sample < s.end_samples), None)


def test_every_symbol_misaki_emits_has_a_mouth_shape(misaki_phonemes: list[str]) -> None:
    symbols = {ch for p in misaki_phonemes for ch in p}
    # The Mandarin sounds the sentences were written to contain (guards a front-end change).
    assert {"ɤ", "ɨ", "ɚ", "y", "ɥ", "ʂ", "ɕ", "ʨ", "ʦ", "ꭧ", "ɻ", "ʰ", "ŋ"} <= symbols
    assert symbols >= TONE_ARROWS
    for sym in symbols:
        vis = viseme_for(sym)
        if sym in TONE_ARROWS:
            assert vis.kind is Kind.TONE, sym
        elif sym.isalpha():
            assert vis.kind in SOUNDING and vis is not FALLBACK_VISEME, sym
        else:
            assert vis.kind in (Kind.SILENCE, Kind.GAP), sym


def test_tones_do_not_close_the_mouth_inside_a_syllable(misaki_phonemes: list[str]) -> None:
    for phonemes in misaki_phonemes:
        spans = lay_out(list(phonemes))
        segments = build_segments(spans, RATE)
        n_tones = 0
        for i, span in enumerate(spans):
            if span.phoneme not in TONE_ARROWS:
                continue
            n_tones += 1
            prev = spans[i - 1].phoneme
            seg = covering(segments, (span.start_samples + span.end_samples) // 2)
            # The tone belongs to the sound before it (the vowel, or a syllabic nasal).
            assert seg is not None, f"mouth closed on the tone after {prev!r} in {phonemes}"
            assert seg.symbol == prev and seg.kind in SOUNDING
            # ... and what follows in the syllable (a coda n/ŋ) starts where the tone ends.
            nxt = spans[i + 1]
            if viseme_for(nxt.phoneme).kind in SOUNDING:
                after = covering(segments, nxt.start_samples)
                assert after is not None and after.start_samples <= span.end_samples
        assert n_tones > 5
        # No tone ever became a segment of its own.
        assert not any(s.symbol in TONE_ARROWS for s in segments)


def test_the_jaw_stays_open_through_a_toned_syllable(misaki_phonemes: list[str]) -> None:
    """On rendered frames: the jaw at a tone is about as open as on the vowel it follows."""
    phonemes = misaki_phonemes[1]
    spans = lay_out(list(phonemes))
    motion = FaceMotion(MediaClock(Fraction(100), RATE), seed=3)
    motion.add_speech(spans)
    checked = 0
    for i, span in enumerate(spans):
        vowel = spans[i - 1]
        if span.phoneme not in TONE_ARROWS or vowel.phoneme not in "aɛəɤ":
            continue
        jaw_vowel = motion.params_at_frame((vowel.start_samples + vowel.end_samples) // 2
                                           // 480).jaw_open
        jaw_tone = motion.params_at_frame((span.start_samples + span.end_samples) // 2
                                          // 480).jaw_open
        assert jaw_vowel > 0.2
        assert jaw_tone > 0.6 * jaw_vowel, (vowel.phoneme, span.phoneme, jaw_vowel, jaw_tone)
        checked += 1
    assert checked >= 3


def test_espeak_cmn_tones_and_modifiers_are_not_pauses(espeak_phonemes: list[list[str]]) -> None:
    for symbols in espeak_phonemes:
        spans = lay_out(symbols)
        segments = build_segments(spans, RATE)
        for i, span in enumerate(spans[1:-1], start=1):
            sym = span.phoneme
            vis = viseme_for(sym)
            if sym.isalpha() and sym != "ɜ":
                assert vis is not FALLBACK_VISEME, sym
            nxt = spans[i + 1].phoneme
            in_syllable = (sym.isdigit() or sym == "ɜ"
                           or (sym in ".-" and nxt.strip() and nxt not in ",.!?"))
            if in_syllable and viseme_for(spans[i - 1].phoneme).kind in SOUNDING:
                seg = covering(segments, (span.start_samples + span.end_samples) // 2)
                assert seg is not None, f"{sym!r} closed the mouth in {''.join(symbols)}"
                assert seg.symbol != "ɜ"  # espeak's tone 2 is not a vowel here
        assert any(s.isdigit() for s in symbols)


def test_espeak_retroflex_and_er_vowels_take_their_shape() -> None:
    # 是 "s.ˈi.5": the vowel after a retroflex is ʅ; 热 "ʐˈo-5": o- is the unrounded ɤ.
    spans = lay_out(["s", ".", "ˈ", "i", ".", "5", " ", "ʐ", "ˈ", "o", "-", "5"])
    segments = {s.symbol: s for s in build_segments(spans, RATE)}
    assert segments["i"].target == list(viseme_for("ʅ").target)
    assert segments["o"].target[PUCKER] < 0.2  # ɤ, not a rounded o
    assert segments["o"].target == pytest.approx(list(viseme_for("ɤ").target), abs=0.5)


def test_english_streams_are_unchanged() -> None:
    # No tone symbol: "ɜ" is the English vowel and a final "." is a pause.
    spans = lay_out(["w", "ˈ", "ɜ", "ː", "k", "."])
    segments = build_segments(spans, RATE)
    assert [s.symbol for s in segments] == ["w", "ɜ", "k"]
    assert segments[1].kind is Kind.VOWEL
    assert covering(segments, spans[-2].start_samples + 10) is None


@pytest.mark.parametrize(("ligature", "spelled"),
                         [("ʦ", "ts"), ("ʨ", "tɕ"), ("ꭧ", "ʈʂ"), ("ꭧ", "tʂ"), ("ʦʰ", "ts"),
                          ("ʨʰ", "tɕ"), ("tʰ", "t"), ("kʰ", "k")])
def test_affricate_spellings_agree(ligature: str, spelled: str) -> None:
    assert viseme_for(ligature) == viseme_for(spelled)
    assert viseme_for(spelled) is not FALLBACK_VISEME


def test_mandarin_vowel_and_initial_shapes() -> None:
    assert viseme_for("ɤ").kind is Kind.VOWEL and viseme_for("ɤ").target[PUCKER] == 0.0
    assert viseme_for("y").target[PUCKER] > 0.7 and viseme_for("ɥ").target[PUCKER] > 0.7
    for sym in ("ɿ", "ʅ", "ɨ", "ɚ", "ɤ", "y"):
        assert viseme_for(sym).kind is Kind.VOWEL, sym
    for sym in ("ʨ", "ɕ", "tɕ"):  # alveolo-palatals: lips spread
        assert viseme_for(sym).target[STRETCH] > 0.3, sym
    for sym in ("ꭧ", "ʂ", "ʐ", "ɻ"):  # retroflexes: slight protrusion
        assert viseme_for(sym).target[PUCKER] > 0.2, sym
    for sym in ("→", "↗", "↓", "↘", "˥˩", "5", "\u030c"):
        assert viseme_for(sym).kind is Kind.TONE, sym


def test_aspiration_takes_the_next_vowel_shape() -> None:
    # 块 "kʰwai↘" split per symbol; 天 "tʰjɛ→n": ʰ is breath, shaped like what follows.
    spans = lay_out(["t", "ʰ", "a", "→", "n"])
    segments = build_segments(spans, RATE)
    h = next(s for s in segments if s.symbol == "ʰ")
    a = next(s for s in segments if s.symbol == "a")
    assert h.target[0] == pytest.approx(0.8 * a.target[0])
