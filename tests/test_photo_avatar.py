"""The photo avatar, built from skimage's astronaut (public domain) and drawn by the compositor:
what a viewer sees of the mouth, the eyes and the head; poor photos refused with the reason.

Goldens: ``LIVEHOST_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/test_photo_avatar.py``
writes them again (look at them before committing).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from studio.avatar.photo import (
    FILES,
    VISEMES,
    PhotoAvatar,
    PhotoAvatarData,
    PortraitRefused,
    build_photo_avatar,
    deform,
    placement,
    pose_for,
)
from studio.compose.compositor import Compositor
from studio.face.params import FaceParams
from studio.show.model import Stage

GOLDEN = Path(__file__).parent / "golden" / "photo_avatar"
W, H = 640, 360
U8 = npt.NDArray[np.uint8]


def _astronaut() -> U8:
    from skimage import data

    return np.asarray(data.astronaut(), dtype=np.uint8)


def _save(tmp: Path, rgb: U8, name: str) -> Path:
    path = tmp / name
    Image.fromarray(rgb).save(path)
    return path


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("photo")
    built = build_photo_avatar(_save(tmp, _astronaut(), "astronaut.png"))
    folder = tmp / "avatar"
    assert built.save(folder) == list(FILES)
    return folder


@pytest.fixture(scope="module")
def comp(package: Path) -> Iterator[Compositor]:
    c = Compositor(W, H, Stage(), lambda: PhotoAvatar.load(package))
    yield c
    c.close()


Render = Callable[[FaceParams], U8]


def _renderer(comp: Compositor) -> Render:
    def draw(params: FaceParams) -> U8:
        comp.compose(params, card_alpha=0.0, label=False)
        return np.asarray(comp.read_rgba()[..., :3])

    return draw


@pytest.fixture(scope="module")
def big(package: Path) -> Iterator[Compositor]:
    """720p, for the eyes (a few pixels tall at 360p) and the face tracker."""
    c = Compositor(1280, 720, Stage(), lambda: PhotoAvatar.load(package))
    yield c
    c.close()


@pytest.fixture(scope="module")
def render(comp: Compositor) -> Render:
    return _renderer(comp)


def _avatar(comp: Compositor) -> PhotoAvatar:
    avatar = comp._avatar
    assert isinstance(avatar, PhotoAvatar)
    return avatar


def _to_frame(comp: Compositor, pts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    avatar = _avatar(comp)
    ox, oy, s = placement(avatar.data.size_px, comp.layout.host_rect_px)
    return np.column_stack([ox + pts[:, 0] * s, oy + pts[:, 1] * s])


def _box(comp: Compositor, ids: list[int], pad: float = 0.0) -> tuple[slice, slice]:
    lm = _avatar(comp).data.landmarks.astype(np.float64)
    p = _to_frame(comp, lm[ids, :2])
    x0, y0 = p.min(axis=0)
    x1, y1 = p.max(axis=0)
    px, py = pad * (x1 - x0), pad * (y1 - y0)
    return (slice(math.floor(y0 - py), math.ceil(y1 + py)),
            slice(math.floor(x0 - px), math.ceil(x1 + px)))


def _dark(rgb: U8) -> int:
    return int((rgb.astype(int).max(axis=2) < 70).sum())


def test_the_package_reads_back_as_saved(package: Path) -> None:
    data = PhotoAvatarData.read(package)
    assert data.size_px == (512, 512)
    assert len(data.landmarks) == 478
    assert data.texture_rgba.shape == (512, 512, 4)
    preview = np.asarray(Image.open(package / "preview.png"))
    assert preview.shape[1] == 5 * preview.shape[0] - 5 * 24  # five square tiles and labels
    # the head is opaque in the texture, the photo's far background is not
    assert data.texture_rgba[100, 220, 3] == 255 and data.texture_rgba[20, 480, 3] < 30


def test_the_mouth_opens_with_the_jaw_and_a_closed_mouth_shows_no_gap(
        comp: Compositor, render: Render) -> None:
    mouth = _avatar(comp).mouth_rect_px(comp.layout.host_rect_px)
    x, y, w, h = mouth
    dark = []
    for jaw in (0.0, 0.25, 0.5, 1.0):
        frame = render(FaceParams(jaw_open=jaw))
        dark.append(_dark(frame[y:y + h, x:x + w]))
    rest = _dark(render(FaceParams())[y:y + h, x:x + w])
    assert rest <= 0.01 * w * h, f"closed mouth shows {rest} dark pixels"
    assert dark[0] == rest
    assert dark[1] > dark[0] and dark[2] > dark[1] and dark[3] > dark[2], dark
    assert dark[3] >= 0.06 * w * h, f"wide open mouth: only {dark} dark pixels"
    # pressed lips stay shut whatever the jaw
    assert _dark(render(FaceParams(jaw_open=1.0, lip_press=1.0))[y:y + h, x:x + w]) == rest


def _skin_share(rgb: U8) -> float:
    """The share of pixels with a skin's colour (red over green over blue, not dark): not
    the eye's white, not its iris."""
    p = rgb.reshape(-1, 3).astype(int)
    r, g, b = p[:, 0], p[:, 1], p[:, 2]
    return float(((r > g) & (g > b) & (r - b > 35) & (p.max(axis=1) >= 70)).mean())


