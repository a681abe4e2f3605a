"""GLSL for the avatar: one 2.5D head-warp vertex shader, a texture shader, live eyes and mouth.

The vertex shader lifts each design-space vertex onto a head ellipsoid (plus a nose bump) and
rotates it, so features at different depths shift by different amounts when the head turns.
Fragment shaders for eyes and mouth use analytic SDFs with ``u_aa`` = design units per pixel,
so edges stay anti-aliased at any size; they only run on their own small quads.
"""

from __future__ import annotations

VERTEX = """
uniform vec3 u_place;    // rect centre x px, rect top y px, px per design unit
uniform vec2 u_frame;    // framebuffer size px
uniform vec3 u_pose;     // yaw, pitch, roll (rad)
uniform vec4 u_ellip;    // depth ellipsoid centre xy, radii xy (design units)
uniform vec4 u_depth;    // depth at centre, min normalised depth, layer z offset, jaw drop
uniform vec4 u_nose;     // nose xy, sigma, extra depth
uniform vec2 u_pivot;    // roll pivot
uniform vec2 u_jawramp;  // y range where the jaw drop ramps in
uniform vec3 u_lift;     // breath lift, y where it starts fading, y where it is gone
attribute vec2 a_pos;
attribute vec2 a_uv;
attribute float a_side;
varying vec2 v_uv;
varying float v_side;

void main() {
    vec2 p = a_pos;
    vec2 q = (p - u_ellip.xy) / u_ellip.zw;
    float z = u_depth.x * clamp(1.0 - dot(q, q), u_depth.y, 1.0) + u_depth.z;
    vec2 dn = p - u_nose.xy;
    z += u_nose.w * exp(-dot(dn, dn) / (u_nose.z * u_nose.z));
    p.y += u_depth.w * smoothstep(u_jawramp.x, u_jawramp.y, p.y)
           * (1.0 - smoothstep(0.08, 0.16, abs(p.x)));
    vec2 c = p - u_ellip.xy;
    float cy = cos(u_pose.x);
    float sy = sin(u_pose.x);
    float x1 = c.x * cy + z * sy;
    float z1 = -c.x * sy + z * cy;
    float y1 = c.y * cos(u_pose.y) + z1 * sin(u_pose.y);
    vec2 d = vec2(x1, y1) + u_ellip.xy - u_pivot;
    float cr = cos(u_pose.z);
    float sr = sin(u_pose.z);
    p = u_pivot + vec2(d.x * cr - d.y * sr, d.x * sr + d.y * cr);
    p.y -= u_lift.x * (1.0 - smoothstep(u_lift.y, u_lift.z, a_pos.y));
    vec2 px = u_place.xy + p * u_place.z;
    gl_Position = vec4(px.x / u_frame.x * 2.0 - 1.0, 1.0 - px.y / u_frame.y * 2.0, 0.0, 1.0);
    v_uv = a_uv;
    v_side = a_side;
}
"""

TEXTURED = """
uniform sampler2D u_tex;
varying vec2 v_uv;
varying float v_side;
void main() {
    gl_FragColor = texture2D(u_tex, v_uv);  // premultiplied RGBA
}
"""

_COMMON = """
uniform float u_aa;
float cov(float d) { return clamp(0.5 - d / u_aa, 0.0, 1.0); }
vec4 over(vec4 dst, vec3 c, float a) { return vec4(c * a, a) + dst * (1.0 - a); }
float sdEll(vec2 p, vec2 r) { return (length(p / r) - 1.0) * min(r.x, r.y); }
float sdSeg(vec2 p, vec2 a, vec2 b) {
    vec2 pa = p - a;
    vec2 ba = b - a;
    float h = clamp(dot(pa, ba) / dot(ba, ba), 0.0, 1.0);
    return length(pa - ba * h);
}
"""

