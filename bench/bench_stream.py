"""Stream benchmark: prints one JSON object. Run: .venv/bin/python bench/bench_stream.py [--quick]

Measures what a live stream costs and how well it keeps picture and sound together:
- milliseconds per frame to encode the demo show's real frames with the stream's settings
  (x264 zerolatency veryfast, constrained bitrate, a keyframe every 2 s) at 1280x720@30 and
  1920x1080@30, from the GPU's YUV and from RGBA (the conversion included);
- a UDP read-back: the demo show streamed through the real engine, relay and socket, the
  datagrams recorded, then read with PyAV: first video pts against first audio pts, where
  each stream ends, the bitrate, and how long the relay took to connect.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

os.environ.setdefault("EGL_PLATFORM", "surfaceless")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class NullSink:
    """Where the encoded container goes when only the encoding is measured."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, data: bytes) -> int:
        self.bytes += len(data)
        return len(data)


def demo_frames(width: int, height: int, n_frames: int) -> list[Any]:
    """The demo show's first pictures, rendered by the real engine (RGBA, top row first)."""
    from studio.engine.events import Event, FrameDelivered
    from studio.engine.live import LiveEngine
    from studio.paths import demo_show_path
    from studio.show.loader import load_show

    frames: list[Any] = []

    def keep(event: Event) -> None:
        if isinstance(event, FrameDelivered):
            frames.append(event.rgba)

    engine = LiveEngine(load_show(demo_show_path()), width_px=width, height_px=height,
                        realtime=False)
    engine.subscribe(keep)
    engine.run_frames(n_frames)
    engine.close()
    return frames


