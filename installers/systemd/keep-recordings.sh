#!/bin/sh
# Before a room's show starts again (systemd ExecStartPre): every recording the last run left
# in the room's folder is renamed with the time it was last written, so the new run (which
# records to the same name) never overwrites it.
set -eu
dir="${1:?usage: keep-recordings.sh ROOM_FOLDER}"
[ -d "$dir" ] || exit 0
for f in "$dir"/*.mkv "$dir"/*.mp4 "$dir"/*.ts; do
    [ -f "$f" ] || continue
    case "$(basename "$f")" in *-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]-[0-9][0-9][0-9][0-9][0-9][0-9].*) continue ;; esac
    stamp="$(date -r "$f" +%Y%m%d-%H%M%S)"
    mv -n "$f" "${f%.*}-$stamp.${f##*.}"
done
