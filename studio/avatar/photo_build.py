"""Building a photo avatar from one portrait: checks, landmarks, mesh, rig weights, layers.

A poor photo is refused before anything is built, with what is wrong and what to take
instead. Faces are counted and sized by mediapipe's full-range face detector (a face too small
to find in the whole photo is looked for in zoomed tiles, so "too small" is told apart from
"no face"); the face mesh then gives the landmarks, with depth.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from studio.avatar.photo import N_FIELDS, PhotoAvatarData, PortraitRefused
from studio.face.tracking import keep_qt_environment

F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]

MIN_SIDE_PX = 256
MAX_SIDE_PX = 1600          # larger photos are scaled down first (texture size, speed)
MIN_FACE_PX = 80            # the detector's face box (brows to chin) at least this wide
MIN_FACE_SHARE = 0.12       # ... and this share of the photo's short side
MAX_TURN_DEG = 20.0
LEVEL_PITCH_DEG = 10.0      # the face mesh puts a level face's chin this far behind its brow
BORDER_MARGIN = 0.10        # the face box grown by this share of its size must fit the photo
GRID_CELLS = 24             # grid points across the photo's short side

FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378,
             400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54,
             103, 67, 109)
LIPS_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84,
              181, 91, 146)
LIPS_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87,
              178, 88, 95)
UPPER_LIP = (185, 40, 39, 37, 0, 267, 269, 270, 409, 191, 80, 81, 82, 13, 312, 311, 310, 415,
             184, 74, 73, 72, 11, 302, 303, 304, 408, 183, 42, 41, 38, 12, 268, 271, 272, 407)
LOWER_LIP = (375, 321, 405, 314, 17, 84, 181, 91, 146, 324, 318, 402, 317, 14, 87, 178, 88, 95,
             307, 320, 404, 315, 16, 85, 180, 90, 77, 325, 319, 403, 316, 15, 86, 179, 89, 96)
CORNERS = (61, 291, 78, 308, 76, 306, 62, 292)
# Lids: (upper, lower) pairs per eye, image left eye first; the ring above each upper lid.
LIDS_L = ((246, 7), (161, 163), (160, 144), (159, 145), (158, 153), (157, 154), (173, 155))
LIDS_R = ((466, 249), (388, 390), (387, 373), (386, 374), (385, 380), (384, 381), (398, 382))
CREASE_L = (247, 30, 29, 27, 28, 56, 190)
CREASE_R = (467, 260, 259, 257, 258, 286, 414)
BROWS = (70, 63, 105, 66, 107, 46, 53, 52, 65, 55, 300, 293, 334, 296, 336, 276, 283, 282,
         295, 285)
IRIS_L = (468, 469, 470, 471, 472)
IRIS_R = (473, 474, 475, 476, 477)


def _smoothstep(e0: float, e1: float, x: F64) -> F64:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return np.asarray(t * t * (3.0 - 2.0 * t), dtype=np.float64)


def _read(portrait: Path) -> U8:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(portrait) as im:
            im.load()
            rgb = ImageOps.exif_transpose(im).convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise PortraitRefused(
            f"cannot read the portrait {portrait} ({exc}); give a JPG or PNG photo "
            "(export it again from the camera or photo app)") from exc
    w, h = rgb.size
    if min(w, h) < MIN_SIDE_PX:
        raise PortraitRefused(
            f"the portrait {portrait.name} is tiny ({w}x{h} px); take or export a photo at "
            f"least {MIN_SIDE_PX} px on its short side (1000 px or more is best)")
    k = MAX_SIDE_PX / max(w, h)
    if k < 1.0:
        rgb = rgb.resize((round(w * k), round(h * k)), Image.Resampling.LANCZOS)
    return np.ascontiguousarray(np.asarray(rgb))


_TAKE = ("take a front-facing head-and-shoulders photo of one person, looking into the "
         "camera, the face well lit and about a third of the picture wide")


def _detect(solutions: Any, rgb: U8) -> list[tuple[float, float, float, float]]:
    """Face boxes (x0, y0, x1, y1, fractions of the photo) the full-range detector finds."""
    with solutions.face_detection.FaceDetection(model_selection=1,
                                                min_detection_confidence=0.5) as det:
        found = det.process(np.ascontiguousarray(rgb)).detections or []
    boxes = []
    for d in found:
        b = d.location_data.relative_bounding_box
        boxes.append((float(b.xmin), float(b.ymin), float(b.xmin + b.width),
                      float(b.ymin + b.height)))
    return boxes


def _found_when_zoomed(solutions: Any, rgb: U8) -> bool:
    """Whether a face shows up in a half-size tile (3x3, overlapping): then it was there,
    only too small for the whole photo."""
    h, w = rgb.shape[:2]
    th, tw = h // 2, w // 2
    for y in (0, h // 4, h - th):
        for x in (0, w // 4, w - tw):
            if _detect(solutions, rgb[y:y + th, x:x + tw]):
                return True
    return False


def check_portrait(rgb: U8, name: str) -> tuple[Any, F64]:
    """Refuse a poor photo; otherwise the face mesh's landmarks (n, 3): image px, depth px
    toward the viewer."""
    try:
        with keep_qt_environment():
            import mediapipe as mp
        solutions = mp.solutions
    except (ImportError, AttributeError) as exc:
        from studio.core.errors import DependencyError

        raise DependencyError(f"building a photo avatar needs mediapipe ({exc}); install it "
                              "with `.venv/bin/pip install mediapipe==0.10.14`") from exc
    h, w = rgb.shape[:2]
    boxes = _detect(solutions, rgb)
    if not boxes:
        if _found_when_zoomed(solutions, rgb):
            raise PortraitRefused(
                f"the face in {name} is too small to make an avatar from; crop the photo to "
                f"the head and shoulders, or {_TAKE}")
        raise PortraitRefused(f"no face found in {name}; {_TAKE}")
    if len(boxes) > 1:
        raise PortraitRefused(
            f"{len(boxes)} faces found in {name}: an avatar is made from one person; crop "
            f"the photo to one person, or {_TAKE}")
    x0, y0, x1, y1 = boxes[0]
    mx, my = BORDER_MARGIN * (x1 - x0), BORDER_MARGIN * (y1 - y0)
    if x0 - mx < 0.0 or y0 - my < 0.0 or x1 + mx > 1.0 or y1 + my > 1.0:
        raise PortraitRefused(
            f"the face in {name} is cut off by the edge of the photo; {_TAKE}, with space "
            "around the head")
    face_px = (x1 - x0) * w
    if face_px < MIN_FACE_PX or face_px < MIN_FACE_SHARE * min(w, h):
        raise PortraitRefused(
            f"the face in {name} is too small ({face_px:.0f} px wide in a {w}x{h} photo); "
            f"crop the photo to the head and shoulders, or {_TAKE}")
    with solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1,
                                      refine_landmarks=True,
                                      min_detection_confidence=0.5) as mesh:
        result = mesh.process(np.ascontiguousarray(rgb))
    if not result.multi_face_landmarks:
        raise PortraitRefused(f"no face found in {name} that the face mesh can follow; {_TAKE}")
    norm = np.array([(p.x, p.y, p.z) for p in result.multi_face_landmarks[0].landmark])
    pts = np.column_stack([norm[:, 0] * w, norm[:, 1] * h, -norm[:, 2] * w])
    yaw, pitch = turn_deg(pts)
    if abs(yaw) > MAX_TURN_DEG or abs(pitch) > MAX_TURN_DEG:
        way = ("turned to the side" if abs(yaw) >= abs(pitch)
               else "tilted up or down")
        raise PortraitRefused(
            f"the face in {name} is {way} (about {max(abs(yaw), abs(pitch)):.0f} degrees); "
            f"{_TAKE}, the head straight")
    return solutions, pts


def turn_deg(pts: F64) -> tuple[float, float]:
    """(yaw, pitch) of the face in degrees, FaceParams' signs (yaw > 0: the nose to the
    viewer's right; pitch > 0: nodding down), from the depth of the face's sides and of its
    forehead and chin; (0, 0) faces the camera."""
    left, right = pts[234], pts[454]
    yaw = math.degrees(math.atan2(left[2] - right[2], right[0] - left[0]))
    top, chin = pts[10], pts[152]
    pitch = math.degrees(math.atan2(top[2] - chin[2], chin[1] - top[1])) - LEVEL_PITCH_DEG
    return yaw, pitch


def _person_mask(solutions: Any, rgb: U8) -> F64:
    with solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as seg:
        mask = seg.process(np.ascontiguousarray(rgb)).segmentation_mask
    return np.asarray(_smoothstep(0.25, 0.75, np.asarray(mask, dtype=np.float64)))


def _inside(points: F64, polygon: F64) -> npt.NDArray[np.bool_]:
    from skimage.measure import points_in_poly

    return np.asarray(points_in_poly(points, polygon),  # type: ignore[no-untyped-call]
                      dtype=np.bool_)


class _Frame:
    """The face's own frame: origin at the mouth, x along the eye line, unit = eye distance."""

    def __init__(self, lm: F64) -> None:
        eye_l = lm[[33, 133], :2].mean(axis=0)
        eye_r = lm[[263, 362], :2].mean(axis=0)
        e = eye_r - eye_l
        self.eye_px = float(np.hypot(*(lm[263, :2] - lm[33, :2])))
        e = e / max(float(np.hypot(*e)), 1e-9)
        self.right = e
        self.down = np.array([-e[1], e[0]])
        self.mouth = lm[[13, 14], :2].mean(axis=0)

    def local(self, p: F64) -> tuple[F64, F64]:
        d = p[:, :2] - self.mouth
        return (d @ self.right) / self.eye_px, (d @ self.down) / self.eye_px