def test_blinks_close_the_eyes(big: Compositor) -> None:
    from studio.avatar.photo_build import LIDS_L, LIDS_R

    render = _renderer(big)
    open_ = render(FaceParams())
    shut = render(FaceParams(blink_left=1.0, blink_right=1.0))
    left_only = render(FaceParams(blink_left=1.0))
    for lids in (LIDS_L, LIDS_R):
        box = _box(big, [i for pair in lids for i in pair], pad=0.1)
        # the eye's white and iris go: the eye takes the colour of the skin around it
        assert _skin_share(open_[box]) < 0.85 and _skin_share(shut[box]) > 0.93
        assert _dark(open_[box]) >= 8 and _dark(shut[box]) == 0
    right = _box(big, [i for pair in LIDS_R for i in pair], pad=0.1)
    assert np.abs(left_only[right].astype(int) - open_[right]).max() <= 1  # one eye winks


def test_the_eyes_look_where_the_gaze_goes(big: Compositor) -> None:
    from studio.avatar.photo_build import LIDS_L, LIDS_R

    render = _renderer(big)

    def iris_x(rgb: U8) -> float:
        _, xs = np.nonzero(rgb.astype(int).max(axis=2) < 70)
        return float(xs.mean())

    frames = {g: render(FaceParams(gaze_x=g)) for g in (-1.0, 0.0, 1.0)}
    for lids in (LIDS_L, LIDS_R):
        box = _box(big, [i for pair in lids for i in pair], pad=0.1)
        left, mid, right = (iris_x(frames[g][box]) for g in (-1.0, 0.0, 1.0))
        assert left < mid - 0.5 and right > mid + 0.5, (left, mid, right)


def test_head_turns_move_the_face_not_the_background(comp: Compositor, render: Render) -> None:
    rest = render(FaceParams()).astype(int)
    turned = render(FaceParams(head_yaw_rad=0.3, head_roll_rad=0.1)).astype(int)
    face = _box(comp, [1, 4, 5, 195])  # the nose
    assert np.abs(turned[face] - rest[face]).mean() > 12
    avatar = _avatar(comp)
    ox, oy, s = placement(avatar.data.size_px, comp.layout.host_rect_px)
    pw, ph = avatar.data.size_px[0] * s, avatar.data.size_px[1] * s
    for cx, cy in ((ox + 4, oy + 4), (ox + pw - 6, oy + 4), (ox + 4, oy + ph - 6),
                   (ox + pw - 6, oy + ph - 6)):
        corner = (slice(int(cy) - 2, int(cy) + 2), slice(int(cx) - 2, int(cx) + 2))
        assert np.abs(turned[corner] - rest[corner]).max() <= 1
    # nothing shows a hole where the head was: no pixel of the stage background in the photo
    photo = turned[int(oy) + 2:int(oy + ph) - 2, int(ox) + 2:int(ox + pw) - 2]
    stage = rest[5:15, W - 15:W - 5].reshape(-1, 3).mean(axis=0)
    assert (np.abs(photo - stage).sum(axis=2) < 6).mean() < 0.002


