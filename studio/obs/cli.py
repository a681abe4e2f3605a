"""``studio obs check`` and ``studio obs setup``: is OBS reachable, and put our scenes in.

The password is never a command-line argument (other users see those in ``ps``): it comes
from ``LIVEHOST_OBS_PASSWORD``, or from the studio's settings through the caller.
"""

from __future__ import annotations

import argparse
import sys

from studio.core.errors import StudioError
from studio.obs.client import DEFAULT_URL, PASSWORD_ENV, ObsClient, parse_obs_url, password_from_env
from studio.obs.setup import AI_SCENE, ObsProgramSource, setup_obs


def add_obs_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``obs check`` and ``obs setup`` to the ``studio`` command's subcommands."""
    obs = subparsers.add_parser(
        "obs", help="check OBS Studio's WebSocket connection and set up the LiveHost scenes",
        description=f"Control OBS Studio (28 or later) over its WebSocket server. The "
        f"password comes from {PASSWORD_ENV}, never from the command line.")
    sub = obs.add_subparsers(dest="obs_command", metavar="{check,setup}")
    sub.required = True
    url_help = f"OBS's WebSocket server ({DEFAULT_URL})"
    check = sub.add_parser("check", help="connect and print OBS's version and scenes")
    check.add_argument("--obs", default=DEFAULT_URL, metavar="ws://HOST:PORT", help=url_help)
    setup = sub.add_parser("setup", help="create the LiveHost scenes and sources in OBS "
                           "(running it again changes nothing)")
    setup.add_argument("--obs", default=DEFAULT_URL, metavar="ws://HOST:PORT", help=url_help)
    source = setup.add_mutually_exclusive_group(required=True)
    source.add_argument("--stream", metavar="udp://127.0.0.1:PORT",
                        help="show our stream output (a Media Source on this URL)")
    source.add_argument("--virtualcam", metavar="DEVICE",
                        help="show our virtual camera (e.g. /dev/video10, or OBS Virtual Camera)")


def run_obs_command(args: argparse.Namespace, *, settings_password: str | None = None) -> int:
    """Run ``studio obs …``; prints the result or the clear message. Exit 0 or the error's."""
    try:
        host, port = parse_obs_url(args.obs)
        client = ObsClient(host, port, password_from_env(settings_password))
        try:
            version = client.connect()
            if args.obs_command == "check":
                scenes = client.scenes()
                print(f"OBS {version.obs_version} (obs-websocket {version.websocket_version}, "
                      f"{version.platform}) at {client.url}")
                print(f"Program scene: {scenes.current_program}")
                print(f"Scenes ({len(scenes.scenes)}):")
                for name in scenes.scenes:
                    print(f"  {'*' if name == scenes.current_program else ' '} {name}")
                return 0
            program = (ObsProgramSource(stream_url=args.stream) if args.stream
                       else ObsProgramSource(virtualcam_device=args.virtualcam))
            report = setup_obs(client, program=program)
            for line in report.lines():
                print(line)
            print("OBS is set up" + ("" if report.changed else ": nothing needed changing")
                  + f"; put {AI_SCENE} on the program in OBS's Scenes dock, or let the studio "
                  "switch it")
            return 0
        finally:
            client.close()
    except StudioError as exc:
        print(f"studio obs: error: {exc}", file=sys.stderr)
        return exc.exit_code
