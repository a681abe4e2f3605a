"""Word timings: the script's written words placed on the voice's phoneme spans.

Every engine hands back phoneme spans; the teleprompter and the timeline need the *written*
words ("¥39.9", "250 ml", "8:00 am") with times that increase and never overlap. Two
alignments get there:

1. written tokens -> spoken words: the sentence is normalised as the voice reads it
   (:func:`studio.voice.text.normalize_for_speech`, after the show's pronunciations), and the
   two word lists are matched (identical words anchor; a run of written tokens between anchors
   gets the spoken words between them, shared by each token's own reading). So "250" gets
   "two hundred fifty" and "ml," gets "milliliters,".
2. spoken words -> phoneme groups (runs of phonemes between word gaps and pauses): usually one
   group per word, but espeak-ng merges some ("with the" is one group "wɪððə") and a
   respelling may split one. A small dynamic programme pairs runs of words with runs of
   groups so that their shares of the sentence's length agree, preferring one to one.

A written token then spans from the start of its first spoken word to the end of its last;
a token that says nothing ("—", an emoji) gets a sliver of its neighbour, so every token has
a span and the spans stay strictly increasing.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping, Sequence
from typing import Final

from studio.voice.text import apply_pronunciations, normalize_for_speech, speech_words
from studio.voice.types import PhonemeSpan, WordSpan

__all__ = ["PAUSE_SYMBOLS", "phoneme_groups", "word_spans"]

# Phoneme symbols that are pauses or word gaps rather than sounds (Piper/espeak, Kokoro, misaki).
PAUSE_SYMBOLS: Final = frozenset("^$_ .,!?;:—…“”\"()«»，。！？；：、")
# Marks that are not sounds of their own: they do not add length to a group.
_MARKS: Final = frozenset("ˈˌːˑ'ʲ↗↘→↓↑1234567890")
_NOT_ALNUM: Final = re.compile(r"[\W_]+", re.UNICODE)
_INLINE_BRACKETS: Final = re.compile(r"\[\[|\]\]")
# The most words (or groups) ever paired with one group (word).
_MAX_RUN: Final = 24
_RUN_PENALTY: Final = 0.7


def phoneme_groups(phonemes: Sequence[PhonemeSpan]) -> list[tuple[int, int, int]]:
    """(start, end, sound count) of each run of sounding phonemes between pauses/word gaps."""
    groups: list[tuple[int, int, int]] = []
    start: int | None = None
    end = 0
    count = 0
    for span in phonemes:
        if span.phoneme in PAUSE_SYMBOLS or not span.phoneme.strip():
            if start is not None:
                groups.append((start, end, max(1, count)))
                start = None
            continue
        if start is None:
            start, count = span.start_samples, 0
        end = max(end, span.end_samples)
        if span.phoneme not in _MARKS:
            count += 1
    if start is not None:
        groups.append((start, end, max(1, count)))
    return [g for g in groups if g[1] > g[0]]


def _key(word: str) -> str:
    return _NOT_ALNUM.sub("", word).lower()


def _weight(word: str) -> int:
    return max(1, len(_key(word)))


def _largest_remainder(estimates: list[int], total: int) -> list[int]:
    """Integers proportional to ``estimates`` summing to ``total``."""
    if total <= 0:
        return [0] * len(estimates)
    base = sum(estimates)
    if base <= 0:
        estimates, base = [1] * len(estimates), len(estimates)
    exact = [e * total / base for e in estimates]
    out = [math.floor(x) for x in exact]
    order = sorted(range(len(exact)), key=lambda i: out[i] - exact[i])
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def _spoken_counts(tokens: list[str], spoken: list[str], language: str,
                   pronunciations: Mapping[str, str] | None) -> list[int]:
    """How many of the spoken words each written token accounts for (sums to len(spoken))."""
    a = [_key(t) for t in tokens]
    b = [_key(s) for s in spoken]
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    counts = [0] * len(tokens)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for i in range(i1, i2):
                counts[i] = 1
            continue
        if i2 == i1:
            # Spoken words no written token claims (rare): the token before says them.
            if i1 > 0:
                counts[i1 - 1] += j2 - j1
            elif tokens:
                counts[0] += j2 - j1
            continue
        estimates = []
        for token in tokens[i1:i2]:
            said = _spoken_list(token, language, pronunciations)
            estimates.append(len(said))
        for i, n in zip(range(i1, i2), _largest_remainder(estimates, j2 - j1), strict=True):
            counts[i] += n
    return counts


def _spoken_list(text: str, language: str, pronunciations: Mapping[str, str] | None) -> list[str]:
    said = normalize_for_speech(apply_pronunciations(text, pronunciations or {}), language)
    return _INLINE_BRACKETS.sub(" ", said).split()


def _align_groups(weights: list[int], groups: list[tuple[int, int, int]]
                  ) -> list[tuple[float, float]]:
    """Times (start, end) of each spoken word: runs of words paired with runs of groups."""
    n_w, n_g = len(weights), len(groups)
    total_w = float(sum(weights))
    total_g = float(sum(g[2] for g in groups))
    cum_w = [0.0]
    for w in weights:
        cum_w.append(cum_w[-1] + w / total_w)
    cum_g = [0.0]
    for g in groups:
        cum_g.append(cum_g[-1] + g[2] / total_g)
    # Runs a little longer than the overall ratio needs; longer ones are never the best pairing
    # and would only cost time (this runs per sentence, live).
    max_run = min(_MAX_RUN, max(3, -(-n_g // n_w) + 2, -(-n_w // n_g) + 2))
    inf = float("inf")
    cost = [[inf] * (n_g + 1) for _ in range(n_w + 1)]
    back: list[list[tuple[int, int] | None]] = [[None] * (n_g + 1) for _ in range(n_w + 1)]
    cost[0][0] = 0.0
    band = 4 + max_run + abs(n_g - n_w)  # pairings far off the diagonal are never the best
    for i in range(n_w + 1):
        centre = i * n_g / n_w
        for j in range(max(0, math.floor(centre - band)), min(n_g, math.ceil(centre + band)) + 1):
            here = cost[i][j]
            if here == inf:
                continue
            # One word to several groups, or several words to one group (1:1 included).
            moves = [(1, k) for k in range(1, min(max_run, n_g - j) + 1)]
            moves += [(k, 1) for k in range(2, min(max_run, n_w - i) + 1)]
            for dw, dg in moves:
                if i + dw > n_w or j + dg > n_g:
                    continue
                share_w = cum_w[i + dw] - cum_w[i]
                share_g = cum_g[j + dg] - cum_g[j]
                step = abs(math.log(share_w / share_g)) + _RUN_PENALTY * (dw + dg - 2)
                if here + step < cost[i + dw][j + dg]:
                    cost[i + dw][j + dg] = here + step
                    back[i + dw][j + dg] = (dw, dg)
    if cost[n_w][n_g] == inf:  # too uneven to pair runs: share the whole speech by length
        first, last = groups[0][0], groups[-1][1]
        return [(first + (last - first) * cum_w[i], first + (last - first) * cum_w[i + 1])
                for i in range(n_w)]
    times: list[tuple[float, float]] = [(0.0, 0.0)] * n_w
    i, j = n_w, n_g
    while i or j:
        move = back[i][j]
        assert move is not None
        dw, dg = move
        i0, j0 = i - dw, j - dg
        start, end = float(groups[j0][0]), float(groups[j - 1][1])
        run_total = float(sum(weights[i0:i]))
        acc = 0.0
        for k in range(i0, i):
            a = start + (end - start) * acc / run_total
            acc += weights[k]
            times[k] = (a, start + (end - start) * acc / run_total)
        i, j = i0, j0
    return times


def _tokens(sentence: str, language: str) -> list[str]:
    if language == "zh":
        try:
            from studio.voice.text_zh import segment_words_zh

            return [w for w in segment_words_zh(sentence) if w.strip()]
        except ImportError:  # pragma: no cover - text_zh ships with the studio
            pass
    return speech_words(sentence)


def _said_zh(sentence: str) -> list[tuple[str, str]] | None:
    """(written word, what is said) from the Mandarin front-end: "¥39.9" weighs 三十九块九."""
    try:
        from studio.voice.text_zh import spoken_words_zh
    except ImportError:  # pragma: no cover - text_zh ships with the studio
        return None
    return [(w, s) for w, s in spoken_words_zh(sentence) if w.strip()]


def _token_ranges(counts: list[int]) -> list[tuple[float, float]]:
    """Each token's [a, b) in spoken-word positions; silent tokens share a neighbour's word."""
    ranges: list[list[float]] = []
    pos = 0
    for c in counts:
        ranges.append([float(pos), float(pos + c)])
        pos += c
    n = len(counts)
    i = 0
    while i < n:
        if counts[i]:
            i += 1
            continue
        j = i
        while j < n and counts[j] == 0:
            j += 1
        silent = list(range(i, j))
        if i > 0:  # split the last spoken word of the token before
            owner = i - 1
            lo, hi = ranges[owner][1] - 1, ranges[owner][1]
            share = [owner, *silent]
        elif j < n:  # at the start: split the first spoken word of the token after
            owner = j
            lo, hi = ranges[owner][0], ranges[owner][0] + 1
            share = [*silent, owner]
        else:
            return []
        step = (hi - lo) / len(share)
        for k, index in enumerate(share):
            a, b = lo + k * step, lo + (k + 1) * step
            if index == owner:
                if owner < i:
                    ranges[index][1] = b
                else:
                    ranges[index][0] = a
            else:
                ranges[index] = [a, b]
        i = j
    return [(r[0], r[1]) for r in ranges]


def word_spans(sentence: str, phonemes: Sequence[PhonemeSpan], language: str = "en", *,
               pronunciations: Mapping[str, str] | None = None) -> list[WordSpan]:
    """The sentence's written words (as the teleprompter shows them) over the phoneme spans.

    Spans are strictly increasing and never overlap, lie inside the sentence's speech (first to
    last sounding phoneme), and a token read as several words covers all of them. Pass the
    show's ``pronunciations`` when the engine applied them, so respellings are counted right.
    Returns [] when nothing was said.
    """
    lang = re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0] or "en"
    groups = phoneme_groups(phonemes)
    tokens = _tokens(sentence, lang)
    if not groups or not tokens:
        return []
    if lang == "en":
        spoken = _spoken_list(sentence, lang, pronunciations)
        counts = _spoken_counts(tokens, spoken, lang, pronunciations) if spoken else []
        weights = [_weight(s) for s in spoken]
    else:
        # Each written word is its own spoken unit, weighed by what is said for it.
        said = _said_zh(sentence) if lang == "zh" else None
        if said is not None and [w for w, _ in said] == tokens:
            spoken_parts = [[s] for _, s in said]
        else:
            spoken_parts = [_spoken_list(t, lang, pronunciations) for t in tokens]
        counts = [1] * len(tokens)
        weights = [max(1, sum(len(_key(p)) for p in parts)) for parts in spoken_parts]
    if not counts or sum(counts) == 0:
        return []
    times = _align_groups(weights, groups)
    ranges = _token_ranges(counts)
    if not ranges:
        return []

    def at(position: float, is_end: bool) -> float:
        k = math.floor(position)
        frac = position - k
        if frac == 0.0 and is_end:
            return times[k - 1][1]
        k = min(k, len(times) - 1)
        start, end = times[k]
        return start + (end - start) * frac

    out: list[WordSpan] = []
    speech_end = groups[-1][1]
    previous_start = -1
    previous_end = groups[0][0]
    for token, (a, b) in zip(tokens, ranges, strict=True):
        start = max(round(at(a, False)), previous_end, previous_start + 1)
        end = min(max(round(at(b, True)), start + 1), speech_end)
        if start >= end:  # squeezed at the very end of the speech: one sample each
            start = min(start, speech_end - 1)
            end = start + 1
        out.append(WordSpan(token, start, end))
        previous_start, previous_end = start, end
    return out