def test_breath_lifts_the_body_not_the_photo_edges(comp: Compositor, render: Render) -> None:
    rest = render(FaceParams()).astype(int)
    breath = render(FaceParams(breath=1.0)).astype(int)
    avatar = _avatar(comp)
    ox, oy, s = placement(avatar.data.size_px, comp.layout.host_rect_px)
    pw, ph = avatar.data.size_px[0] * s, avatar.data.size_px[1] * s
    lift = round(0.006 * 512 * s)
    assert lift >= 1
    chin = _box(comp, [152, 148, 377, 175])  # the chin: a sharp edge over the dark collar
    y, x = chin
    assert np.abs(breath[chin] - rest[chin]).mean() > 3
    # what was at the chin is now ``lift`` pixels higher
    up = (slice(y.start - lift, y.stop - lift), x)
    assert np.abs(breath[up] - rest[chin]).mean() < 0.5 * np.abs(breath[chin] - rest[chin]).mean()
    for cx, cy in ((ox + 4, oy + 4), (ox + pw - 6, oy + 4), (ox + 4, oy + ph - 6),
                   (ox + pw - 6, oy + ph - 6)):  # the photo's frame stays
        corner = (slice(int(cy) - 2, int(cy) + 2), slice(int(cx) - 2, int(cx) + 2))
        assert np.abs(breath[corner] - rest[corner]).max() <= 1


def test_damage_redraw_equals_full_redraw(package: Path) -> None:
    tracked = Compositor(320, 180, Stage(), lambda: PhotoAvatar.load(package))
    full = Compositor(320, 180, Stage(), lambda: PhotoAvatar.load(package))
    rng = np.random.default_rng(7)
    areas = []
    for i in range(24):
        p = FaceParams(jaw_open=float(abs(math.sin(i * 0.7))), lip_pucker=float(rng.uniform(0, .6)),
                       blink_left=float(i % 9 == 0), blink_right=float(i % 9 == 0),
                       head_yaw_rad=0.25 * math.sin(i * 0.3) if i % 6 == 0 else 0.0,
                       gaze_x=float(rng.uniform(-1, 1)), tongue_up=float(i % 5 == 0),
                       breath=float(0.5 + 0.5 * math.sin(i * 0.4)))
        tracked.compose(p, card_alpha=0.0)
        full.invalidate()
        full.compose(p, card_alpha=0.0)
        diff = np.abs(tracked.read_rgba().astype(int) - full.read_rgba().astype(int)).max()
        assert diff <= 1, f"frame {i}: damage redraw differs from a full redraw by {diff}"
        areas.append(sum(r[2] * r[3] for r in tracked._damage))
    host = tracked.layout.host_rect_px
    assert np.median(areas[1:]) < 0.3 * host[2] * host[3]
    tracked.close()
    full.close()


def test_the_numpy_rig_matches_the_shader(comp: Compositor, render: Render) -> None:
    """The nose goes where ``deform`` (the damage rectangles' rig) says the shader puts it."""
    avatar = _avatar(comp)
    params = FaceParams(head_yaw_rad=0.3, head_pitch_rad=0.1)
    nose = avatar.data.landmarks[[4], :2].astype(np.float64)
    moved = deform(avatar.data.vertices[[4]], pose_for(params, avatar.rig), avatar.rig)
    (rx, ry), (nx, ny) = _to_frame(comp, nose)[0], _to_frame(comp, moved)[0]
    assert nx - rx > 3.0  # yaw > 0 turns the nose to the viewer's right
    rest, turned = render(FaceParams()).astype(float), render(params).astype(float)
    k = 7
    patch = rest[round(ry) - k:round(ry) + k, round(rx) - k:round(rx) + k]
    errors = {}
    for dy in range(-6, 12):
        for dx in range(-4, 22):
            y, x = round(ry) + dy, round(rx) + dx
            errors[(dx, dy)] = float(np.abs(turned[y - k:y + k, x - k:x + k] - patch).mean())
    found = min(errors, key=errors.__getitem__)
    assert abs(found[0] - (nx - rx)) <= 2.0 and abs(found[1] - (ny - ry)) <= 2.0, found


@pytest.mark.parametrize("name", ["rest", "jaw open", "blink"])
def test_golden_visemes(comp: Compositor, render: Render, name: str) -> None:
    frame = render(VISEMES[name])
    crop = frame[_box(comp, list(range(468)), pad=0.2)]
    path = GOLDEN / f"{name.replace(' ', '_')}.png"
    if os.environ.get("LIVEHOST_REGEN_GOLDEN") == "1":
        GOLDEN.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.ascontiguousarray(crop)).save(path)
    golden = np.asarray(Image.open(path).convert("RGB")).astype(int)
    assert golden.shape == crop.shape, f"{name}: the face moved ({golden.shape} vs {crop.shape})"
    diff = np.abs(golden - crop.astype(int))
    assert diff.mean() < 3.0 and np.percentile(diff, 99) < 48, (name, diff.mean())


