"""Cue files: operator actions replayed at show times (rehearsals, QA, scheduled shows).

```toml
[[cue]]
at_s = 12.5
action = "takeover"            # an id from the actions table (studio.engine.actions)

[[cue]]
at_s = 20
action = "interject"
text = "Flash sale: ten more minutes!"
interrupt = false              # true: cut in now; false: at the next sentence boundary

[[cue]]
at_s = 31
action = "go_to"
product = "cup-set"
now = false
```

Besides the table's ids there are ``interject``, ``go_to`` and, for scheduled shows that
must know who is on air, ``ai``, ``human`` and ``puppet`` (that mode, not a toggle; the same
as ``mode_ai``, ``mode_human``, ``mode_puppet``), and ``crossfade`` with ``seconds`` (how
long the following switches crossfade; 0 is a hard cut).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from studio.core.errors import UserInputError
from studio.engine import commands as cmd
from studio.engine.actions import ACTIONS, DEFAULT_QUICK_PHRASES
from studio.program.switcher import MAX_CROSSFADE_S, Mode

EXTRA_ACTIONS = ("interject", "go_to", "ai", "human", "puppet", "crossfade")
_FIELDS = {"at_s", "action", "text", "interrupt", "product", "now", "seconds"}


@dataclass(frozen=True, slots=True)
class Cue:
    at_s: float
    action: str
    command: cmd.Command
    line: int


def known_actions() -> list[str]:
    """Every action a cue may name."""
    return [a.id for a in ACTIONS if a.command is not None or a.id.startswith("quick_phrase")
            ] + list(EXTRA_ACTIONS)


def _command(entry: dict[str, object], product_ids: set[str]) -> cmd.Command:
    action = entry["action"]
    if action not in known_actions():
        raise ValueError(f"unknown action {action!r}; use one of: {', '.join(known_actions())}")
    text = entry.get("text")
    product = entry.get("product")
    now = entry.get("now", False)
    interrupt = entry.get("interrupt", False)
    for flag, value in (("now", now), ("interrupt", interrupt)):
        if not isinstance(value, bool):
            raise ValueError(f"{flag} must be true or false")
    assert isinstance(now, bool) and isinstance(interrupt, bool)
    if action == "interject":
        if not isinstance(text, str) or not text.strip():
            raise ValueError('interject needs text = "what the host says"')
        return cmd.Interject(text, interrupt=interrupt)
    if action == "go_to":
        if not isinstance(product, str) or product not in product_ids:
            raise ValueError(f"go_to needs product = one of the show's ids: "
                             f"{', '.join(sorted(product_ids))}")
        return cmd.GoToProduct(product, now=now)
    if action in {"human", "ai", "puppet"}:
        return cmd.SetMode(Mode(action))
    if action == "crossfade":
        seconds = entry.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or \
                not 0 <= seconds <= MAX_CROSSFADE_S:
            raise ValueError(f"crossfade needs seconds = 0..{MAX_CROSSFADE_S} (0: a hard cut)")
        return cmd.SetCrossfade(float(seconds))
    if isinstance(action, str) and action.startswith("quick_phrase_"):  # the default phrases
        n = int(action.rsplit("_", 1)[1])
        return cmd.Interject(DEFAULT_QUICK_PHRASES[n - 1], interrupt=interrupt)
    for a in ACTIONS:
        if a.id == action and a.command is not None:
            if a.command is cmd.NextProduct:
                return cmd.NextProduct(now=now)
            return a.command()
    raise ValueError(f"unknown action {action!r}; use one of: {', '.join(known_actions())}")


def _cue_lines(text: str) -> list[int]:
    """The line of each ``[[cue]]`` header, in order."""
    return [n for n, line in enumerate(text.splitlines(), 1) if line.strip() == "[[cue]]"]


def load_cues(path: Path, product_ids: Iterable[str]) -> list[Cue]:
    """Every cue, in time order; every problem listed at once, with its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserInputError(f"cue file {path} does not exist; check the --cues path") from None
    except OSError as exc:
        raise UserInputError(f"cue file {path} cannot be read ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserInputError(f"{path}: not valid TOML ({exc}); see the cue format in the "
                             "README") from None
    extra = set(data) - {"cue"}
    problems = [f"{path}: unknown table {key!r}; a cue file holds [[cue]] tables only"
                for key in sorted(extra)]
    entries = data.get("cue", [])
    if not isinstance(entries, list):
        entries = []
        problems.append(f"{path}: write each cue as a [[cue]] table")
    lines = _cue_lines(text)
    ids = set(product_ids)
    cues: list[Cue] = []
    for n, entry in enumerate(entries):
        line = lines[n] if n < len(lines) else 0
        where = f"{path}:{line}: cue {n + 1}"
        unknown = sorted(set(entry) - _FIELDS)
        if unknown:
            problems.append(f"{where}: unknown field {', '.join(unknown)}; a cue has "
                            f"{', '.join(sorted(_FIELDS))}")
        at_s = entry.get("at_s")
        if isinstance(at_s, bool) or not isinstance(at_s, int | float) or at_s < 0:
            problems.append(f"{where}: at_s must be a time in seconds from the start, >= 0")
            continue
        if "action" not in entry:
            problems.append(f"{where}: action is missing; use one of: "
                            f"{', '.join(known_actions())}")
            continue
        try:
            command = _command(entry, ids)
        except (ValueError, IndexError) as exc:
            problems.append(f"{where}: {exc}")
            continue
        cues.append(Cue(float(at_s), str(entry["action"]), command, line))
    if problems:
        raise UserInputError("\n".join([f"{path}: {len(problems)} problem"
                                        f"{'s' if len(problems) != 1 else ''} in the cue file",
                                        *(f"  {p}" for p in problems)]))
    return sorted(cues, key=lambda c: c.at_s)
