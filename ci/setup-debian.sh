#!/bin/sh
# Installs what mdmlab needs to build, test and plot on Debian 12 (run as root, or with sudo).
# Idempotent: packages already present are left alone.
set -eu
# ocl-icd-opencl-dev: Debian's oneDNN CMake config looks for OpenCL (without it Meson does not
# find dnnl and the oneDNN backend is silently left out). python3-torch: the PyTorch parity test.
# libopenmpi-dev, openmpi-bin: data parallel training (mpirun -np N mdmlab train).
pkgs="build-essential meson ninja-build pkg-config cmake libopenblas-dev libdnnl-dev ocl-icd-opencl-dev libyaml-dev libpcre2-dev gnuplot-nox clang libomp-dev python3-torch libopenmpi-dev openmpi-bin"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    echo "installing:$missing" >&2
    # wait up to 10 minutes for another apt/dpkg (unattended upgrades) to release its lock
    lock="-o DPkg::Lock::Timeout=600"
    echo "(waits up to 10 minutes if another apt holds the lock)" >&2
    # shellcheck disable=SC2086
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get $lock update -qq
    # shellcheck disable=SC2086
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get $lock install -y -qq --no-install-recommends $missing >/dev/null
fi