def test_the_rendered_face_tracks_with_the_jaw(big: Compositor) -> None:
    """The face tracker reads the twin's mouth as it was driven: landmarks follow the jaw."""
    from studio.face.tracking import CALIBRATION_FRAMES, FaceTracker

    render = _renderer(big)
    head = _box(big, list(range(468)), pad=0.5)  # the tracker wants a face, not a stage
    frames = {jaw: np.ascontiguousarray(render(FaceParams(jaw_open=jaw))[head])
              for jaw in (0.0, 0.5, 1.0)}
    tracked = {}
    with FaceTracker(smoothing=False) as tracker:
        for i in range(CALIBRATION_FRAMES):
            assert tracker.track(frames[0.0], i / 30) is not None
        for jaw in (0.0, 0.5, 1.0):
            face = tracker.track(frames[jaw], 1.0 + jaw)
            assert face is not None
            tracked[jaw] = face.params.jaw_open
    assert tracked[0.0] < 0.1, tracked
    assert 0.2 < tracked[0.5] < 0.8, tracked
    assert tracked[1.0] > 0.6 and tracked[1.0] > tracked[0.5], tracked


# --- poor photos ------------------------------------------------------------------------------
def _two(a: U8) -> U8:
    return np.concatenate([a, a], axis=1)


def _small(a: U8) -> U8:
    canvas = np.full((1024, 1024, 3), 200, np.uint8)
    canvas[384:640, 384:640] = np.asarray(Image.fromarray(a).resize((256, 256)))
    return canvas


@pytest.mark.parametrize("make, words", [
    (lambda a: np.full((512, 512, 3), (90, 140, 200), np.uint8), ["no face", "front-facing"]),
    (_two, ["2 faces", "one person"]),
    (_small, ["too small", "crop the photo"]),
    (lambda a: np.ascontiguousarray(a[:, :256]), ["cut off", "space around the head"]),
    (lambda a: np.asarray(Image.fromarray(a).resize((100, 100))), ["tiny", "256 px"]),
], ids=["no-face", "two-faces", "too-small", "cut-off", "tiny"])
def test_poor_photos_are_refused_with_what_to_take(
        tmp_path: Path, make: Callable[[U8], U8], words: list[str]) -> None:
    portrait = _save(tmp_path, make(_astronaut()), "portrait.png")
    with pytest.raises(PortraitRefused) as refused:
        build_photo_avatar(portrait)
    for word in words:
        assert word in str(refused.value)
    assert refused.value.exit_code == 2


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    portrait = tmp_path / "portrait.jpg"
    portrait.write_bytes(b"not a picture at all")
    with pytest.raises(PortraitRefused, match=r"cannot read the portrait .*JPG or PNG"):
        build_photo_avatar(portrait)


def test_a_turned_face_is_measured_as_turned() -> None:
    """The turn estimate (refusing faces turned away) on the astronaut's landmarks turned in
    3D by a known angle."""
    from studio.avatar.photo_build import turn_deg

    lm = _landmarks_once()
    c = lm.mean(axis=0)
    base_yaw, base_pitch = turn_deg(lm)
    assert abs(base_yaw) < 8 and abs(base_pitch) < 8
    for deg in (25.0, -30.0):
        a = math.radians(deg)
        cos, sin = math.cos(a), math.sin(a)
        yaw_rot = np.array([[cos, 0, sin], [0, 1, 0], [-sin, 0, cos]])  # the nose to the right
        pitch_rot = np.array([[1, 0, 0], [0, cos, sin], [0, -sin, cos]])  # the nose down
        yaw, _ = turn_deg((lm - c) @ yaw_rot.T + c)
        _, pitch = turn_deg((lm - c) @ pitch_rot.T + c)
        assert abs(yaw - base_yaw - deg) < 4.0, (deg, yaw)
        assert abs(pitch - base_pitch - deg) < 4.0, (deg, pitch)


_LM: list[npt.NDArray[np.float64]] = []


def _landmarks_once() -> npt.NDArray[np.float64]:
    if not _LM:
        from studio.avatar.photo_build import check_portrait

        _LM.append(check_portrait(_astronaut(), "astronaut.png")[1])
    return _LM[0]
