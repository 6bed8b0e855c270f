#!/usr/bin/env bash
# Downloads torchvision's VGG-19 weights, verifies their size and SHA-256 and installs them
# atomically where clstyle looks for them. Resumes partial downloads; does nothing when a
# verified copy is already installed. Given vgg16, does the same for torchvision's VGG-16
# weights (the loss network of `clstyle train`), checking the SHA-256 prefix in their file
# name as torchvision does. Given model names, installs pytorch/examples'
# published fast-neural-style models (candy, mosaic, rain_princess, udnie) the same way,
# from their one zip archive, for which no checksum is published.
set -euo pipefail

DEFAULT_URL=https://download.pytorch.org/models/vgg19-dcbb9e9d.pth
DEFAULT_SIZE=574673361
DEFAULT_SHA256=dcbb9e9dad569fff7a846263a77324fc34978fea2bfb039c012d710e1776ae44
# torchvision's VGG16_Weights.IMAGENET1K_V1. torch.hub checks such a file only by the 8+ hex
# digits after the last '-' of its name (check_hash: the SHA-256 must start with them), and
# so does this script unless --sha256 gives a full digest (the one third parties record for
# this file: 397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0). The size is
# what torch.hub's progress bar shows for this URL (553433881/553433881), consistent with
# torchvision's "_file_size": 527.796 (MiB).
VGG16_URL=https://download.pytorch.org/models/vgg16-397923af.pth
VGG16_SIZE=553433881
VGG16_SHA256_PREFIX=397923af
# What pytorch/examples' fast_neural_style/download_saved_models.py downloads: a zip of
# saved_models/{candy,mosaic,rain_princess,udnie}.pth (legacy-format PyTorch state_dicts).
MODELS_URL='https://www.dropbox.com/s/lrvwfehqdcxoza8/saved_models.zip?dl=1'
MODELS_ZIP=saved_models.zip
STYLES=(candy mosaic rain_princess udnie)

usage() {
    cat <<EOF
usage: fetch-model.sh [--dest PATH] [--url URL] [--sha256 HEX] [--size BYTES] [--force]
                      [--quiet] [vgg19 | vgg16 | MODEL...]

With no operand (or vgg19): downloads torchvision's VGG-19 weights (vgg19-dcbb9e9d.pth,
548 MiB) with curl (or wget), resuming a partial download (PATH.part) if there is one,
checks the size and SHA-256, and moves the file into place atomically. A verified file
already at PATH is kept as it is.