EYES = _COMMON + """
uniform vec2 u_blink;   // viewer-left eye, viewer-right eye (1 = closed)
uniform vec2 u_gaze;    // -1..1, x to the viewer's right, y up
uniform float u_brow;   // 0..1 brow raise
uniform vec3 u_iris;
uniform vec3 u_lash;
uniform vec3 u_browc;
uniform vec3 u_skin;
uniform float u_masc;   // 0 feminine (lash flick, arched brows), 1 masculine
varying vec2 v_uv;      // design units around the eye centre
varying float v_side;   // -1 viewer-left eye, +1 viewer-right eye

void main() {
    vec2 p = v_uv;
    vec2 q = vec2(p.x * v_side, p.y);   // mirrored: x > 0 toward the ear
    float blink = v_side < 0.0 ? u_blink.x : u_blink.y;
    float ew = 0.034;
    float t = clamp(q.x / ew, -1.0, 1.0);
    float s = sqrt(max(1.0 - t * t, 0.0));
    float tilt = -0.0045 * t;
    float upOpen = -0.0265 * pow(s, 0.7) + tilt - 0.003 * s * t;
    float lower = 0.0155 * pow(s, 0.9) + tilt;
    float shut = 0.004 * s + tilt + 0.004;
    float up = mix(upOpen, shut, blink);
    float lo = max(lower, up);
    float inside = cov(max(max(up - q.y, q.y - lo), abs(q.x) - ew));
    vec4 col = vec4(0.0);
    float lidSh = smoothstep(0.0, 0.014, q.y - up);
    col = over(col, vec3(0.97, 0.96, 0.97) * mix(0.7, 1.0, lidSh), inside);

    vec2 ip = p - vec2(u_gaze.x * 0.0135, -u_gaze.y * 0.008 + 0.0015);
    vec2 ir2 = vec2(0.0158, 0.0188);
    float ir = length(ip / ir2);
    vec3 iris = u_iris * mix(0.5, 1.45, smoothstep(-0.017, 0.016, ip.y)) + vec3(0.02);
    iris *= 0.9 + 0.1 * sin(atan(ip.y, ip.x) * 23.0);
    iris = mix(iris, u_iris * 0.3, smoothstep(0.72, 1.0, ir));
    iris = mix(iris, vec3(0.03, 0.025, 0.035), cov(sdEll(ip, vec2(0.0066, 0.0082))));
    iris *= mix(0.55, 1.0, lidSh);
    col = over(col, iris, cov(sdEll(ip, ir2)) * inside);
    col = over(col, vec3(1.0), cov(length(ip - vec2(0.0056, -0.0076)) - 0.0042) * inside);
    col = over(col, vec3(1.0), 0.8 * cov(length(ip - vec2(-0.0052, 0.0072)) - 0.0018) * inside);

    float th = (0.0019 + 0.0024 * smoothstep(-0.6, 1.0, t)) * mix(1.0, 0.6, u_masc);
    float dL = max(abs(q.y - (up - 0.0012)) - th, abs(q.x) - ew * 1.03);
    vec2 corner = vec2(ew * 0.92, mix(-0.0045, -0.0005, blink) - 0.0012);
    float dF = sdSeg(q, corner, corner + vec2(0.0095, -0.0068)) - 0.0014;
    col = over(col, u_lash, max(cov(dL), cov(dF) * (1.0 - u_masc)));
    float dLo = max(abs(q.y - lo - 0.0006) - 0.0007, abs(q.x - 0.004) - ew * 0.82);
    col = over(col, mix(u_lash, u_skin, 0.35), cov(dLo) * 0.55 * (1.0 - blink));
    float crease = upOpen - 0.0072 - 0.0015 * s;
    float dC = max(abs(q.y - crease) - 0.00065, abs(q.x + 0.002) - ew * 0.78);
    col = over(col, u_skin * vec3(0.62, 0.5, 0.5), cov(dC) * 0.45 * (1.0 - 0.5 * blink));

    float u = (q.x - 0.004) / 0.042;
    float arch = (0.006 + 0.003 * u_brow) * mix(1.0, 0.45, u_masc);
    float yb = -0.052 - u_brow * 0.012 - arch * (1.0 - u * u) + 0.002 * u_masc;
    float thb = mix(0.0043, 0.0014, smoothstep(-0.036, 0.046, q.x)) * mix(1.0, 1.55, u_masc);
    float dB = max(abs(q.y - yb) - thb, abs(q.x - 0.005) - 0.041);
    col = over(col, u_browc, cov(dB) * 0.95);
    gl_FragColor = col;
}
"""

