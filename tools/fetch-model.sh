#!/usr/bin/env bash
# Downloads torchvision's VGG-19 weights, verifies their size and SHA-256 and installs them
# atomically where clstyle looks for them. Resumes partial downloads; does nothing when a
# verified copy is already installed. Given model names, installs pytorch/examples'
# published fast-neural-style models (candy, mosaic, rain_princess, udnie) the same way,
# from their one zip archive, for which no checksum is published.
set -euo pipefail

DEFAULT_URL=https://download.pytorch.org/models/vgg19-dcbb9e9d.pth
DEFAULT_SIZE=574673361
DEFAULT_SHA256=dcbb9e9dad569fff7a846263a77324fc34978fea2bfb039c012d710e1776ae44
# What pytorch/examples' fast_neural_style/download_saved_models.py downloads: a zip of
# saved_models/{candy,mosaic,rain_princess,udnie}.pth (legacy-format PyTorch state_dicts).
MODELS_URL='https://www.dropbox.com/s/lrvwfehqdcxoza8/saved_models.zip?dl=1'
MODELS_ZIP=saved_models.zip
STYLES=(candy mosaic rain_princess udnie)

usage() {
    cat <<EOF
usage: fetch-model.sh [--dest PATH] [--url URL] [--sha256 HEX] [--size BYTES] [--force]
                      [--quiet] [vgg19 | MODEL...]

With no operand (or vgg19): downloads torchvision's VGG-19 weights (vgg19-dcbb9e9d.pth,
548 MiB) with curl (or wget), resuming a partial download (PATH.part) if there is one,
checks the size and SHA-256, and moves the file into place atomically. A verified file
already at PATH is kept as it is.

