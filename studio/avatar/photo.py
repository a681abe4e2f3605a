"""The photo avatar: a talking 2.5D twin from one front-facing portrait.

Built once (:func:`build_photo_avatar`, in ``photo_build.py``): mediapipe's face mesh gives
468 landmarks (478 with irises) with depth; they and a coarse grid over the whole photo are
triangulated into one textured mesh whose vertices carry rig weights (head, jaw, lips, gaze,
lids, brows). Per frame the vertex shader deforms the mesh from a handful of uniforms, so a
frame costs four draw calls: the background with the head's area filled in (static), the
generated mouth interior (cavity, teeth, tongue), the photo's own mouth opening (it moves with
the upper jaw) and the person (the photo with a soft person mask as alpha).

The rig lives in image pixels of the stored photo; the photo is fitted into the host rectangle
(whole, centred, standing on its bottom edge). :func:`deform` is the shader's rig in numpy,
used for damage rectangles and tests.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from studio.avatar.base import NO_AUDIO_WINDOW, FrameAudio
from studio.core.errors import StudioError
from studio.core.rects import Rect, clip_rect, union_rect
from studio.face.params import FaceParams

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]

RIG_VERSION = 1
# Columns of a vertex row (mesh.npz "vertices"): image px, depth px toward the viewer, rig
# weights 0..1, the full-blink lid displacement (px) with the eye's side (-1 image left).
VERTEX_FIELDS = ("x", "y", "z", "head", "jaw", "lip", "gaze", "lid_dx", "lid_dy", "side",
                 "brow", "breath")
N_FIELDS = len(VERTEX_FIELDS)
FILES = ("texture.png", "background.png", "mesh.npz", "rig.json", "preview.png")
MAX_HEAD_RAD = 0.35  # beyond this a single photo's 2.5D turn shows its flatness
BREATH_LIFT = 0.006  # a full breath lifts the body this share of the photo's height
DAMAGE_MARGIN_PX = 3
MOVED_PX = 0.02

VISEMES: dict[str, FaceParams] = {
    "rest": FaceParams(),
    "jaw open": FaceParams(jaw_open=1.0),
    "wide": FaceParams(jaw_open=0.35, lip_stretch=1.0, smile=0.4),
    "pucker": FaceParams(jaw_open=0.15, lip_pucker=1.0),
    "blink": FaceParams(blink_left=1.0, blink_right=1.0),
}
"""The viewing set of the preview (and of the window's preview before saving)."""


class PortraitRefused(StudioError):
    """The portrait cannot make a good avatar; the message says why and what photo to take."""

    exit_code = 2


@dataclass
class PhotoAvatarData:
    """Everything the avatar needs, in the photo's pixels (what ``save`` writes)."""

    texture_rgba: U8          # (h, w, 4) the photo, alpha = the person (straight alpha)
    background_rgb: U8        # (h, w, 3) the photo with the head's area filled in
    vertices: F32             # (n, N_FIELDS)
    triangles: npt.NDArray[np.uint32]        # (m, 3) the person
    mouth_triangles: npt.NDArray[np.uint32]  # (k, 3) the photo's own mouth opening
    interior: F32             # (p, N_FIELDS) the generated mouth interior's vertices
    interior_uv: F32          # (p, 2) across the mouth -1..1, px below the upper lip
    interior_triangles: npt.NDArray[np.uint32]
    landmarks: F32            # (478 or 468, 3) image px, depth toward the viewer
    rig: dict[str, Any] = field(default_factory=dict)

    @property
    def size_px(self) -> tuple[int, int]:
        return int(self.texture_rgba.shape[1]), int(self.texture_rgba.shape[0])

    def save(self, folder: Path) -> list[str]:
        """Write the package's avatar files (and a preview of the viseme set) into
        ``folder``; returns their names."""
        from PIL import Image

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(self.texture_rgba, "RGBA").save(folder / "texture.png")
        Image.fromarray(self.background_rgb, "RGB").save(folder / "background.png")
        np.savez_compressed(
            folder / "mesh.npz", vertices=self.vertices, triangles=self.triangles,
            mouth_triangles=self.mouth_triangles, interior=self.interior,
            interior_uv=self.interior_uv, interior_triangles=self.interior_triangles,
            landmarks=self.landmarks)
        rig = dict(self.rig, version=RIG_VERSION, vertex_fields=list(VERTEX_FIELDS))
        (folder / "rig.json").write_text(json.dumps(rig, indent=1, sort_keys=True) + "\n",
                                         encoding="utf-8")
        Image.fromarray(render_preview(self), "RGB").save(folder / "preview.png")
        return list(FILES)

    @staticmethod
    def read(folder: Path) -> PhotoAvatarData:
        """Read what ``save`` wrote; a missing or broken file is refused with its name."""
        from PIL import Image

        folder = Path(folder)
        try:
            texture = np.asarray(Image.open(folder / "texture.png").convert("RGBA"))
            background = np.asarray(Image.open(folder / "background.png").convert("RGB"))
            with np.load(folder / "mesh.npz") as mesh:
                arrays = {k: mesh[k] for k in mesh.files}
            rig = json.loads((folder / "rig.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError) as exc:
            raise StudioError(f"photo avatar {folder}: cannot read its files ({exc}); "
                              "build it again with `studio avatar create`") from exc
        if rig.get("version") != RIG_VERSION or background.shape[:2] != texture.shape[:2]:
            raise StudioError(f"photo avatar {folder}: made by another version of the studio "
                              f"(rig version {rig.get('version')}, this one reads "
                              f"{RIG_VERSION}); build it again with `studio avatar create`")
        try:
            return PhotoAvatarData(
                texture_rgba=np.ascontiguousarray(texture),
                background_rgb=np.ascontiguousarray(background),
                vertices=arrays["vertices"].astype(np.float32),
                triangles=arrays["triangles"].astype(np.uint32),
                mouth_triangles=arrays["mouth_triangles"].astype(np.uint32),
                interior=arrays["interior"].astype(np.float32),
                interior_uv=arrays["interior_uv"].astype(np.float32),
                interior_triangles=arrays["interior_triangles"].astype(np.uint32),
                landmarks=arrays["landmarks"].astype(np.float32), rig=rig)
        except KeyError as exc:
            raise StudioError(f"photo avatar {folder}: mesh.npz lacks {exc}; build it again "
                              "with `studio avatar create`") from exc


def build_photo_avatar(portrait: Path) -> PhotoAvatarData:
    """Build the avatar from one front-facing portrait (JPG or PNG); poor photos are
    refused with :class:`PortraitRefused`."""
    from studio.avatar.photo_build import build

    return build(Path(portrait))


# --- the rig ---------------------------------------------------------------------------------
def _unit(v: float) -> float:
    return min(max(float(v), 0.0), 1.0)


def _head(v: float) -> float:
    return max(-MAX_HEAD_RAD, min(MAX_HEAD_RAD, float(v)))


@dataclass(frozen=True, slots=True)
class Pose:
    """The shader's uniforms for one frame (image px and radians)."""

    width_k: float      # mouth width change (fraction of the distance from the centre)
    smile_px: float     # mouth corners up
    jaw_px: float       # lower lip and chin down
    pucker_px: float    # lips toward the viewer
    blink: tuple[float, float]
    gaze_px: tuple[float, float]   # iris shift along the face's right and down
    brow_px: float
    pose: tuple[float, float, float]  # yaw, pitch, roll
    open_px: float      # the mouth opening (the interior's height)
    tongue_up: float
    breath_px: float = 0.0  # the body lifted (whole frame pixels, see ``with_breath``)

    def key(self) -> tuple[float, ...]:
        return (self.width_k, self.smile_px, self.jaw_px, self.pucker_px, *self.blink,
                *self.gaze_px, self.brow_px, *self.pose, self.breath_px, self.open_px,
                self.tongue_up)

    def with_breath(self, params: FaceParams, height_px: int, scale: float) -> Pose:
        """The breath's lift in whole frame pixels: between steps the body stays put, so only
        the face is redrawn."""
        lift = round(BREATH_LIFT * height_px * scale * _unit(params.breath))
        return replace(self, breath_px=lift / max(scale, 1e-6))


def pose_for(params: FaceParams, rig: dict[str, Any]) -> Pose:
    """Face parameters → rig uniforms; the full-scale amounts match the face tracker's (a
    tracked face drives the twin as far as it moves itself)."""
    jaw, press, pk = _unit(params.jaw_open), _unit(params.lip_press), _unit(params.lip_pucker)
    st, sm = _unit(params.lip_stretch), _unit(params.smile)
    o = jaw * (1.0 - press)
    eye_px = float(rig["eye_distance_px"])
    gx = max(-1.0, min(1.0, float(params.gaze_x)))
    gy = max(-1.0, min(1.0, float(params.gaze_y)))
    eye_w = float(rig["eye_width_px"])
    jaw_px = 0.25 * eye_px * o
    return Pose(
        width_k=0.2 * st + 0.08 * sm - 0.18 * pk - 0.03 * o, smile_px=0.07 * eye_px * sm,
        jaw_px=jaw_px, pucker_px=0.12 * eye_px * pk,
        blink=(_unit(params.blink_left), _unit(params.blink_right)),
        gaze_px=(0.2 * eye_w * gx, -0.12 * eye_w * gy),
        brow_px=0.10 * eye_px * _unit(params.brow_raise),
        pose=(_head(params.head_yaw_rad), _head(params.head_pitch_rad),
              _head(params.head_roll_rad)),
        open_px=float(rig["rest_gap_px"]) + jaw_px, tongue_up=_unit(params.tongue_up))


def deform(vertices: F32, pose: Pose, rig: dict[str, Any]) -> npt.NDArray[np.float64]:
    """Where the vertex shader puts each vertex (image px): the same math, in numpy."""
    v = vertices.astype(np.float64)
    p = v[:, 0:2].copy()
    z = v[:, 2].copy()
    head, jaw, lip, gaze = v[:, 3], v[:, 4], v[:, 5], v[:, 6]
    down = np.array(rig["down"], dtype=np.float64)
    right = np.array([down[1], -down[0]])
    mouth = np.array(rig["mouth"], dtype=np.float64)
    half_w = float(rig["mouth_half_width_px"])
    dx = (p - mouth) @ right
    ax = np.clip(dx / half_w, -1.5, 1.5)
    p += right[None, :] * (lip * dx * pose.width_k)[:, None]
    p -= down[None, :] * (lip * pose.smile_px * ax * ax)[:, None]
    p += down[None, :] * (jaw * pose.jaw_px)[:, None]
    blink = np.where(v[:, 9] < 0.0, pose.blink[0], pose.blink[1])
    p += v[:, 7:9] * blink[:, None]
    p += (right[None, :] * pose.gaze_px[0] + down[None, :] * pose.gaze_px[1]) * gaze[:, None]
    p -= down[None, :] * (v[:, 10] * pose.brow_px)[:, None]
    z += lip * pose.pucker_px
    p[:, 1] -= v[:, 11] * pose.breath_px
    pivot = np.array(rig["pivot"], dtype=np.float64)
    cx, cy, cz = p[:, 0] - pivot[0], p[:, 1] - pivot[1], z - pivot[2]
    yaw, pitch, roll = pose.pose
    x1 = cx * math.cos(yaw) + cz * math.sin(yaw)
    z1 = -cx * math.sin(yaw) + cz * math.cos(yaw)
    y1 = cy * math.cos(pitch) + z1 * math.sin(pitch)
    cr, sr = math.cos(roll), math.sin(roll)
    rx = pivot[0] + x1 * cr - y1 * sr
    ry = pivot[1] + x1 * sr + y1 * cr
    out = p + head[:, None] * (np.column_stack([rx, ry]) - p)
    return np.asarray(out, dtype=np.float64)


VERTEX_SHADER = """
uniform vec3 u_place;    // x, y px of the photo's top-left in the frame, frame px per photo px
uniform vec2 u_frame;    // framebuffer size px
uniform vec4 u_mouth;    // mouth centre xy, mouth half width, unused
uniform vec2 u_down;     // the face's down direction in the photo
uniform vec4 u_shape;    // width change, smile px, jaw px, pucker px
uniform vec2 u_blink;
uniform vec3 u_gaze;     // iris shift along right/down px, brow lift px
uniform vec3 u_pose;     // yaw, pitch, roll
uniform vec3 u_pivot;    // head pivot xyz (photo px)
uniform vec2 u_size;     // photo size px (texture coordinates)
uniform float u_zscale;  // photo px of depth per unit of GL depth
uniform float u_breath;  // body lift px
attribute vec3 a_pos;    // x, y, depth
attribute vec4 a_rig0;   // head, jaw, lip, gaze weights
attribute vec4 a_rig1;   // lid dx, lid dy, side, brow weight
attribute vec2 a_local;  // mouth interior: across -1..1, px below the upper lip
attribute float a_breath;
varying vec2 v_uv;
varying vec2 v_local;

void main() {
    vec2 p = a_pos.xy;
    float z = a_pos.z;
    vec2 right = vec2(u_down.y, -u_down.x);
    vec2 d = p - u_mouth.xy;
    float dx = dot(d, right);
    float ax = clamp(dx / u_mouth.z, -1.5, 1.5);
    float lip = a_rig0.z;
    p += right * (lip * dx * u_shape.x);
    p -= u_down * (lip * u_shape.y * ax * ax);
    p += u_down * (a_rig0.y * u_shape.z);
    float blink = a_rig1.z < 0.0 ? u_blink.x : u_blink.y;
    p += a_rig1.xy * blink;
    p += (right * u_gaze.x + u_down * u_gaze.y) * a_rig0.w;
    p -= u_down * (a_rig1.w * u_gaze.z);
    z += lip * u_shape.w;
    p.y -= a_breath * u_breath;
    vec3 c = vec3(p - u_pivot.xy, z - u_pivot.z);
    float x1 = c.x * cos(u_pose.x) + c.z * sin(u_pose.x);
    float z1 = -c.x * sin(u_pose.x) + c.z * cos(u_pose.x);
    float y1 = c.y * cos(u_pose.y) + z1 * sin(u_pose.y);
    float z2 = -c.y * sin(u_pose.y) + z1 * cos(u_pose.y);
    vec2 r = u_pivot.xy + vec2(x1 * cos(u_pose.z) - y1 * sin(u_pose.z),
                               x1 * sin(u_pose.z) + y1 * cos(u_pose.z));
    p = mix(p, r, a_rig0.x);
    float depth = mix(c.z, z2, a_rig0.x);  // toward the viewer: nearer wins the depth test
    vec2 px = u_place.xy + p * u_place.z;
    gl_Position = vec4(px.x / u_frame.x * 2.0 - 1.0, 1.0 - px.y / u_frame.y * 2.0,
                       clamp(-depth / u_zscale, -0.999, 0.999), 1.0);
    v_uv = a_pos.xy / u_size;
    v_local = vec2(a_local.x, a_local.y + a_rig0.y * u_shape.z);
}
"""

TEXTURED_SHADER = """
uniform sampler2D u_tex;
varying vec2 v_uv;
varying vec2 v_local;
void main() {
    vec4 c = texture2D(u_tex, v_uv);  // premultiplied
    if (c.a < 0.004) discard;  // no depth from what is not there
    gl_FragColor = c;
}
"""

INTERIOR_SHADER = """
uniform vec4 u_inner;    // opening px, upper teeth px, tongue up 0..1, px per frame px
uniform vec3 u_lipc;     // a dark lip-tinted cavity colour
varying vec2 v_uv;
varying vec2 v_local;
void main() {
    float u = v_local.x;
    float y = v_local.y;
    float open = max(u_inner.x, 0.5);
    float across = sqrt(max(1.0 - u * u, 0.0));
    vec3 col = mix(vec3(0.07, 0.015, 0.02), u_lipc * 0.5, smoothstep(0.0, open * 1.2, y));
    col *= 0.45 + 0.55 * across;
    // upper teeth: a band under the upper lip with faint gaps between the teeth
    float th = u_inner.y * pow(across, 0.4);
    float gap = pow(abs(sin(u * 9.4)), 24.0);
    vec3 teeth = vec3(0.93, 0.91, 0.86) * (0.62 + 0.38 * across) * (1.0 - 0.35 * gap);
    teeth *= 1.0 - 0.25 * smoothstep(th * 0.6, th, y);
    float ta = clamp((th - y) / u_inner.w + 0.5, 0.0, 1.0);
    col = mix(col, teeth, ta);
    // tongue: a soft ellipse resting on the lower teeth line, raised with tongue_up
    float r = max(open * 0.3, 1.0);
    float ty = open + r * 0.35 - u_inner.z * open * 0.45;
    vec2 q = vec2(u / 0.55, (y - ty) / r);
    float tl = length(q);
    vec3 tongue = vec3(0.56, 0.22, 0.25) * (0.55 + 0.45 * smoothstep(-1.0, 0.3, -q.y))
                  * (0.6 + 0.4 * across);
    float tga = clamp((1.0 - tl) * r / u_inner.w + 0.5, 0.0, 1.0);
    col = mix(col, tongue, tga * smoothstep(1.5, 3.0, open));
    gl_FragColor = vec4(col, 1.0);
}
"""


def placement(size_px: tuple[int, int], rect_px: Rect) -> tuple[float, float, float]:
    """(x, y, scale): the whole photo in the rect, centred, standing on the rect's bottom."""
    w, h = size_px
    s = min(rect_px[2] / w, rect_px[3] / h)
    return (rect_px[0] + (rect_px[2] - w * s) / 2.0, rect_px[1] + rect_px[3] - h * s, s)


def _bbox(points: npt.NDArray[np.float64], place: tuple[float, float, float]) -> Rect:
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    ox, oy, s = place
    m = DAMAGE_MARGIN_PX
    left, top = math.floor(ox + x0 * s) - m, math.floor(oy + y0 * s) - m
    return (left, top, math.ceil(ox + x1 * s) + m - left, math.ceil(oy + y1 * s) + m - top)


def _premultiplied(rgba: U8) -> U8:
    a = rgba[..., 3:4].astype(np.uint16)
    out = rgba.copy()
    out[..., :3] = ((rgba[..., :3].astype(np.uint16) * a + 127) // 255).astype(np.uint8)
    return out


def _resized(img: U8, w: int, h: int) -> U8:
    from PIL import Image

    if img.shape[1] == w and img.shape[0] == h:
        return np.ascontiguousarray(img)
    mode = "RGBA" if img.shape[2] == 4 else "RGB"
    return np.asarray(Image.fromarray(img, mode).resize((w, h), Image.Resampling.BOX))


class PhotoAvatar:
    """Draws a :class:`PhotoAvatarData` (the Avatar protocol, see ``base.py``)."""

    audio_window_s = NO_AUDIO_WINDOW  # the face parameters drive it, not the sound

    def __init__(self, data: PhotoAvatarData) -> None:
        self.data = data
        self.rig = data.rig
        self._programs: dict[str, Any] = {}
        self._indices: dict[str, Any] = {}
        self._textures: tuple[Any, Any] | None = None
        self._size: tuple[int, int] | None = None
        self._uniforms: dict[tuple[str, str], Any] = {}
        # What the framebuffer holds from the last draw.
        self._drawn_key: tuple[float, ...] | None = None
        self._drawn_rect: Rect | None = None
        self._drawn_pos: npt.NDArray[np.float64] | None = None
        mouth = data.vertices.copy()
        mouth[:, 4] = 0.0  # the photo's own opening stays with the upper jaw
        self._mouth_vertices = mouth
        self._all = np.concatenate([data.vertices, data.interior])
        n = len(data.vertices)
        self._tris = [data.triangles, data.interior_triangles + n]

    @staticmethod
    def load(folder: Path) -> PhotoAvatar:
        """The avatar saved in ``folder`` (GL objects are made at the first draw)."""
        return PhotoAvatar(PhotoAvatarData.read(Path(folder)))

    # --- the Avatar protocol ---------------------------------------------------------------
    def mouth_rect_px(self, rect_px: Rect) -> Rect:
        """The lips and where the jaw takes them, at the neutral pose."""
        lm = self.data.landmarks
        from studio.avatar.photo_build import LIPS_OUTER

        pts = lm[list(LIPS_OUTER), :2].astype(np.float64)
        jaw = 0.25 * float(self.rig["eye_distance_px"])
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0)
        pad = 0.15 * (x1 - x0)
        box = np.array([[x0 - pad, y0 - pad], [x1 + pad, y1 + jaw + pad]])
        return clip_rect(_bbox(box, placement(self.data.size_px, rect_px)), rect_px)

    def damage_rect_px(self, params: FaceParams, rect_px: Rect) -> Rect:
        """Triangles whose vertices move since the last draw, where they were and go."""
        if rect_px != self._drawn_rect or self._drawn_pos is None or self._drawn_key is None:
            return rect_px
        place = placement(self.data.size_px, rect_px)
        pose = pose_for(params, self.rig).with_breath(params, self.data.size_px[1], place[2])
        key = pose.key()
        if key == self._drawn_key:
            return (rect_px[0], rect_px[1], 0, 0)
        new = deform(self._all, pose, self.rig)
        old = self._drawn_pos
        moved = np.abs(new - old).max(axis=1) > MOVED_PX / max(place[2], 1e-6)
        box: Rect | None = None
        for tris in self._tris:
            hit = tris[moved[tris].any(axis=1)]
            if len(hit):
                ids = np.unique(hit)
                hit_box = _bbox(np.concatenate([new[ids], old[ids]]), place)
                box = hit_box if box is None else union_rect(box, hit_box)
        if key[-2:] != self._drawn_key[-2:] or key[2] != self._drawn_key[2]:
            n = len(self.data.vertices)
            eye_box = _bbox(np.concatenate([new[n:], old[n:]]), place)
            box = eye_box if box is None else union_rect(box, eye_box)
        if box is None:
            return (rect_px[0], rect_px[1], 0, 0)
        return clip_rect(box, rect_px)

    def draw(self, params: FaceParams, rect_px: Rect, frame_size_px: tuple[int, int],
             audio: FrameAudio | None = None) -> None:
        """Draw the twin over the bound framebuffer; premultiplied blending, state restored. The
        program's sound (``audio``) is not used: the face parameters drive it."""
        from vispy import gloo
        from vispy.gloo import gl

        place = placement(self.data.size_px, rect_px)
        shown = (max(1, round(self.data.size_px[0] * place[2])),
                 max(1, round(self.data.size_px[1] * place[2])))
        if self._textures is None or shown != self._size:
            self._build(shown)
        pose = pose_for(params, self.rig).with_breath(params, self.data.size_px[1], place[2])
        self._drawn_key = pose.key()
        self._drawn_rect = rect_px
        self._drawn_pos = deform(self._all, pose, self.rig)
        down = tuple(float(v) for v in self.rig["down"])
        common: dict[str, Any] = {
            "u_place": place, "u_frame": (float(frame_size_px[0]), float(frame_size_px[1])),
            "u_mouth": (*[float(v) for v in self.rig["mouth"]],
                        float(self.rig["mouth_half_width_px"]), 0.0),
            "u_down": down,
            "u_shape": (pose.width_k, pose.smile_px, pose.jaw_px, pose.pucker_px),
            "u_blink": pose.blink, "u_gaze": (*pose.gaze_px, pose.brow_px),
            "u_pose": pose.pose, "u_pivot": tuple(float(v) for v in self.rig["pivot"]),
            "u_size": (float(self.data.size_px[0]), float(self.data.size_px[1])),
            "u_zscale": 4.0 * float(self.rig["eye_distance_px"]), "u_breath": pose.breath_px,
        }
        inner = {"u_inner": (pose.open_px, float(self.rig["teeth_px"]), pose.tongue_up,
                             1.0 / max(place[2], 1e-6))}
        get_canvas = gloo.get_current_canvas
        get_canvas().context.flush_commands()
        had_depth = bool(gl.glIsEnabled(gl.GL_DEPTH_TEST))
        had_cull = bool(gl.glIsEnabled(gl.GL_CULL_FACE))
        # The background and the mouth's inside are opaque and behind everything; the photo
        # is depth tested, so where a turned head folds over itself (a cheek past its edge)
        # the nearer surface shows.
        gloo.set_state(blend=False, depth_test=False, cull_face=False)
        for name in ("background", "interior", "mouth", "person"):
            if name == "mouth":
                gloo.clear(color=False, depth=True)  # inside the compositor's scissor
                gloo.set_state(blend=True, depth_test=True)
                gloo.set_depth_func("lequal")
                gloo.set_blend_func("one", "one_minus_src_alpha", "one", "one_minus_src_alpha")
            for k, v in common.items():
                self._set(name, k, v)
            if name == "interior":
                for k, v in inner.items():
                    self._set(name, k, v)
            if self._indices.get(name) is not None:
                self._programs[name].draw("triangles", self._indices[name])
        gloo.set_depth_func("less")
        gloo.set_state(blend=True, depth_test=had_depth)
        gloo.set_blend_func("src_alpha", "one_minus_src_alpha", "one", "one_minus_src_alpha")
        if had_cull:
            gloo.set_state(cull_face=True)

    # --- internals -------------------------------------------------------------------------
    def _set(self, program: str, name: str, value: Any) -> None:
        """Set a uniform only when it changed (gloo queues every set; Python time counts)."""
        if self._uniforms.get((program, name)) != value:
            self._uniforms[(program, name)] = value
            self._programs[program][name] = value

    def _build(self, shown: tuple[int, int]) -> None:
        """Upload the photo at the size it is shown (cheap, sharp sampling on llvmpipe) and
        the meshes (once)."""
        from vispy import gloo

        w, h = shown
        tex = _premultiplied(_resized(self.data.texture_rgba, w, h))
        bg = np.concatenate([_resized(self.data.background_rgb, w, h),
                             np.full((h, w, 1), 255, np.uint8)], axis=2)
        self._textures = (gloo.Texture2D(tex, interpolation="linear", wrapping="clamp_to_edge"),
                          gloo.Texture2D(bg, interpolation="linear", wrapping="clamp_to_edge"))
        self._size = shown
        if not self._programs:
            d = self.data
            sw, sh = d.size_px
            quad = np.zeros((4, N_FIELDS), np.float32)
            quad[:, 0:2] = [[0, 0], [sw, 0], [0, sh], [sw, sh]]
            meshes: dict[str, tuple[F32, npt.NDArray[np.uint32], F32 | None, str]] = {
                "background": (quad, np.array([[0, 1, 2], [1, 3, 2]], np.uint32), None,
                               TEXTURED_SHADER),
                "interior": (d.interior, d.interior_triangles, d.interior_uv, INTERIOR_SHADER),
                "mouth": (self._mouth_vertices, d.mouth_triangles, None, TEXTURED_SHADER),
                "person": (d.vertices, d.triangles, None, TEXTURED_SHADER),
            }
            for name, (verts, tris, local, frag) in meshes.items():
                program: Any = gloo.Program(VERTEX_SHADER, frag)
                buf = np.zeros(len(verts), dtype=[("a_pos", np.float32, 3),
                                                  ("a_rig0", np.float32, 4),
                                                  ("a_rig1", np.float32, 4),
                                                  ("a_local", np.float32, 2),
                                                  ("a_breath", np.float32)])
                buf["a_pos"] = verts[:, 0:3]
                buf["a_rig0"] = verts[:, 3:7]
                buf["a_rig1"] = verts[:, 7:11]
                buf["a_breath"] = verts[:, 11]
                if local is not None:
                    buf["a_local"] = local
                program.bind(gloo.VertexBuffer(buf))
                self._programs[name] = program
                self._indices[name] = (gloo.IndexBuffer(tris.astype(np.uint32).ravel())
                                       if len(tris) else None)
            lip = self.rig.get("lip_rgb", (0.6, 0.3, 0.3))
            self._programs["interior"]["u_lipc"] = tuple(float(c) for c in lip)
        person, background = self._textures
        self._programs["background"]["u_tex"] = background
        self._programs["mouth"]["u_tex"] = person
        self._programs["person"]["u_tex"] = person
        self._drawn_pos = None


def render_visemes(data: PhotoAvatarData, side_px: int = 256,
                   poses: dict[str, FaceParams] | None = None) -> dict[str, U8]:
    """The head at each pose (the viseme set by default), ``side_px`` square RGB crops."""
    from studio.compose.gl import OffscreenGL

    poses = VISEMES if poses is None else poses
    w, h = data.size_px
    k = min(1.0, 1024.0 / max(w, h))
    fw, fh = max(8, round(w * k)), max(8, round(h * k))
    gl = OffscreenGL(fw, fh)
    out: dict[str, U8] = {}
    try:
        avatar = PhotoAvatar(data)
        x0, y0, x1, y1 = (float(v) * k for v in data.rig["head_box"])
        side = max(x1 - x0, y1 - y0)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        crop = (round(cx - side / 2), round(cy - side / 2), round(side), round(side))
        from PIL import Image

        for name, params in poses.items():
            gl.begin()
            from vispy import gloo

            gloo.clear(color=(0.0, 0.0, 0.0, 1.0))
            avatar.draw(params, (0, 0, fw, fh), (fw, fh))
            rgba = gl.read_rgba()
            gl.end()
            cx0, cy0 = max(0, crop[0]), max(0, crop[1])
            part = rgba[cy0:min(fh, crop[1] + crop[3]), cx0:min(fw, crop[0] + crop[2]), :3]
            out[name] = np.asarray(Image.fromarray(np.ascontiguousarray(part)).resize(
                (side_px, side_px), Image.Resampling.LANCZOS))
    finally:
        gl.close()
    return out


def render_preview(data: PhotoAvatarData, side_px: int = 256) -> U8:
    """A contact sheet of the viseme set (rest, jaw open, wide, pucker, blink), labelled."""
    from PIL import Image, ImageDraw

    tiles = render_visemes(data, side_px)
    sheet = Image.new("RGB", (side_px * len(tiles), side_px + 24), (24, 24, 28))
    draw = ImageDraw.Draw(sheet)
    for i, (name, tile) in enumerate(tiles.items()):
        sheet.paste(Image.fromarray(tile), (i * side_px, 0))
        draw.text((i * side_px + 8, side_px + 5), name, fill=(230, 230, 230))
    return np.asarray(sheet)