MOUTH = _COMMON + """
uniform vec4 u_m0;      // half-width, inner half-width, open height up, open height down
uniform vec4 u_m1;      // upper lip thickness, lower lip thickness, opening exponent, smile
uniform vec4 u_m2;      // teeth height, tongue centre y, tongue radius y, closed seam alpha
uniform vec4 u_m3;      // open amount, pucker, press, unused
uniform vec3 u_lip;
uniform vec3 u_skin;
varying vec2 v_uv;      // design units around the mouth centre
varying float v_side;

float prof(float x, float w, float ex) {
    float u = clamp(abs(x) / w, 0.0, 1.0);
    return pow(max(1.0 - u * u, 0.0), ex);
}

void main() {
    vec2 p = v_uv;
    float w = u_m0.x;
    float wi = u_m0.y;
    float ax = abs(p.x) / w;
    float y = p.y + u_m1.w * ax * ax;        // corners up when smiling
    float pin = prof(p.x, wi, u_m1.z);
    float yu = -u_m0.z * pin;
    float yl = u_m0.w * pin;
    float po = prof(p.x, w, 0.5);
    float bow = 0.8 + 0.32 * exp(-pow((ax - 0.3) / 0.17, 2.0));
    float yuo = yu - u_m1.x * pow(po, 0.75) * bow;
    float ylo = yl + u_m1.y * pow(po, 0.85);
    vec4 col = vec4(0.0);
    float shd = exp(-pow((y - ylo - 0.007) / 0.0065, 2.0)) * (1.0 - smoothstep(0.4, 0.95, ax));
    col = over(col, u_skin * vec3(0.78, 0.62, 0.6), shd * 0.32);
    float dLips = max(max(yuo - y, y - ylo), abs(p.x) - w);
    float lipA = clamp(0.5 - dLips / (u_aa * 1.3), 0.0, 1.0);
    float mid = (yu + yl) * 0.5;
    vec3 lc = mix(u_lip * vec3(0.78, 0.74, 0.76), u_lip, smoothstep(-0.0008, 0.0008, y - mid));
    float hy = (y - (yl + u_m1.y * 0.42)) / (u_m1.y * 0.28 + 0.0008);
    float hl = exp(-hy * hy) * (1.0 - smoothstep(0.0, 0.55, ax));
    lc = mix(lc, min(u_lip * 1.35 + 0.22, vec3(1.0)), hl * (0.4 + 0.3 * u_m3.y));
    float uy = (y - (yuo * 0.5 + yu * 0.5)) / (u_m1.x * 0.3 + 0.0008);
    lc = mix(lc, min(u_lip * 1.2 + 0.1, vec3(1.0)), exp(-uy * uy) * 0.18 * (1.0 - ax));
    lc *= mix(1.0, 0.72, smoothstep(0.72, 1.0, ax));
    col = over(col, lc, lipA);

    float open = u_m3.x;
    float dCav = max(max(yu - y, y - yl), abs(p.x) - wi);
    float cavA = cov(dCav) * smoothstep(0.0, 0.04, open);
    vec3 cav = mix(vec3(0.16, 0.04, 0.06), vec3(0.38, 0.1, 0.12), smoothstep(yu, yl + 0.001, y));
    vec2 tp = vec2(p.x, y - u_m2.y);
    float dT = sdEll(tp, vec2(wi * 0.72, u_m2.z));
    vec3 tongue = vec3(0.86, 0.4, 0.44) * mix(0.72, 1.0, smoothstep(-u_m2.z, u_m2.z, tp.y));
    cav = mix(cav, tongue, cov(dT));
    float teethEdge = yu + u_m2.x * pow(prof(p.x, wi * 0.9, 0.5), 0.35);
    float dTe = max(y - teethEdge, abs(p.x) - wi * 0.86);
    vec3 teeth = vec3(0.97, 0.96, 0.93) * mix(0.7, 1.0, 1.0 - smoothstep(0.2, 0.85, abs(p.x) / wi));
    cav = mix(cav, teeth, cov(dTe));
    cav = mix(cav * 0.6, cav, smoothstep(yu, yu + 0.006, y));
    col = over(col, cav, cavA);

    float dS = max(abs(y - mid) - 0.0007, abs(p.x) - w * 0.94);
    col = over(col, u_lip * 0.38, cov(dS) * u_m2.w * (1.0 - 0.5 * smoothstep(0.7, 1.0, ax)));
    gl_FragColor = col;
}
"""