def bench_encode(width: int, height: int, n_rendered: int, n_encoded: int) -> dict[str, Any]:
    import av
    import numpy as np

    from studio.core.media import AudioChunk
    from studio.outputs.mux import AVMuxer
    from studio.outputs.stream import (
        AUDIO_BITRATE_BPS,
        default_bitrate_kbps,
        live_video_options,
    )

    rgba = demo_frames(width, height, n_rendered)
    yuv = [np.asarray(av.VideoFrame.from_ndarray(f, format="rgba").reformat(
        format="yuv420p", src_colorspace="ITU709", dst_colorspace="ITU709").to_ndarray(),
        dtype=np.uint8) for f in rgba]
    fps = Fraction(30)
    kbps = default_bitrate_kbps(width, height, float(fps))
    results: dict[str, Any] = {"size": f"{width}x{height}", "fps": 30, "bitrate_kbps": kbps,
                               "frames_rendered": len(rgba), "frames_encoded": n_encoded}
    silence = np.zeros(1600, np.float32)
    for source in ("yuv420p", "rgba"):
        sink = NullSink()
        mux = AVMuxer(sink, width, height, fps, container_format="mpegts",
                      video_options=live_video_options(fps, kbps), video_bitrate_bps=kbps * 1000,
                      audio_bitrate_bps=AUDIO_BITRATE_BPS,
                      container_options={"flush_packets": "1"})
        times_ms = []
        for i in range(n_encoded):
            started = time.perf_counter()
            if source == "yuv420p":
                mux.write_yuv420p(i, yuv[i % len(yuv)], keyframe=i % 60 == 0)
            else:
                mux.write_video(i, rgba[i % len(rgba)], keyframe=i % 60 == 0)
            mux.write_audio(AudioChunk(i * 1600, silence, 48_000))
            times_ms.append((time.perf_counter() - started) * 1000)
        mux.close()
        steady = sorted(times_ms[10:])
        results[f"from_{source}_ms_per_frame"] = {
            "mean": round(statistics.fmean(steady), 2),
            "p50": round(steady[len(steady) // 2], 2),
            "p95": round(steady[int(len(steady) * 0.95)], 2),
            "max": round(steady[-1], 2)}
        results[f"from_{source}_kbps"] = round(sink.bytes * 8 / (n_encoded / 30) / 1000)
    results["target_ms_per_frame_720p30"] = 15
    return results


def bench_udp_readback(width: int, height: int, n_frames: int) -> dict[str, Any]:
    """Stream the demo show over UDP through the engine and read the datagrams back."""
    import av

    from studio.engine.live import LiveEngine
    from studio.outputs.base import OutputSpec, OutputState, build_output
    from studio.outputs.stream import StreamOutput
    from studio.paths import demo_show_path
    from studio.show.loader import load_show

    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(3.0)
    port = receiver.getsockname()[1]
    datagrams: list[bytes] = []

    def record() -> None:
        while True:
            try:
                datagrams.append(receiver.recv(65536))
            except TimeoutError:
                if datagrams:
                    return

    recorder = threading.Thread(target=record, daemon=True)
    recorder.start()
    output = build_output(OutputSpec("stream", f"udp://127.0.0.1:{port}"))
    assert isinstance(output, StreamOutput)
    engine = LiveEngine(load_show(demo_show_path()), width_px=width, height_px=height,
                        realtime=False, outputs=[output])
    engine.run_frames(0)
    started = time.perf_counter()
    ran = 0
    while output.state != OutputState.UP and time.perf_counter() - started < 20:
        engine.run_frames(1)
        ran += 1
        time.sleep(0.01)
    connect_s = time.perf_counter() - started
    wall = time.perf_counter()
    engine.run_frames(n_frames - ran)
    run_s = time.perf_counter() - wall
    health = output.health()
    engine.close()
    final = output.health()
    recorder.join(timeout=30)
    receiver.close()
    path = Path("/tmp") / f"bench_stream_{os.getpid()}.ts"
    path.write_bytes(b"".join(datagrams))
    try:
        with av.open(str(path)) as container:
            v_pts: list[float] = []
            a_pts: list[float] = []
            a_end = 0.0
            for packet in container.demux():
                if packet.pts is None or packet.time_base is None:
                    continue
                t = float(packet.pts * packet.time_base)
                if packet.stream.type == "video":
                    v_pts.append(t)
                elif packet.stream.type == "audio":
                    a_pts.append(t)
                    a_end = t + float((packet.duration or 0) * packet.time_base)
    finally:
        path.unlink(missing_ok=True)
    v0 = v_pts[0]
    video_end = v_pts[-1] + 1 / 30 - v0
    audio_end = a_end - v0
    return {
        "size": f"{width}x{height}", "frames_run": n_frames,
        "frames_received": len(v_pts), "frames_sent": final.frames_sent,
        "frames_dropped": final.frames_dropped, "datagrams": len(datagrams),
        "relay_connect_s": round(connect_s, 3),
        "engine_speed_x_realtime": round((n_frames - ran) / 30 / run_s, 2),
        # The output's own meter counts wall-clock seconds (this run is unpaced); the
        # capture's bytes over its duration are the stream's real bitrate.
        "health_bitrate_kbps_unpaced": round(health.bitrate_bps / 1000),
        "stream_kbps_from_capture": round(sum(map(len, datagrams)) * 8 / video_end / 1000),
        "stream_start_frame": output.stream_start_frame,
        "first_audio_minus_first_video_ms": round((a_pts[0] - v0) * 1000, 2),
        "aac_priming_ms": round(1024 / 48, 2),
        "video_end_s": round(video_end, 4), "audio_end_s": round(audio_end, 4),
        "end_offset_ms": round((audio_end - video_end) * 1000, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer frames")
    args = parser.parse_args()
    n_rendered, n_encoded, n_stream = (30, 90, 150) if args.quick else (90, 300, 600)
    from studio.outputs.stream import output_protocols

    protocols = output_protocols()
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "srt_in_this_build": None if protocols is None else "srt" in protocols,
        "encode": [bench_encode(1280, 720, n_rendered, n_encoded),
                   bench_encode(1920, 1080, n_rendered, n_encoded)],
        "udp_readback": bench_udp_readback(1280, 720, n_stream),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
