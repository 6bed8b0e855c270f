#!/usr/bin/env bash
# Downloads torchvision's VGG-19 weights, verifies their size and SHA-256 and installs them
# atomically where clstyle looks for them. Resumes partial downloads; does nothing when a
# verified copy is already installed.
set -euo pipefail

DEFAULT_URL=https://download.pytorch.org/models/vgg19-dcbb9e9d.pth
DEFAULT_SIZE=574673361
DEFAULT_SHA256=dcbb9e9dad569fff7a846263a77324fc34978fea2bfb039c012d710e1776ae44

usage() {
    cat <<EOF
usage: fetch-model.sh [--dest PATH] [--url URL] [--sha256 HEX] [--size BYTES] [--quiet]

Downloads torchvision's VGG-19 weights (vgg19-dcbb9e9d.pth, 548 MiB) with curl (or wget),
resuming a partial download (PATH.part) if there is one, checks the size and SHA-256, and
moves the file into place atomically. A verified file already at PATH is kept as it is.

  --dest PATH     where to install (default \${XDG_DATA_HOME:-\$HOME/.local/share}/clstyle/vgg19.pth)
  --url URL       download from URL instead           (env CLSTYLE_MODEL_URL)
  --sha256 HEX    expected SHA-256 of the file        (env CLSTYLE_MODEL_SHA256)
  --size BYTES    expected size of the file in bytes  (env CLSTYLE_MODEL_SIZE)
  --quiet         no progress bar
  --help          this text

Exit status: 0 when the verified file is installed, 1 on a failed download or check (a
partial download is kept for resuming; a complete file with a wrong checksum is removed),
2 on a usage error.
EOF
}

say() { printf 'fetch-model: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

url=${CLSTYLE_MODEL_URL:-$DEFAULT_URL}
sha256=${CLSTYLE_MODEL_SHA256:-$DEFAULT_SHA256}
size=${CLSTYLE_MODEL_SIZE:-$DEFAULT_SIZE}
dest=${CLSTYLE_MODEL_DEST:-}
quiet=0

while [ $# -gt 0 ]; do
    case $1 in
    --help | -h) usage; exit 0 ;;
    --quiet | -q) quiet=1 ;;
    --dest | --url | --sha256 | --size)
        [ $# -ge 2 ] || { say "$1 needs a value"; usage >&2; exit 2; }
        case $1 in
        --dest) dest=$2 ;; --url) url=$2 ;; --sha256) sha256=$2 ;; --size) size=$2 ;;
        esac
        shift ;;
    --dest=*) dest=${1#*=} ;;
    --url=*) url=${1#*=} ;;
    --sha256=*) sha256=${1#*=} ;;
    --size=*) size=${1#*=} ;;
    *) say "unknown argument: $1"; usage >&2; exit 2 ;;
    esac
    shift
done

if [ -z "$dest" ]; then
    data_home=${XDG_DATA_HOME:-}
    if [ -z "$data_home" ]; then
        [ -n "${HOME:-}" ] || die "neither XDG_DATA_HOME nor HOME is set: use --dest"
        data_home=$HOME/.local/share
    fi
    dest=$data_home/clstyle/vgg19.pth
fi
case $size in '' | *[!0-9]*) say "size must be a number of bytes, not '$size'"; exit 2 ;; esac
sha256=$(printf '%s' "$sha256" | tr 'A-F' 'a-f')
case $sha256 in *[!0-9a-f]*) say "SHA-256 must be 64 hex digits"; exit 2 ;; esac
[ ${#sha256} -eq 64 ] || { say "SHA-256 must be 64 hex digits"; exit 2; }
part=$dest.part

if command -v sha256sum >/dev/null 2>&1; then
    hash_of() { sha256sum -- "$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then
    hash_of() { shasum -a 256 -- "$1" | cut -d' ' -f1; }
else
    die "neither sha256sum nor shasum is installed: cannot verify the download"
fi

size_of() { wc -c <"$1" | tr -d ' '; }

# Whether $1 has the expected size and hash; sets $why when not.
verified() {
    local got
    got=$(size_of "$1")
    if [ "$got" != "$size" ]; then
        why="it has $got bytes, expected $size"
        return 1
    fi
    got=$(hash_of "$1")
    if [ "$got" != "$sha256" ]; then
        why="its SHA-256 is $got, expected $sha256"
        return 1
    fi
}

# Downloads $url into $part, continuing after the bytes already there.
download() {
    local progress=(--progress-bar) rc=0
    if [ "$quiet" = 1 ] || [ ! -t 2 ]; then progress=(--silent --show-error); fi
    if command -v curl >/dev/null 2>&1; then
        curl --fail --location --retry 3 "${progress[@]}" --continue-at - \
            --output "$part" -- "$url" || rc=$?
        if [ "$rc" = 33 ] || [ "$rc" = 36 ]; then
            say "the server cannot resume the download: starting over"
            rm -f -- "$part"
            rc=0
            curl --fail --location --retry 3 "${progress[@]}" --output "$part" -- "$url" ||
                rc=$?
        fi
    elif command -v wget >/dev/null 2>&1; then
        case $url in http://* | https://* | ftp://*) ;;
        *) die "wget cannot fetch $url: install curl" ;;
        esac
        local wq=()
        if [ "$quiet" = 1 ] || [ ! -t 2 ]; then wq=(--quiet); fi
        wget "${wq[@]}" --continue --tries=3 --output-document="$part" -- "$url" || rc=$?
    else
        die "neither curl nor wget is installed: cannot download $url"
    fi
    return "$rc"
}

if [ -f "$dest" ]; then
    if verified "$dest"; then
        say "$dest is already installed and verified"
        exit 0
    fi
    say "$dest does not verify ($why): downloading it again"
fi

mkdir -p -- "$(dirname -- "$dest")" || die "cannot create the directory of $dest"

if [ -f "$part" ]; then
    have=$(size_of "$part")
    if [ "$have" -gt "$size" ]; then
        say "$part is larger than the expected $size bytes: discarding it"
        rm -f -- "$part"
    elif [ "$have" -gt 0 ]; then
        say "resuming $part from byte $have of $size"
    fi
fi

if [ ! -f "$part" ] || [ "$(size_of "$part")" -lt "$size" ]; then
    say "downloading $url"
    if ! download; then
        if [ -s "$part" ]; then
            die "download failed; the partial file $part ($(size_of "$part") bytes) is kept: run again to resume"
        fi
        rm -f -- "$part"
        die "download of $url failed"
    fi
fi

have=$(size_of "$part")
if [ "$have" -lt "$size" ]; then
    die "download incomplete: $have of $size bytes; $part is kept: run again to resume" \
        "(if this repeats, the file at $url is not the expected one)"
fi
if ! verified "$part"; then
    rm -f -- "$part"
    die "the download does not verify ($why); removed it"
fi
mv -f -- "$part" "$dest"
say "installed $dest (SHA-256 verified)"