def _breath_weight(p: F64, w: int, h: int) -> F64:
    """Breath lifts the body, not the photo's edges (the background shows there, unmoved)."""
    bx, by = p[:, 0], p[:, 1]
    edge = 0.05 * min(w, h)
    return np.asarray((1.0 - _smoothstep(0.85 * h, h - 1.0, by)) * _smoothstep(1.0, edge, by)
                      * _smoothstep(1.0, edge, bx) * _smoothstep(1.0, edge, w - bx))


def build(portrait: Path) -> PhotoAvatarData:
    rgb = _read(portrait)
    solutions, lm = check_portrait(rgb, portrait.name)
    h, w = rgb.shape[:2]
    n_lm = len(lm)
    fr = _Frame(lm)
    oval = lm[list(FACE_OVAL), :2]
    oval_c = oval.mean(axis=0)
    face_w = float(np.hypot(*(lm[454, :2] - lm[234, :2])))
    face_h = float(np.hypot(*(lm[152, :2] - lm[10, :2])))

    # Grid over the whole photo (edges included), minus what falls on the face.
    step = min(w, h) / GRID_CELLS
    xs = np.linspace(0, w, max(2, round(w / step)) + 1)
    ys = np.linspace(0, h, max(2, round(h / step)) + 1)
    gx, gy = np.meshgrid(xs, ys)
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    grown = oval_c + (oval - oval_c) * (1.0 + 0.6 * step / max(face_w, 1.0))
    grid = grid[~_inside(grid, grown)]
    pts2 = np.concatenate([lm[:, :2], grid])
    n = len(pts2)

    from scipy.spatial import Delaunay

    tris = np.asarray(Delaunay(pts2).simplices, dtype=np.int64)
    # Drop slivers along the photo's border (collinear edge points).
    e1, e2 = pts2[tris[:, 1]] - pts2[tris[:, 0]], pts2[tris[:, 2]] - pts2[tris[:, 0]]
    area = np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
    tris = tris[area > 1e-6]
    # The mouth: triangles inside the inner lips, or bridging upper and lower lip, open.
    centroids = pts2[tris].mean(axis=1)
    in_mouth = _inside(centroids, lm[list(LIPS_INNER), :2])
    upper = np.isin(tris, UPPER_LIP).any(axis=1)
    lower = np.isin(tris, LOWER_LIP).any(axis=1)
    bridge = upper & lower & _inside(centroids, lm[list(LIPS_OUTER), :2])
    mouth = in_mouth | bridge
    mouth_tris, tris = tris[mouth], tris[~mouth]

    # Rig weights, in the face's frame.
    fx, fy = fr.local(pts2)
    chin_fy = float(fr.local(lm[[152]])[1][0])
    hx = ((pts2 - oval_c) @ fr.right) / (0.5 * face_w)
    hy = ((pts2 - oval_c) @ fr.down) / (0.5 * face_h)
    ring = np.sqrt(hx ** 2 + np.minimum(hy, 0.0) ** 2)
    chin_y = float((lm[152, :2] - oval_c) @ fr.down) / (0.5 * face_h)
    head = (1.0 - _smoothstep(1.25, 2.1, ring)) * (1.0 - _smoothstep(chin_y, chin_y + 1.3, hy))
    head[:n_lm] = 1.0
    z_c = float(lm[list(FACE_OVAL), 2].mean()) - 0.35 * face_w
    # Off the face, the depth of the nearest face-edge landmarks (inverse-distance weighted),
    # falling back to the pivot's: the hair beside a cheek turns with that cheek, no fold.
    dist = np.hypot(*(pts2[:, None, :] - oval[None, :, :]).transpose(2, 0, 1)) + 1.0
    near = np.argsort(dist, axis=1)[:, :3]
    inv = 1.0 / np.take_along_axis(dist, near, axis=1) ** 2
    z_edge = (lm[np.array(FACE_OVAL)[near], 2] * inv).sum(axis=1) / inv.sum(axis=1)
    z = z_c + (z_edge - z_c) * (1.0 - _smoothstep(1.0, 1.9, ring))
    z[:n_lm] = lm[:, 2]

    mouth_half = 0.5 * float(np.hypot(*(lm[291, :2] - lm[61, :2])))
    jaw_w = 0.5 * face_w * 0.8
    jaw = (_smoothstep(-0.05, 0.3, fy / max(chin_fy, 1e-6))
           * (1.0 - _smoothstep(1.0, 1.9, fy / max(chin_fy, 1e-6)))
           * (1.0 - _smoothstep(0.45, 1.15, np.abs(fx) * fr.eye_px / jaw_w)))
    jaw[list(UPPER_LIP)] = 0.0
    jaw[list(LOWER_LIP)] = 1.0
    jaw[list(CORNERS)] = 0.5
    mw = 1.3 * mouth_half / fr.eye_px
    lip = 1.0 - _smoothstep(0.9, 2.0, np.sqrt((fx / mw) ** 2 + (fy / 0.35) ** 2))
    lip[list(LIPS_OUTER + LIPS_INNER + UPPER_LIP + LOWER_LIP)] = 1.0

    verts = np.zeros((n, N_FIELDS), np.float64)
    verts[:, 0:2] = pts2
    verts[:, 2] = z
    verts[:, 3] = head
    verts[:, 4] = jaw
    verts[:, 5] = lip
    has_iris = n_lm >= 478
    for lids, crease, iris, side in ((LIDS_L, CREASE_L, IRIS_L, -1.0),
                                     (LIDS_R, CREASE_R, IRIS_R, 1.0)):
        ups = np.array([u for u, _ in lids])
        los = np.array([lo for _, lo in lids])
        disp = lm[los, :2] - lm[ups, :2]  # shut: the upper lid on the lower
        verts[ups, 7:9] = disp
        verts[ups, 9] = side
        for k, c in enumerate(crease):
            verts[c, 7:9] = 0.35 * disp[k]
            verts[c, 9] = side
        for lo in los:
            verts[lo, 9] = side
        if has_iris:
            for i in iris:
                # squeezed with the eyeball between the lids, no fold
                k = int(np.argmin(np.abs(lm[ups, 0] - lm[i, 0])))
                span = float((lm[los[k], :2] - lm[ups[k], :2]) @ fr.down)
                t = float((lm[i, :2] - lm[ups[k], :2]) @ fr.down) / max(span, 1e-6)
                verts[i, 7:9] = (1.0 - min(max(t, 0.0), 1.0)) * disp[k]
                verts[i, 9] = side
                verts[i, 6] = 1.0
    verts[list(BROWS), 10] = 1.0
    verts[:, 11] = _breath_weight(pts2, w, h)

    # The person: the photo with a soft person mask as alpha (the face always opaque).
    alpha = _person_mask(solutions, rgb)
    from skimage.draw import polygon as fill_polygon

    rr, cc = fill_polygon(grown[:, 1], grown[:, 0], (h, w))  # type: ignore[no-untyped-call]
    alpha[rr, cc] = 1.0
    texture = np.concatenate([rgb, np.round(alpha * 255).astype(np.uint8)[..., None]], axis=2)
    # Triangles over nothing but background draw nothing: keep only the rest.
    from scipy.ndimage import maximum_filter

    reach = maximum_filter(alpha, size=max(3, int(step)))

    def seen(p: F64) -> npt.NDArray[np.bool_]:
        xi = np.clip(p[..., 0].astype(int), 0, w - 1)
        yi = np.clip(p[..., 1].astype(int), 0, h - 1)
        return np.asarray(reach[yi, xi] > 0.0, dtype=bool)

    keep = seen(pts2[tris]).any(axis=1) | seen(pts2[tris].mean(axis=1))
    tris = tris[keep]

    background = _background(rgb, alpha, fr, oval_c, face_w, face_h)

    # The mouth interior: a 7x3 grid from the upper lip down to the lower lip, whose lower
    # rows go down with the jaw.
    up_y = float(min((lm[i, :2] - fr.mouth) @ fr.down for i in (82, 13, 312)))
    gaps = [float((lm[lo, :2] - lm[u, :2]) @ fr.down) for u, lo in ((82, 87), (13, 14),
                                                                     (312, 317))]
    rest_gap = max(0.0, float(np.mean(gaps)))
    inner_half = 1.15 * mouth_half
    us = np.linspace(-1.0, 1.0, 7)
    rows = np.array([0.0, 0.5, 1.0])
    height = rest_gap + 2.0
    interior = np.zeros((len(us) * len(rows), N_FIELDS), np.float64)
    local = np.zeros((len(interior), 2), np.float64)
    z_mouth = float(lm[list(LIPS_INNER), 2].mean()) - 0.05 * fr.eye_px
    for r, t in enumerate(rows):
        for c, u in enumerate(us):
            k = r * len(us) + c
            y_rel = up_y - 1.0 + t * height
            interior[k, 0:2] = fr.mouth + fr.right * (u * inner_half) + fr.down * y_rel
            interior[k, 2] = z_mouth
            interior[k, 3] = 1.0
            interior[k, 4] = t
            interior[k, 5] = 1.0
            local[k] = (u, t * height - 1.0)
    interior[:, 11] = _breath_weight(interior[:, 0:2], w, h)
    itris = []
    for r in range(len(rows) - 1):
        for c in range(len(us) - 1):
            a = r * len(us) + c
            itris += [(a, a + 1, a + len(us)), (a + 1, a + len(us) + 1, a + len(us))]

    lip_mask = np.zeros((h, w), bool)
    rr, cc = fill_polygon(  # type: ignore[no-untyped-call]
        lm[list(LIPS_OUTER), 1], lm[list(LIPS_OUTER), 0], (h, w))
    lip_mask[rr, cc] = True
    rr, cc = fill_polygon(  # type: ignore[no-untyped-call]
        lm[list(LIPS_INNER), 1], lm[list(LIPS_INNER), 0], (h, w))
    lip_mask[rr, cc] = False
    lip_rgb = (rgb[lip_mask].mean(axis=0) / 255.0 if lip_mask.any()
               else np.array([0.6, 0.3, 0.3]))
    hb = (oval_c[0] - 0.95 * face_w, oval_c[1] - 0.95 * face_h,
          oval_c[0] + 0.95 * face_w, oval_c[1] + 0.85 * face_h)
    rig: dict[str, Any] = {
        "size_px": [w, h], "mouth": [float(v) for v in fr.mouth],
        "mouth_half_width_px": mouth_half, "down": [float(v) for v in fr.down],
        "pivot": [float(oval_c[0]), float(0.5 * (oval_c[1] + lm[152, 1])), z_c],
        "eye_distance_px": fr.eye_px,
        "eye_width_px": 0.5 * float(np.hypot(*(lm[133, :2] - lm[33, :2]))
                                    + np.hypot(*(lm[362, :2] - lm[263, :2]))),
        "rest_gap_px": rest_gap, "teeth_px": 0.085 * fr.eye_px,
        "lip_rgb": [float(v) for v in lip_rgb],
        "head_box": [float(max(0.0, hb[0])), float(max(0.0, hb[1])), float(min(w, hb[2])),
                     float(min(h, hb[3]))],
        "face_box": [float(v) for v in (*lm[:, :2].min(axis=0), *lm[:, :2].max(axis=0))],
        "turn_deg": list(turn_deg(lm)), "landmarks": n_lm, "portrait": portrait.name,
    }
    return PhotoAvatarData(
        texture_rgba=texture, background_rgb=background,
        vertices=verts.astype(np.float32), triangles=tris.astype(np.uint32),
        mouth_triangles=mouth_tris.astype(np.uint32), interior=interior.astype(np.float32),
        interior_uv=local.astype(np.float32),
        interior_triangles=np.array(itris, np.uint32), landmarks=lm.astype(np.float32),
        rig=rig)


