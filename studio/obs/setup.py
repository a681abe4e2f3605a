"""Put the LiveHost scenes into OBS, idempotently: running it again changes nothing.

Two scenes, ``LiveHost · AI`` and ``LiveHost · Human``, each hold our program picture (the
virtual camera as a video capture source when there is one, else a Media Source on our
local MPEG-TS stream) fitted to the canvas, and two text sources that follow the product on
air. Only the AI scene carries the "AI-generated" label: when a human has taken over, the
picture is not synthetic. Everything is found by name, so a user's own scenes, sources and
layout changes are left alone; only what is missing is created, and only our own inputs
whose settings drifted are updated.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from studio.core.errors import StudioError, UserInputError
from studio.obs.client import (
    STATUS_OUTPUT_RUNNING,
    ObsClient,
    ObsRequestError,
    ObsVersion,
    VideoSettings,
)
from studio.outputs.base import redact

AI_SCENE = "LiveHost · AI"
HUMAN_SCENE = "LiveHost · Human"
PROGRAM_INPUT = "LiveHost · Program"
PRODUCT_INPUT = "LiveHost · Product"
PRICE_INPUT = "LiveHost · Price"
AI_LABEL_INPUT = "LiveHost · AI label"
AI_LABEL_TEXT = "AI-generated · AI生成"  # the same words the program picture carries

# Text source kinds, newest first: Windows (GDI+, v3 since OBS 30), then FreeType 2.
TEXT_KINDS = ("text_gdiplus_v3", "text_gdiplus_v2", "text_ft2_source_v2")
STREAM_FORMATS = {"udp": "mpegts", "srt": "mpegts", "tcp": "mpegts", "rtp": "mpegts"}

# obs_alignment flags: left 1, right 2, top 4, bottom 8 (0 is the centre)
_TOP_LEFT = 5
_TOP_RIGHT = 6


@dataclass(frozen=True, slots=True)
class ObsProgramSource:
    """Where OBS takes our picture from: the virtual camera device, or our stream's URL."""

    virtualcam_device: str | None = None
    stream_url: str | None = None

    def __post_init__(self) -> None:
        if bool(self.virtualcam_device) == bool(self.stream_url):
            raise UserInputError("OBS needs one picture source: either the virtual camera "
                                 "(--virtualcam DEVICE) or our stream (--stream udp://…)")
        if self.stream_url and "://" not in self.stream_url:
            raise UserInputError(f"stream {redact(self.stream_url)!r} is not a URL; use "
                                 "udp://127.0.0.1:PORT, the target of the studio's stream output")

    def describe(self) -> str:
        if self.virtualcam_device:
            return f"virtual camera {self.virtualcam_device}"
        return f"stream {redact(self.stream_url or '')}"


@dataclass(slots=True)
class SetupReport:
    """What ``setup_obs`` did; ``found`` lists what was already there as wanted."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.removed)

    def lines(self) -> list[str]:
        out = [f"created  {what}" for what in self.created]
        out += [f"updated  {what}" for what in self.updated]
        out += [f"removed  {what}" for what in self.removed]
        out += [f"found    {what}" for what in self.found]
        out += [f"note     {what}" for what in self.notes]
        return out


def program_input(program: ObsProgramSource, version: ObsVersion) -> tuple[str, dict[str, Any]]:
    """The input kind and settings that show ``program`` on this OBS's platform."""
    if program.stream_url:
        url = program.stream_url
        scheme = url.split("://", 1)[0].lower()
        return "ffmpeg_source", {
            "is_local_file": False,
            "input": url,
            "input_format": STREAM_FORMATS.get(scheme, ""),
            "buffering_mb": 0,  # show each frame as it comes: no network buffer
            "hw_decode": False,  # a hardware decoder adds frames of delay on a 720p stream
            # A live stream has nothing to restart: with restart on, every switch from
            # another scene to ours showed black for ~4 s (reopen, probe, wait for a key frame).
            "restart_on_activate": False,
            "close_when_inactive": False,  # keep decoding while another scene is shown
            "clear_on_media_end": False,  # keep the last picture over a gap in the stream
            "reconnect_delay_sec": 1,
        }
    device = program.virtualcam_device or ""
    platform = version.platform
    if platform == "windows":
        return "dshow_input", {"video_device_id": device if ":" in device else f"{device}:",
                               "active": True, "res_type": 0}
    if platform == "macos":
        return "av_capture_input", {"device": device, "device_name": device}
    return "v4l2_input", {"device_id": device}


def _text_kind(version: ObsVersion) -> str:
    for kind in TEXT_KINDS:
        if kind in version.input_kinds:
            return kind
    raise StudioError("this OBS has no text source (" + ", ".join(TEXT_KINDS) + "); install "
                      "OBS with its standard plugins (text-freetype2 on Linux and macOS)")


