#!/usr/bin/env bash
# The virtual camera for LiveHost Studio on Debian/Ubuntu: installs v4l2loopback, loads it
# now as "LiveHost Camera" on /dev/video10, and loads it the same way at every boot.
#
#   sudo bash installers/v4l2loopback.sh            # install, load, make persistent
#   bash installers/v4l2loopback.sh --dry-run       # print what it would do; change nothing
#
# Safe to run again: what is already in place is left as it is.
set -euo pipefail

VIDEO_NR=10
LABEL="LiveHost Camera"
MODULE_ARGS=(devices=1 "video_nr=${VIDEO_NR}" exclusive_caps=1 "card_label=${LABEL}")
MODULES_LOAD_FILE=/etc/modules-load.d/livehost-v4l2loopback.conf
MODPROBE_FILE=/etc/modprobe.d/livehost-v4l2loopback.conf
MODULES_LOAD_TEXT="v4l2loopback"
MODPROBE_TEXT="options v4l2loopback devices=1 video_nr=${VIDEO_NR} exclusive_caps=1 card_label=\"${LABEL}\""
DEVICE=/dev/video${VIDEO_NR}
SYSFS_NAME=/sys/devices/virtual/video4linux/video${VIDEO_NR}/name

DRY_RUN=0

usage() {
    cat <<EOF
usage: sudo bash installers/v4l2loopback.sh [--dry-run]

Installs v4l2loopback (v4l2loopback-dkms, the kernel headers, v4l2loopback-utils), loads it
now with: modprobe v4l2loopback devices=1 video_nr=${VIDEO_NR} exclusive_caps=1 card_label="${LABEL}"
and makes that persistent in ${MODULES_LOAD_FILE} and ${MODPROBE_FILE}.

  --dry-run, -n   print what would be done, change nothing (no root needed)
  --help, -h      this text
EOF
}

for arg in "$@"; do
    case "$arg" in
        --dry-run | -n) DRY_RUN=1 ;;
        --help | -h) usage; exit 0 ;;
        *) echo "v4l2loopback.sh: unknown option '$arg'" >&2; usage >&2; exit 2 ;;
    esac
done

say() { printf '%s\n' "$*"; }
fail() { printf 'v4l2loopback.sh: %s\n' "$*" >&2; exit 1; }

# A command as one would type it: values with spaces in double quotes.
shown() {
    local out="" arg
    for arg in "$@"; do
        if [[ "$arg" == *" "* ]]; then
            if [[ "$arg" == *=* ]]; then arg="${arg%%=*}=\"${arg#*=}\""; else arg="\"$arg\""; fi
        fi
        out+="${out:+ }$arg"
    done
    printf '%s' "$out"
}

run() {
    if ((DRY_RUN)); then
        say "would run: $(shown "$@")"
    else
        say "+ $(shown "$@")"
        "$@"
    fi
}

write_file() {  # path text: write unless it already holds exactly that
    local path=$1 text=$2
    if [[ -f "$path" && "$(cat "$path")" == "$text" ]]; then
        say "$path is already in place"
    elif ((DRY_RUN)); then
        say "would write $path:"
        say "    $text"
    else
        mkdir -p "$(dirname "$path")"
        printf '%s\n' "$text" >"$path"
        say "wrote $path"
    fi
}

in_container() {
    [[ -f /.dockerenv || -f /run/.containerenv ]] && return 0
    if command -v systemd-detect-virt >/dev/null 2>&1 && systemd-detect-virt --container --quiet; then
        return 0
    fi
    grep -qa 'container=' /proc/1/environ 2>/dev/null
}

secure_boot_on() {
    command -v mokutil >/dev/null 2>&1 && mokutil --sb-state 2>/dev/null | grep -qi 'enabled'
}

package_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

package_available() {
    apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | grep -qv '(none)' 
}

module_available() {
    command -v modinfo >/dev/null 2>&1 && modinfo v4l2loopback >/dev/null 2>&1
}

our_device_loaded() {
    [[ -e "$DEVICE" && -r "$SYSFS_NAME" && "$(cat "$SYSFS_NAME")" == "$LABEL" ]]
}