With MODEL names (candy, mosaic, rain_princess, udnie; fast-style for all four): downloads
the fast-neural-style models pytorch/examples publishes, one zip archive ($MODELS_ZIP),
the same way into DIR/$MODELS_ZIP.part, extracts the named models (with unzip, else
python3), checks that each starts like a PyTorch checkpoint and moves it into place
atomically as DIR/MODEL.pth, where \`clstyle stylize -m MODEL\` looks; then removes the
archive. pytorch/examples publishes no checksum for the archive: unless you give one with
--sha256 it is unverified, and the SHA-256 of each installed model is printed for you to
record. An installed model is kept as it is.

  --dest PATH     VGG-19: the file to install (default
                  \${XDG_DATA_HOME:-\$HOME/.local/share}/clstyle/vgg19.pth);
                  models: the directory DIR to install into (default
                  \${XDG_DATA_HOME:-\$HOME/.local/share}/clstyle)
  --url URL       download from URL instead  (env CLSTYLE_MODEL_URL; models: CLSTYLE_MODELS_URL)
  --sha256 HEX    expected SHA-256 of the file, or of the models' archive
                  (env CLSTYLE_MODEL_SHA256; models: CLSTYLE_MODELS_SHA256)
  --size BYTES    expected size in bytes of the file, or of the models' archive
                  (env CLSTYLE_MODEL_SIZE; models: CLSTYLE_MODELS_SIZE)
  --force         download and install again what is already installed
  --quiet         no progress bar
  --help          this text

Exit status: 0 when the verified file (or every named model) is installed, 1 on a failed
download, check or extraction (a partial download is kept for resuming; a complete file
or archive that fails a check is removed and nothing is installed from it), 2 on a usage
error.
EOF
}

say() { printf 'fetch-model: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
usage_error() { say "$*"; usage >&2; exit 2; }

opt_url='' opt_sha256='' opt_size='' set_url=0 set_sha256=0 set_size=0
dest=
quiet=0
force=0
names=()

while [ $# -gt 0 ]; do
    case $1 in
    --help | -h) usage; exit 0 ;;
    --quiet | -q) quiet=1 ;;
    --force | -f) force=1 ;;
    --dest | --url | --sha256 | --size)
        [ $# -ge 2 ] || usage_error "$1 needs a value"
        case $1 in
        --dest) dest=$2 ;;
        --url) opt_url=$2 set_url=1 ;;
        --sha256) opt_sha256=$2 set_sha256=1 ;;
        --size) opt_size=$2 set_size=1 ;;
        esac
        shift ;;
    --dest=*) dest=${1#*=} ;;
    --url=*) opt_url=${1#*=} set_url=1 ;;
    --sha256=*) opt_sha256=${1#*=} set_sha256=1 ;;
    --size=*) opt_size=${1#*=} set_size=1 ;;
    --) shift; names+=("$@"); break ;;
    -*) usage_error "unknown argument: $1" ;;
    *) names+=("$1") ;;
    esac
    shift
done

# The operands as $want_vgg19 and $styles (each named style once).
want_vgg19=0
styles=()
add_style() {
    local s
    for s in ${styles[@]+"${styles[@]}"}; do [ "$s" != "$1" ] || return 0; done
    styles+=("$1")
}
for name in ${names[@]+"${names[@]}"}; do
    case $name in
    vgg19) want_vgg19=1 ;;
    fast-style) for s in "${STYLES[@]}"; do add_style "$s"; done ;;
    candy | mosaic | rain_princess | udnie) add_style "$name" ;;
    *) usage_error "unknown model: $name (known: vgg19, candy, mosaic, rain_princess, udnie, fast-style)" ;;
    esac
done
if [ "$want_vgg19" = 1 ] && [ ${#styles[@]} -gt 0 ]; then
    usage_error "fetch vgg19 and the fast-style models in separate runs"
fi

if [ ${#styles[@]} -eq 0 ]; then
    url=${CLSTYLE_MODEL_URL:-$DEFAULT_URL}
    sha256=${CLSTYLE_MODEL_SHA256:-$DEFAULT_SHA256}
    size=${CLSTYLE_MODEL_SIZE:-$DEFAULT_SIZE}
    [ -n "$dest" ] || dest=${CLSTYLE_MODEL_DEST:-}
else # no checksum or size is published for the archive
    url=${CLSTYLE_MODELS_URL:-$MODELS_URL}
    sha256=${CLSTYLE_MODELS_SHA256:-}
    size=${CLSTYLE_MODELS_SIZE:-}
fi
[ "$set_url" = 0 ] || url=$opt_url
[ "$set_sha256" = 0 ] || sha256=$opt_sha256
[ "$set_size" = 0 ] || size=$opt_size

# $data_dir: where clstyle looks for installed models.
data_dir() {
    local data_home=${XDG_DATA_HOME:-}
    if [ -z "$data_home" ]; then
        [ -n "${HOME:-}" ] || die "neither XDG_DATA_HOME nor HOME is set: use --dest"
        data_home=$HOME/.local/share
    fi
    data_dir=$data_home/clstyle
}

# The VGG-19 weights have a known size and checksum; the models' archive may have neither.
optional=''
[ ${#styles[@]} -eq 0 ] || optional=1
if [ -z "$optional" ] || [ -n "$size" ]; then
    case $size in '' | *[!0-9]*) say "size must be a number of bytes, not '$size'"; exit 2 ;; esac
fi
sha256=$(printf '%s' "$sha256" | tr 'A-F' 'a-f')
case $sha256 in *[!0-9a-f]*) say "SHA-256 must be 64 hex digits"; exit 2 ;; esac
if [ -z "$optional" ] || [ -n "$sha256" ]; then
    [ ${#sha256} -eq 64 ] || { say "SHA-256 must be 64 hex digits"; exit 2; }
fi

if command -v sha256sum >/dev/null 2>&1; then
    hash_of() { sha256sum -- "$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then
    hash_of() { shasum -a 256 -- "$1" | cut -d' ' -f1; }
else
    die "neither sha256sum nor shasum is installed: cannot verify the download"
fi

size_of() { wc -c <"$1" | tr -d ' '; }

# Whether $1 has the expected size and hash (where known); sets $why when not.
verified() {
    local got
    if [ -n "$size" ]; then
        got=$(size_of "$1")
        if [ "$got" != "$size" ]; then
            why="it has $got bytes, expected $size"
            return 1
        fi
    fi
    if [ -n "$sha256" ]; then
        got=$(hash_of "$1")
        if [ "$got" != "$sha256" ]; then
            why="its SHA-256 is $got, expected $sha256"
            return 1
        fi
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
        wget ${wq[@]+"${wq[@]}"} --continue --tries=3 --output-document="$part" -- "$url" ||
            rc=$?
    else
        die "neither curl nor wget is installed: cannot download $url"
    fi
    return "$rc"
}

# Brings $part to the complete file at $url: resumes what is there (unless $size says it is
# complete already, or $1 is a command that says so), then checks it against $size and
# $sha256. A complete file that fails the check is removed.
fetch_part() {
    local complete=${1:-false} have
    if [ -f "$part" ]; then
        have=$(size_of "$part")
        if [ -n "$size" ] && [ "$have" -gt "$size" ]; then
            say "$part is larger than the expected $size bytes: discarding it"
            rm -f -- "$part"
        elif [ -z "$size" ] && [ "$have" -gt 0 ] && "$complete" "$part"; then
            say "$part is complete: using it"
            size=$have
        elif [ "$have" -gt 0 ]; then
            say "resuming $part from byte $have${size:+ of $size}"
        fi
    fi

    if [ ! -f "$part" ] || [ -z "$size" ] || [ "$(size_of "$part")" -lt "$size" ]; then
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
    if [ -n "$size" ] && [ "$have" -lt "$size" ]; then
        die "download incomplete: $have of $size bytes; $part is kept: run again to resume" \
            "(if this repeats, the file at $url is not the expected one)"
    fi
    if ! verified "$part"; then
        rm -f -- "$part"
        die "the download does not verify ($why); removed it"
    fi
}

fetch_vgg19() {
    if [ -z "$dest" ]; then
        data_dir
        dest=$data_dir/vgg19.pth
    fi
    part=$dest.part
    if [ -f "$dest" ] && [ "$force" = 0 ]; then
        if verified "$dest"; then
            say "$dest is already installed and verified"
            exit 0
        fi
        say "$dest does not verify ($why): downloading it again"
    fi
    mkdir -p -- "$(dirname -- "$dest")" || die "cannot create the directory of $dest"
    fetch_part
    mv -f -- "$part" "$dest"
    say "installed $dest (SHA-256 verified)"
}

# --- the fast-neural-style models -------------------------------------------------------

# Whether $1 starts like a PyTorch checkpoint: a legacy pickle (0x80, pickle's PROTO opcode)
# or a zip (PK\3\4); sets $why when not.
checkpoint() {
    local magic
    if [ ! -s "$1" ]; then
        why="it is empty"
        return 1
    fi
    magic=$(head -c 4 -- "$1" | od -An -tx1 | tr -d ' \n')
    case $magic in 80* | 504b0304) return 0 ;; esac
    why="it does not start like a PyTorch checkpoint (first bytes: $magic)"
    return 1
}

# zip_list ZIP: the names in ZIP, one a line; zip_get ZIP NAME OUT: NAME's bytes into OUT.
pick_unzipper() {
    if command -v unzip >/dev/null 2>&1; then
        zip_list() { unzip -Z1 "$1" 2>/dev/null; }
        zip_get() { unzip -p "$1" "$2" >"$3"; }
    elif command -v python3 >/dev/null 2>&1; then
        zip_list() {
            python3 -c 'import sys, zipfile
print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$1" 2>/dev/null
        }
        zip_get() {
            python3 -c 'import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)' "$1" "$2" "$3"
        }
    else
        die "neither unzip nor python3 is installed: cannot extract $MODELS_ZIP (install unzip)"
    fi
}

zip_complete() { zip_list "$1" >/dev/null; }

# Where NAME.pth is in the archive $part: saved_models/NAME.pth (or NAME.pth at the top).
member_of() {
    local m
    for m in "saved_models/$1.pth" "$1.pth"; do
        if printf '%s\n' "$members" | grep -qxF -- "$m"; then
            printf '%s' "$m"
            return 0
        fi
    done
    return 1
}

workdir=
cleanup() { if [ -n "$workdir" ]; then rm -rf -- "$workdir"; fi; }
trap cleanup EXIT

# Removes the archive and stops: nothing from it is installed.
reject() {
    rm -f -- "$part"
    die "$*; removed the archive, installed nothing"
}

# Extracts each of $todo from $part into $workdir and checks it.
extract() {
    local name member
    members=$(zip_list "$part") || reject "$part is not a zip archive"
    workdir=$(mktemp -d "$dir/.fetch-model.XXXXXX") || die "cannot create a directory in $dir"
    for name in "${todo[@]}"; do
        member=$(member_of "$name") || reject "the archive has no saved_models/$name.pth"
        zip_get "$part" "$member" "$workdir/$name.pth" || reject "cannot extract $member"
        checkpoint "$workdir/$name.pth" || reject "$member in the archive is not a model: $why"
    done
}

fetch_styles() {
    local name file
    dir=$dest
    if [ -z "$dir" ]; then
        data_dir
        dir=$data_dir
    fi
    todo=()
    for name in "${styles[@]}"; do
        file=$dir/$name.pth
        if [ -f "$file" ] && [ "$force" = 0 ]; then
            if checkpoint "$file"; then
                say "$file is already installed: kept (--force fetches it again)"
                continue
            fi
            say "$file is not a model ($why): fetching it again"
        fi
        todo+=("$name")
    done
    [ ${#todo[@]} -gt 0 ] || exit 0

    pick_unzipper
    mkdir -p -- "$dir" || die "cannot create $dir"
    part=$dir/$MODELS_ZIP.part
    fetch_part zip_complete
    if [ -n "$sha256" ]; then
        say "$MODELS_ZIP verified (SHA-256 $sha256)"
    else
        say "unverified: pytorch/examples publishes no checksum for $MODELS_ZIP"
        say "(this download's SHA-256 is $(hash_of "$part"); --sha256 checks a later one against it)"
    fi
    extract
    for name in "${todo[@]}"; do
        file=$dir/$name.pth
        mv -f -- "$workdir/$name.pth" "$file"
        say "installed $file (SHA-256 $(hash_of "$file"))"
    done
    rm -f -- "$part"
}

if [ ${#styles[@]} -eq 0 ]; then fetch_vgg19; else fetch_styles; fi