With vgg16: the same for torchvision's VGG-16 weights (vgg16-397923af.pth, 528 MiB), the
loss network of \`clstyle train\`, installed as vgg16.pth beside vgg19.pth. As torchvision
does, the SHA-256 is checked against the prefix in the file name (it must start with
$VGG16_SHA256_PREFIX) unless --sha256 gives the full digest.

With MODEL names (candy, mosaic, rain_princess, udnie; fast-style for all four): downloads
the fast-neural-style models pytorch/examples publishes, one zip archive ($MODELS_ZIP),
the same way into DIR/$MODELS_ZIP.part, extracts the named models (with unzip, else
python3), checks that each starts like a PyTorch checkpoint and moves it into place
atomically as DIR/MODEL.pth, where \`clstyle stylize -m MODEL\` looks; then removes the
archive. pytorch/examples publishes no checksum for the archive: unless you give one with
--sha256 it is unverified, and the SHA-256 of each installed model is printed for you to
record. An installed model is kept as it is.

vgg19, vgg16 and the models are fetched in separate runs: giving two of them is a usage
error.

  --dest PATH     VGG-19, VGG-16: the file to install (default
                  \${XDG_DATA_HOME:-\$HOME/.local/share}/clstyle/vgg19.pth, vgg16.pth);
                  models: the directory DIR to install into (default
                  \${XDG_DATA_HOME:-\$HOME/.local/share}/clstyle)
  --url URL       download from URL instead  (env CLSTYLE_MODEL_URL; vgg16:
                  CLSTYLE_VGG16_URL; models: CLSTYLE_MODELS_URL)
  --sha256 HEX    expected SHA-256 (64 hex digits) of the file, or of the models' archive
                  (env CLSTYLE_MODEL_SHA256; vgg16: CLSTYLE_VGG16_SHA256; models:
                  CLSTYLE_MODELS_SHA256). For vgg16 without it, the prefix the SHA-256
                  must start with is $VGG16_SHA256_PREFIX (env CLSTYLE_VGG16_SHA256_PREFIX,
                  4 to 64 hex digits, replaces it: for tests)
  --size BYTES    expected size in bytes of the file, or of the models' archive
                  (env CLSTYLE_MODEL_SIZE; vgg16: CLSTYLE_VGG16_SIZE; models:
                  CLSTYLE_MODELS_SIZE)
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

# The operands as $want_vgg19, $want_vgg16 and $styles (each named style once).
want_vgg19=0
want_vgg16=0
styles=()
add_style() {
    local s
    for s in ${styles[@]+"${styles[@]}"}; do [ "$s" != "$1" ] || return 0; done
    styles+=("$1")
}
for name in ${names[@]+"${names[@]}"}; do
    case $name in
    vgg19) want_vgg19=1 ;;
    vgg16) want_vgg16=1 ;;
    fast-style) for s in "${STYLES[@]}"; do add_style "$s"; done ;;
    candy | mosaic | rain_princess | udnie) add_style "$name" ;;
    *) usage_error "unknown model: $name (known: vgg19, vgg16, candy, mosaic, rain_princess, udnie, fast-style)" ;;
    esac
done
kinds=$((want_vgg19 + want_vgg16))
[ ${#styles[@]} -eq 0 ] || kinds=$((kinds + 1))
if [ "$kinds" -gt 1 ]; then
    usage_error "fetch vgg19, vgg16 and the fast-style models in separate runs"
fi

# $sha256 is the full digest, or with $sha256_prefix set the hex digits it must start with.
sha256_prefix=''
if [ "$want_vgg16" = 1 ]; then
    url=${CLSTYLE_VGG16_URL:-$VGG16_URL}
    size=${CLSTYLE_VGG16_SIZE:-$VGG16_SIZE}
    sha256=${CLSTYLE_VGG16_SHA256:-}
    [ -n "$dest" ] || dest=${CLSTYLE_VGG16_DEST:-}
    if [ -z "$sha256" ] && [ "$set_sha256" = 0 ]; then
        sha256=${CLSTYLE_VGG16_SHA256_PREFIX:-$VGG16_SHA256_PREFIX}
        sha256_prefix=1
    fi
elif [ ${#styles[@]} -eq 0 ]; then
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
if [ -n "$sha256_prefix" ]; then
    case $sha256 in
    *[!0-9a-f]* | '' | ? | ?? | ???)
        say "the SHA-256 prefix must be 4 to 64 hex digits, not '$sha256'"; exit 2 ;;
    esac
    [ ${#sha256} -le 64 ] || { say "the SHA-256 prefix must be 4 to 64 hex digits"; exit 2; }
else
    case $sha256 in *[!0-9a-f]*) say "SHA-256 must be 64 hex digits"; exit 2 ;; esac
    if [ -z "$optional" ] || [ -n "$sha256" ]; then
        [ ${#sha256} -eq 64 ] || { say "SHA-256 must be 64 hex digits"; exit 2; }
    fi
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
    if [ -n "$sha256_prefix" ]; then
        got=$(hash_of "$1")
        case $got in
        "$sha256"*) ;;
        *) why="its SHA-256 is $got, which does not start with $sha256"; return 1 ;;
        esac
    elif [ -n "$sha256" ]; then
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

# Installs the weights file $1 (vgg19.pth or vgg16.pth; --dest names another).
fetch_weights() {
    if [ -z "$dest" ]; then
        data_dir
        dest=$data_dir/$1
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
    if [ -n "$sha256_prefix" ]; then
        say "installed $dest (its SHA-256 starts with $sha256, as torchvision checks)"
    else
        say "installed $dest (SHA-256 verified)"
    fi
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

if [ "$want_vgg16" = 1 ]; then
    fetch_weights vgg16.pth
elif [ ${#styles[@]} -eq 0 ]; then
    fetch_weights vgg19.pth
else
    fetch_styles
fi