def _text_settings(kind: str, platform: str, text: str, size_px: int) -> dict[str, Any]:
    # A CJK face: product names and the label are often Chinese, and FreeType 2 sources
    # have no font fallback.
    face = {"windows": "Microsoft YaHei", "macos": "PingFang SC"}.get(platform,
                                                                       "Noto Sans CJK SC")
    font = {"face": face, "size": size_px, "style": "Bold", "flags": 1}
    if kind.startswith("text_gdiplus"):
        return {"text": text, "font": font, "color": 0xFFFFFF, "outline": True,
                "outline_size": max(2, size_px // 14), "outline_color": 0x000000}
    return {"text": text, "font": font, "color1": 0xFFFFFFFF, "color2": 0xFFFFFFFF,
            "outline": True, "drop_shadow": False}


def _fit_transform(video: VideoSettings) -> dict[str, Any]:
    """The picture scaled (aspect kept) to fill the canvas, centred."""
    return {"positionX": 0.0, "positionY": 0.0, "alignment": _TOP_LEFT,
            "boundsType": "OBS_BOUNDS_SCALE_INNER", "boundsAlignment": 0,
            "boundsWidth": float(video.base_width_px), "boundsHeight": float(video.base_height_px),
            "rotation": 0.0, "cropLeft": 0, "cropRight": 0, "cropTop": 0, "cropBottom": 0}


def _differs(wanted: Any, current: Any) -> bool:
    if isinstance(wanted, dict) and isinstance(current, dict):
        return any(_differs(v, current.get(k)) for k, v in wanted.items())
    if isinstance(wanted, bool) or isinstance(current, bool):
        return bool(wanted) != bool(current) or type(wanted) is not type(current)
    if isinstance(wanted, int | float) and isinstance(current, int | float):
        return abs(float(wanted) - float(current)) > 1e-6
    return bool(wanted != current)


class _Setup:
    def __init__(self, client: ObsClient, report: SetupReport) -> None:
        self.client = client
        self.report = report
        self.version = client.version()
        self.inputs = {i.name: i.kind for i in client.inputs()}
        self.replace_items = False

    def ensure_scene(self, name: str, scenes: set[str]) -> None:
        if name in scenes:
            self.report.found.append(f"scene {name}")
            return
        if name in self.inputs:
            raise StudioError(f"OBS already has a source named {name!r} that is not a scene; "
                              "rename or remove it in OBS, then run the setup again")
        self.client.create_scene(name)
        self.report.created.append(f"scene {name}")

    def ensure_input(self, name: str, kind: str, settings: dict[str, Any], first_scene: str,
                     describe: str, *, enforce: tuple[str, ...] | None = None) -> int | None:
        """Create the input (in ``first_scene``) or bring the settings named in ``enforce``
        (all of them when None) in line; returns the new scene item's id when it was
        created. The rest (a text's font and colours) stays as the user styled it."""
        if name in self.inputs and self.inputs[name] != kind:
            self.retire_input(name)
            self.report.removed.append(f"input {name} ({self.inputs[name]}, replaced by {kind})")
            del self.inputs[name]
        if name not in self.inputs:
            item_id = self.client.create_input(first_scene, name, kind, settings)
            self.inputs[name] = kind
            self.report.created.append(f"input {name} ({describe}) in {first_scene}")
            return item_id
        _, current = self.client.input_settings(name)
        defaults = self.client.call("GetInputDefaultSettings", inputKind=kind).get(
            "defaultInputSettings") or {}
        drift = {k: v for k, v in settings.items()
                 if (enforce is None or k in enforce)
                 and _differs(v, current.get(k, defaults.get(k)))}
        if drift:
            self.client.set_input_settings(name, drift)
            self.report.updated.append(f"input {name}: " + ", ".join(sorted(drift)))
        else:
            self.report.found.append(f"input {name} ({describe})")
        return None

    def retire_input(self, name: str) -> None:
        """Take an input of ours out of OBS. OBS 29 keeps a source that RemoveInput was
        asked to remove (and its name, and its scene items) while anything still holds it:
        free the name first, then take it out of every scene, which releases it."""
        spare = f"{name} (removed {uuid.uuid4().hex[:8]})"
        self.client.call("SetInputName", inputName=name, newInputName=spare)
        for scene in self.client.scenes().scenes:
            for item in self.client.scene_items(scene):
                if item.source_name == spare:
                    self.client.call("RemoveSceneItem", sceneName=scene,
                                     sceneItemId=item.item_id)
        with contextlib.suppress(ObsRequestError):  # already gone with its last item
            self.client.remove_input(spare)

    def ensure_item(self, scene: str, source: str, transform: dict[str, Any],
                    new_item: int | None = None, bottom: bool = False) -> None:
        """``source`` in ``scene``: added (and placed) when missing, else left as the user
        arranged it (unless this run changed the canvas: then it is placed again)."""
        items = {i.source_name: i for i in self.client.scene_items(scene)}
        item_id = new_item
        if item_id is None:
            if source in items:
                if not self.replace_items:
                    self.report.found.append(f"{source} in {scene}")
                    return
                item_id = items[source].item_id
                self.report.updated.append(f"{source} in {scene}: placed for the new canvas")
            else:
                item_id = self.client.create_scene_item(scene, source)
                self.report.created.append(f"{source} in {scene}")
        self.client.set_scene_item_transform(scene, item_id, transform)
        if bottom:
            self.client.set_scene_item_index(scene, item_id, 0)

    def remove_item(self, scene: str, source: str) -> None:
        for item in self.client.scene_items(scene):
            if item.source_name == source:
                self.client.call("RemoveSceneItem", sceneName=scene, sceneItemId=item.item_id)
                self.report.removed.append(f"{source} from {scene}")


def setup_obs(client: ObsClient, *, program: ObsProgramSource, product_text: str = "",
              price_text: str = "", canvas_px: tuple[int, int] | None = None) -> SetupReport:
    """Create what is missing of the LiveHost scenes in the connected OBS.

    ``product_text``/``price_text`` set the text sources (kept as they are when empty).
    ``canvas_px`` sets OBS's canvas (base and output resolution) when it differs and OBS is
    not streaming or recording; without it the canvas is the user's and the picture is
    fitted into it."""
    report = SetupReport()
    s = _Setup(client, report)
    video = client.video_settings()
    if canvas_px is not None and (video.base_width_px, video.base_height_px) != canvas_px:
        try:
            client.set_canvas(*canvas_px)
            report.updated.append(f"canvas {video.base_width_px}x{video.base_height_px} → "
                                  f"{canvas_px[0]}x{canvas_px[1]}")
            video = client.video_settings()
            s.replace_items = True
        except ObsRequestError as exc:
            if exc.code != STATUS_OUTPUT_RUNNING:
                raise
            report.notes.append("OBS is streaming or recording, so its canvas stays "
                                f"{video.base_width_px}x{video.base_height_px}")
    scenes = set(client.scenes().scenes)
    for scene in (AI_SCENE, HUMAN_SCENE):
        s.ensure_scene(scene, scenes)

    kind, settings = program_input(program, s.version)
    if kind not in s.version.input_kinds:
        raise StudioError(f"this OBS has no {kind} source for the {program.describe()}; "
                          "use the stream instead (--stream udp://127.0.0.1:PORT)"
                          if program.virtualcam_device else
                          f"this OBS has no {kind} (Media Source); install OBS with its "
                          "standard plugins (obs-ffmpeg)")
    new_program = s.ensure_input(PROGRAM_INPUT, kind, settings, AI_SCENE,
                                 f"{kind}, {program.describe()}")
    fit = _fit_transform(video)
    s.ensure_item(AI_SCENE, PROGRAM_INPUT, fit, new_program, bottom=True)
    s.ensure_item(HUMAN_SCENE, PROGRAM_INPUT, fit, bottom=True)

    text_kind = _text_kind(s.version)
    w, h = video.base_width_px, video.base_height_px
    platform = s.version.platform
    texts = (
        (PRODUCT_INPUT, product_text, round(h * 0.055), (0.03 * w, 0.76 * h), _TOP_LEFT),
        (PRICE_INPUT, price_text, round(h * 0.075), (0.03 * w, 0.85 * h), _TOP_LEFT),
    )
    for name, text, size_px, (x, y), align in texts:
        wanted = _text_settings(text_kind, platform, text, size_px)
        new_item = s.ensure_input(name, text_kind, wanted, AI_SCENE, text_kind,
                                  enforce=("text",) if text else ())
        place = {"positionX": x, "positionY": y, "alignment": align,
                 "boundsType": "OBS_BOUNDS_NONE", "scaleX": 1.0, "scaleY": 1.0}
        s.ensure_item(AI_SCENE, name, place, new_item)
        s.ensure_item(HUMAN_SCENE, name, place)
    label = _text_settings(text_kind, platform, AI_LABEL_TEXT, round(h * 0.045))
    new_label = s.ensure_input(AI_LABEL_INPUT, text_kind, label, AI_SCENE, text_kind,
                               enforce=("text",))
    s.ensure_item(AI_SCENE, AI_LABEL_INPUT, {"positionX": 0.97 * w, "positionY": 0.03 * h,
                                             "alignment": _TOP_RIGHT,
                                             "boundsType": "OBS_BOUNDS_NONE",
                                             "scaleX": 1.0, "scaleY": 1.0}, new_label)
    s.remove_item(HUMAN_SCENE, AI_LABEL_INPUT)  # a human on air is not AI-generated
    return report


def set_product_texts(client: ObsClient, name: str, price_text: str) -> None:
    """The product on air into the two text sources."""
    client.set_input_settings(PRODUCT_INPUT, {"text": name})
    client.set_input_settings(PRICE_INPUT, {"text": price_text})
