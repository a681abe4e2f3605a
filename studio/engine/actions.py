"""Every operator control as data: id, title, default key, and the command it sends.

Defined once, without Qt: the window builds its buttons, menus, shortcuts and the help
overlay from this table, and the settings store only overrides of the keys.
Keys use Qt's portable text form ("F9", "Ctrl+Right") so any front end can parse them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from studio.engine.commands import (
    CalibrateFace,
    Command,
    InterruptNow,
    NextProduct,
    SetMode,
    SkipSentence,
    TogglePause,
    ToggleTakeover,
)
from studio.program.switcher import Mode

QUICK_PHRASE_COUNT = 9

DEFAULT_QUICK_PHRASES: tuple[str, ...] = (
    "Link 3 is live now!",
    "Thanks for joining us, welcome to the stream!",
    "Flash sale: the next ten orders get an extra 10% off!",
    "Don't forget to follow so you catch tomorrow's deals.",
    "Tap the cart below to order.",
    "Stock is running low, so grab yours now.",
    "Leave your questions in the comments and I'll answer them.",
    "Free shipping on every order today.",
    "We'll be right back after a short break.",
)
# The same defaults for a Mandarin show: a phrase the operator never changed is said in the
# show's language (the voice speaks the show's language; an English line would be refused).
DEFAULT_QUICK_PHRASES_ZH: tuple[str, ...] = (
    "3号链接已经上架了！",
    "欢迎来到直播间，感谢大家的支持！",
    "限时秒杀：接下来前十单再享九折！",
    "记得点个关注，明天的福利不要错过。",
    "点击下方购物车就可以下单。",
    "库存不多了，喜欢的朋友抓紧下单。",
    "有问题请在评论区留言，我来一一解答。",
    "今天全场包邮。",
    "我们稍作休息，马上回来。",
)
_DEFAULT_QUICK_PHRASES_BY_LANGUAGE = {"zh": DEFAULT_QUICK_PHRASES_ZH}


def quick_phrases_for(saved: Sequence[str], language: str) -> list[str]:
    """The operator's quick phrases for a show in ``language``: each one still at its
    English default becomes that language's default; the operator's own stay as written."""
    defaults = _DEFAULT_QUICK_PHRASES_BY_LANGUAGE.get(language)
    if defaults is None:
        return list(saved)
    return [defaults[n] if n < len(defaults) and phrase == DEFAULT_QUICK_PHRASES[n] else phrase
            for n, phrase in enumerate(saved)]


@dataclass(frozen=True, slots=True)
class Action:
    id: str
    title: str
    default_key: str
    description: str
    command: Callable[[], Command] | None = None  # None: the front end handles it (help, ...)
    group: str = "Show"


def _quick_phrase_actions() -> tuple[Action, ...]:
    return tuple(
        Action(f"quick_phrase_{n}", f"Quick phrase {n}", f"Ctrl+{n}",
               f"Say quick phrase {n} at the next sentence boundary", None, "Quick phrases")
        for n in range(1, QUICK_PHRASE_COUNT + 1))


ACTIONS: tuple[Action, ...] = (
    Action("takeover", "Takeover (AI ⇄ human)", "F9",
           "Switch the program between the AI host and the human (the takeover mode last "
           "used: on camera, or puppeteering the avatar) within one frame",
           ToggleTakeover, "Takeover"),
    Action("mode_human", "Human on camera", "F10",
           "Put the human on camera on air (camera and microphone, the card stays; no AI "
           "label)", functools.partial(SetMode, Mode.HUMAN), "Takeover"),
    Action("mode_puppet", "Puppet (human drives the avatar)", "F11",
           "The operator's face and voice drive the avatar (the AI label stays)",
           functools.partial(SetMode, Mode.PUPPET), "Takeover"),
    Action("mode_ai", "AI host", "F12",
           "Hand back to the AI host: it resumes at the start of the interrupted sentence",
           functools.partial(SetMode, Mode.AI), "Takeover"),
    Action("calibrate_face", "Calibrate face", "Ctrl+K",
           "Your face as it is now becomes the avatar's neutral pose (puppet mode)",
           CalibrateFace, "Takeover"),
    Action("next_product", "Next product", "Ctrl+Right",
           "Move on to the next product at the next sentence boundary", NextProduct),
    Action("pause_resume", "Pause / resume", "F5",
           "Pause the script (the host stays on air, idle) or resume it", TogglePause),
    Action("interrupt", "Interrupt", "F8",
           "Cut the current sentence now and go on with what is next", InterruptNow),
    Action("skip_sentence", "Skip sentence", "F7",
           "Cut the current sentence and continue with the next one", SkipSentence),
    Action("go_now", "Go to selected product now", "Ctrl+Return",
           "Present the product selected in the queue at once", None, "Queue"),
    Action("record", "Start / stop recording", "Ctrl+R",
           "Record the program output to an MP4", None, "Output"),
    Action("help", "Keyboard shortcuts", "?", "Show every action and its key", None, "Help"),
    *_quick_phrase_actions(),
)


def action_by_id(action_id: str) -> Action:
    for action in ACTIONS:
        if action.id == action_id:
            return action
    raise KeyError(action_id)


def effective_keys(overrides: dict[str, str]) -> dict[str, str]:
    """The key for every action: the user's override where set, else the default."""
    return {a.id: overrides.get(a.id, a.default_key) for a in ACTIONS}


def key_conflicts(keys: dict[str, str]) -> dict[str, list[str]]:
    """Keys bound to more than one action (a settings dialog must refuse these)."""
    seen: dict[str, list[str]] = {}
    for action_id, key in keys.items():
        if key:
            seen.setdefault(key.lower(), []).append(action_id)
    return {k: ids for k, ids in seen.items() if len(ids) > 1}
