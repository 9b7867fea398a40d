#!/bin/sh
# Installs what mdmlab needs to build, test and plot on Debian 12 (run as root, or with sudo).
# Idempotent: packages already present are left alone.
set -eu
pkgs="build-essential meson ninja-build pkg-config cmake libopenblas-dev libdnnl-dev libyaml-dev libpcre2-dev gnuplot-nox clang libomp-dev"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    echo "installing:$missing" >&2
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