cannot_load() {  # why modprobe failed, and what to do
    local detail=$1
    if in_container; then
        fail "this is a container, and an unprivileged container cannot load kernel modules. Run this script on the host, then pass the camera in (docker run --device ${DEVICE})."
    fi
    if secure_boot_on; then
        fail "the module did not load (${detail}). Secure Boot is on and rejects modules signed by DKMS's own key: enroll it with 'sudo mokutil --import /var/lib/dkms/mok.pub', reboot, confirm the key in the blue MOK screen, then run this script again."
    fi
    fail "the module did not load (${detail}). Check that DKMS built it for this kernel ('dkms status'; the headers package linux-headers-$(uname -r) must be installed), then run this script again."
}

# --- who runs this ------------------------------------------------------------------------
if ((!DRY_RUN)) && [[ $EUID -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        say "root is needed to install and load a kernel module; asking sudo"
        exec sudo bash "$0" "$@"
    fi
    fail "run this as root: sudo bash installers/v4l2loopback.sh"
fi
if ((DRY_RUN)); then
    say "dry run: nothing is installed, loaded or written"
fi
if ! command -v apt-get >/dev/null 2>&1; then
    fail "this script installs with apt-get (Debian, Ubuntu). Elsewhere install v4l2loopback from your distribution, then run: modprobe v4l2loopback $(shown "${MODULE_ARGS[@]}")"
fi

# --- packages -----------------------------------------------------------------------------
packages=()
package_installed v4l2loopback-utils || packages+=(v4l2loopback-utils)
if module_available; then
    say "the v4l2loopback module is already available for kernel $(uname -r)"
else
    package_installed v4l2loopback-dkms || packages+=(v4l2loopback-dkms)
    headers="linux-headers-$(uname -r)"
    if package_installed "$headers"; then
        :
    elif package_available "$headers"; then
        packages+=("$headers")
    else
        say "note: no package $headers for this kernel; DKMS can build v4l2loopback only if the kernel's headers are installed some other way"
    fi
fi
if ((${#packages[@]})); then
    run apt-get update
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"
else
    say "the packages are already installed"
fi

# --- load it now --------------------------------------------------------------------------
if our_device_loaded; then
    say "${DEVICE} is already the '${LABEL}'"
else
    if [[ -d /sys/module/v4l2loopback ]]; then
        # Loaded with other settings (by OBS, or by hand): reload it with ours if nothing
        # is using it.
        if ((DRY_RUN)); then
            say "would run: modprobe -r v4l2loopback   (it is loaded with other settings)"
        elif ! modprobe -r v4l2loopback; then
            fail "v4l2loopback is loaded with other settings and in use; close the programs that use a camera (OBS, browsers), then run this script again"
        fi
    fi
    if ((DRY_RUN)); then
        run modprobe v4l2loopback "${MODULE_ARGS[@]}"
        if in_container; then
            say "note: this is a container; unless it is privileged it cannot load kernel modules, and a real run would stop here: run it on the host and pass ${DEVICE} in (docker run --device ${DEVICE})"
        fi
    else
        if ! command -v modprobe >/dev/null 2>&1; then
            in_container && cannot_load "no modprobe here"
            run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends kmod
        fi
        say "+ $(shown modprobe v4l2loopback "${MODULE_ARGS[@]}")"
        if ! output=$(modprobe v4l2loopback "${MODULE_ARGS[@]}" 2>&1); then
            cannot_load "${output:-modprobe failed}"
        fi
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            our_device_loaded && break
            sleep 0.2
        done
        our_device_loaded || fail "v4l2loopback loaded, but ${DEVICE} is not the '${LABEL}' (is video${VIDEO_NR} taken by another camera?); see: v4l2-ctl --list-devices"
        say "${DEVICE} is the '${LABEL}'"
    fi
fi

# --- at every boot ------------------------------------------------------------------------
write_file "$MODULES_LOAD_FILE" "$MODULES_LOAD_TEXT"
write_file "$MODPROBE_FILE" "$MODPROBE_TEXT"
for other in /etc/modprobe.d/*.conf; do
    [[ -f "$other" && "$other" != "$MODPROBE_FILE" ]] || continue
    if grep -qs '^[[:space:]]*options[[:space:]]\+v4l2loopback' "$other"; then
        say "note: $other also sets v4l2loopback options; remove them if the camera comes up differently after a reboot"
    fi
done

if ((DRY_RUN)); then
    say "dry run done: nothing was changed"
else
    say "done: choose '${LABEL}' as the camera in your app; LiveHost Studio sends to it with --out virtualcam"
fi