def _background(rgb: U8, alpha: F64, fr: _Frame, oval_c: F64, face_w: float,
                face_h: float) -> U8:
    """The photo with the head's area (where the moving head may uncover it) filled from the
    surroundings: inpainted small, blurred, blended in softly."""
    with keep_qt_environment():
        import cv2
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    p = np.column_stack([xx.ravel(), yy.ravel()]).astype(np.float64)
    hx = ((p - oval_c) @ fr.right) / (0.5 * face_w)
    hy = ((p - oval_c) @ fr.down) / (0.5 * face_h)
    near = (np.sqrt(hx ** 2 + np.minimum(hy, 0.0) ** 2) < 2.3) & (hy < 3.0)
    region = (alpha > 0.02) & near.reshape(h, w)
    k = min(1.0, 256.0 / max(w, h))
    sw, sh = max(8, round(w * k)), max(8, round(h * k))
    small = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA)
    small_mask = cv2.resize(region.astype(np.uint8) * 255, (sw, sh),
                            interpolation=cv2.INTER_NEAREST)
    small_mask = cv2.dilate(small_mask, np.ones((5, 5), np.uint8))
    filled = cv2.inpaint(small, small_mask, 6, cv2.INPAINT_TELEA)
    filled = cv2.GaussianBlur(filled, (0, 0), 3.0)
    big = cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float64)
    soft = cv2.GaussianBlur(cv2.dilate(region.astype(np.uint8) * 255,
                                       np.ones((9, 9), np.uint8)).astype(np.float64),
                            (0, 0), 4.0)[..., None] / 255.0
    out = rgb.astype(np.float64) * (1.0 - soft) + big * soft
    return np.ascontiguousarray(np.clip(np.round(out), 0, 255).astype(np.uint8))
