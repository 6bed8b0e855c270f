#!/usr/bin/env bash
# tools/fetch-model.sh against file:// URLs and a local HTTP server (127.0.0.1, a free port):
# fresh download, idempotence, checksum and size mismatches, resume of a partial file, a
# server without ranges, a dropped connection, a 404, the XDG default destination; and the
# fast-style models from a stand-in saved_models.zip: one or all four installed, kept on a
# rerun, the unverified notice and SHA-256 lines, --sha256, an archive without the model or
# with a file that is no checkpoint, extraction with python3 when unzip is missing; and
# vgg16 from a stand-in: installed when its SHA-256 starts with the prefix (a test prefix:
# 397923af is torchvision's), refused otherwise, resumed, kept, beside vgg19.pth; torchvision's
# prefix and size by default; a full --sha256; combinations with other operands refused.
# usage: test_fetch_model.sh path/to/fetch-model.sh
set -uo pipefail

fetch=$1
failures=0
checks=0

command -v curl >/dev/null 2>&1 || {
    echo "FAIL: curl is not installed; fetch-model.sh and this test need it" >&2
    exit 1
}
command -v python3 >/dev/null 2>&1 || { echo "FAIL: python3 is needed for the test server" >&2; exit 1; }

tmp=$(mktemp -d)
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
    rm -rf -- "$tmp"
}
trap cleanup EXIT

check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    checks=$((checks + 1))
    if "$@"; then
        echo "ok   $what"
    else
        echo "FAIL $what"
        failures=$((failures + 1))
    fi
}

# The model stand-in: 300 KB of deterministic bytes.
serve=$tmp/serve
mkdir -p "$serve"
python3 -c 'import sys, random; r = random.Random(1); sys.stdout.buffer.write(bytes(r.getrandbits(8) for _ in range(300000)))' >"$serve/model.pth"
model=$serve/model.pth
size=$(wc -c <"$model" | tr -d ' ')
sha=$(sha256sum "$model" | cut -d' ' -f1)
export CLSTYLE_MODEL_SIZE=$size CLSTYLE_MODEL_SHA256=$sha
unset CLSTYLE_MODEL_URL CLSTYLE_MODEL_DEST

run() { # run LOG ARGS...: fetch-model.sh's status; its messages in LOG
    local log=$1
    shift
    "$fetch" --quiet "$@" >"$log" 2>&1
}
fails() { ! run "$@"; }
exits_2() { "$fetch" "$@" >/dev/null 2>&1; [ $? -eq 2 ]; }
help_works() { "$fetch" --help | grep -q "usage: fetch-model.sh"; }
has() { grep -q -- "$2" "$1" || { echo "  expected '$2' in:"; sed 's/^/    /' "$1"; return 1; }; }
same() { cmp -s "$1" "$2"; }
absent() { [ ! -e "$1" ]; }

# --- file:// -----------------------------------------------------------------------------
dest=$tmp/a/vgg19.pth
check "fresh download from file://" run "$tmp/log" --url "file://$model" --dest "$dest"
check "installed file is the model" same "$dest" "$model"
check "no .part left behind" absent "$dest.part"
check "second run keeps the verified file" run "$tmp/log" --url "file://$tmp/missing" --dest "$dest"
check "second run says so" has "$tmp/log" "already installed and verified"

dest=$tmp/b/vgg19.pth
check "checksum mismatch fails" fails "$tmp/log" --url "file://$model" --dest "$dest" \
    --sha256 "$(printf '0%.0s' {1..64})"
check "checksum mismatch is reported" has "$tmp/log" "its SHA-256 is $sha, expected 0000"
check "checksum mismatch installs nothing" absent "$dest"
check "checksum mismatch removes the download" absent "$dest.part"

check "server file smaller than expected fails" fails "$tmp/log" --url "file://$model" \
    --dest "$dest" --size $((size + 10))
check "short download is reported" has "$tmp/log" "download incomplete: $size of $((size + 10)) bytes"
check "short download is kept for resuming" test -s "$dest.part"
rm -f "$dest.part"
check "server file larger than expected fails" fails "$tmp/log" --url "file://$model" \
    --dest "$dest" --size $((size - 10))
check "oversize download is reported and removed" has "$tmp/log" "it has $size bytes, expected $((size - 10))"
check "oversize download removed" absent "$dest.part"

# Resume: the .part holds the real first half, then the served copy's first half is spoiled:
# only a download that continues after the .part's bytes ends with the right checksum.
resume_setup() {
    mkdir -p "$(dirname "$1")"
    head -c 150000 "$model" >"$1.part"
    cp "$model" "$serve/spoiled.pth"
    printf 'X%.0s' {1..1000} | dd of="$serve/spoiled.pth" conv=notrunc status=none
}
dest=$tmp/c/vgg19.pth
resume_setup "$dest"
check "resume from file://" run "$tmp/log" --url "file://$serve/spoiled.pth" --dest "$dest"
check "resume says so" has "$tmp/log" "resuming $dest.part from byte 150000"
check "resumed file is the model" same "$dest" "$model"

echo junk >"$dest"
check "a wrong installed file is replaced" run "$tmp/log" --url "file://$model" --dest "$dest"
check "the wrong file is reported" has "$tmp/log" "does not verify (it has 5 bytes"
check "replaced file is the model" same "$dest" "$model"

mkdir -p "$tmp/xdg"
check "default destination under XDG_DATA_HOME" env XDG_DATA_HOME="$tmp/xdg" \
    "$fetch" --quiet --url "file://$model" 2>/dev/null
check "XDG destination holds the model" same "$tmp/xdg/clstyle/vgg19.pth" "$model"
check "--help" help_works
check "unknown option exits 2" exits_2 --bogus
check "bad --sha256 exits 2" exits_2 --sha256 xyz
check "bad --size exits 2" exits_2 --size 12k

# --- HTTP: a server with byte ranges that logs them, can drop a connection halfway, and
# serves /norange/ without range support. ----------------------------------------------
cat >"$tmp/server.py" <<'EOF'
import http.server, os, sys
root, portfile, log = sys.argv[1:4]

class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        ranged = not self.path.startswith("/norange/")
        path = os.path.join(root, os.path.basename(self.path.split("?")[0]))
        if not os.path.isfile(path):
            self.send_error(404)
            return
        data = open(path, "rb").read()
        start = 0
        header = self.headers.get("Range")
        with open(log, "a") as f:
            f.write(f"{self.path} {header}\n")
        if ranged and header and header.startswith("bytes="):
            start = int(header[6:].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        cut = os.path.join(root, "cut")
        if os.path.exists(cut):  # drop the connection halfway, once
            os.remove(cut)
            self.wfile.write(data[start : start + (len(data) - start) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(data[start:])

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
EOF
python3 "$tmp/server.py" "$serve" "$tmp/port" "$tmp/requests" &
server_pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || { echo "FAIL: the test HTTP server did not start" >&2; exit 1; }
base=http://127.0.0.1:$(cat "$tmp/port")

dest=$tmp/h1/vgg19.pth
check "fresh download over HTTP" run "$tmp/log" --url "$base/model.pth" --dest "$dest"
check "HTTP download is the model" same "$dest" "$model"

dest=$tmp/h2/vgg19.pth
resume_setup "$dest"
: >"$tmp/requests"
check "resume over HTTP" run "$tmp/log" --url "$base/spoiled.pth" --dest "$dest"
check "resumed HTTP file is the model" same "$dest" "$model"
check "resume asked for the missing bytes only" has "$tmp/requests" "/spoiled.pth bytes=150000-"

dest=$tmp/h3/vgg19.pth
touch "$serve/cut"
check "dropped connection fails" fails "$tmp/log" --url "$base/model.pth" --dest "$dest"
check "dropped connection keeps the partial file" has "$tmp/log" "is kept: run again to resume"
check "partial file is there" test -s "$dest.part"
check "second run completes it" run "$tmp/log" --url "$base/model.pth" --dest "$dest"
check "completed file is the model" same "$dest" "$model"

dest=$tmp/h4/vgg19.pth
mkdir -p "$tmp/h4"
head -c 1000 "$model" >"$dest.part"
check "server without ranges: starts over" run "$tmp/log" --url "$base/norange/model.pth" \
    --dest "$dest"
check "server without ranges: says so" has "$tmp/log" "cannot resume the download: starting over"
check "server without ranges: file is the model" same "$dest" "$model"

dest=$tmp/h5/vgg19.pth
check "404 fails" fails "$tmp/log" --url "$base/nothing.pth" --dest "$dest"
check "404 is reported" has "$tmp/log" "download of $base/nothing.pth failed"
check "404 installs nothing" absent "$dest"

# --- the fast-style models: a stand-in saved_models.zip ---------------------------------
unset CLSTYLE_MODELS_URL CLSTYLE_MODELS_SHA256 CLSTYLE_MODELS_SIZE
styles=(candy mosaic rain_princess udnie)
models=$tmp/models
mkdir -p "$models"
# zip_of ZIP NAME=FILE...: a zip holding FILE as saved_models/NAME.pth
zip_of() {
    python3 - "$@" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("saved_models/", b"")
    for arg in sys.argv[2:]:
        name, path = arg.split("=", 1)
        z.write(path, f"saved_models/{name}.pth")
PY
}
# Each stand-in model: 0x80 (pickle's PROTO opcode, as a legacy .pth starts) and random bytes.
seed=2
for s in "${styles[@]}"; do
    python3 -c 'import sys, random; r = random.Random(int(sys.argv[1]))
sys.stdout.buffer.write(b"\x80\x02" + bytes(r.getrandbits(8) for _ in range(40000)))' "$seed" \
        >"$models/$s.pth"
    seed=$((seed + 1))
done
printf 'not a checkpoint' >"$models/bad.pth"
: >"$models/empty.pth"
all=()
for s in "${styles[@]}"; do all+=("$s=$models/$s.pth"); done
zip_of "$serve/saved_models.zip" "${all[@]}"
zip_of "$serve/nocandy.zip" "mosaic=$models/mosaic.pth" "udnie=$models/udnie.pth"
zip_of "$serve/badmosaic.zip" "candy=$models/candy.pth" "mosaic=$models/bad.pth" \
    "rain_princess=$models/rain_princess.pth" "udnie=$models/udnie.pth"
zip_of "$serve/emptycandy.zip" "candy=$models/empty.pth"
archive=$serve/saved_models.zip
zip_sha=$(sha256sum "$archive" | cut -d' ' -f1)
sha_of() { sha256sum "$1" | cut -d' ' -f1; }

exits_1() { run "$@"; [ $? -eq 1 ]; }
lacks() { ! grep -q -- "$2" "$1" || { echo "  did not expect '$2' in:"; sed 's/^/    /' "$1"; return 1; }; }
only() { # only DIR FILE...: DIR holds exactly these files
    local got want
    got=$(find "$1" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tr '\n' ' ')
    shift
    want=
    if [ $# -gt 0 ]; then want=$(printf '%s\n' "$@" | sort | tr '\n' ' '); fi
    [ "$got" = "$want" ] || { echo "  expected '$want', found '$got'"; return 1; }
}
installed() { # installed DIR NAME...: DIR/NAME.pth is the stand-in for each NAME
    local dir=$1 s
    shift
    for s in "$@"; do cmp -s "$dir/$s.pth" "$models/$s.pth" || { echo "  $dir/$s.pth differs"; return 1; }; done
}
xdg_run() { # xdg_run XDG LOG ARGS...: run with XDG_DATA_HOME=XDG
    local xdg=$1
    shift
    XDG_DATA_HOME=$xdg run "$@"
}
xdg_fails_1() { XDG_DATA_HOME=$1 exits_1 "${@:2}"; }

xdg=$tmp/sx
dir=$xdg/clstyle
check "candy from file://" xdg_run "$xdg" "$tmp/log" --url "file://$archive" candy
check "candy is installed, and nothing else" only "$dir" candy.pth
check "candy.pth is the model" installed "$dir" candy
check "the unverified notice is printed" has "$tmp/log" \
    "unverified: pytorch/examples publishes no checksum for saved_models.zip"
check "the archive's SHA-256 is printed" has "$tmp/log" "SHA-256 is $zip_sha"
check "candy's SHA-256 is printed" has "$tmp/log" \
    "installed $dir/candy.pth (SHA-256 $(sha_of "$models/candy.pth"))"
check "rerun keeps candy" xdg_run "$xdg" "$tmp/log" --url "file://$tmp/missing" candy
check "rerun says so" has "$tmp/log" "$dir/candy.pth is already installed: kept"
check "kept candy is the model" installed "$dir" candy
check "fast-style installs the other three" xdg_run "$xdg" "$tmp/log" \
    --url "file://$archive" fast-style
check "all four are installed, and nothing else" only "$dir" candy.pth mosaic.pth \
    rain_princess.pth udnie.pth
check "all four are the models" installed "$dir" "${styles[@]}"
check "fast-style keeps candy" has "$tmp/log" "$dir/candy.pth is already installed: kept"
check "fast-style prints the SHA-256 of each new model" has "$tmp/log" \
    "installed $dir/udnie.pth (SHA-256 $(sha_of "$models/udnie.pth"))"
check "fast-style prints the unverified notice" has "$tmp/log" "unverified: pytorch/examples"
check "rerun of fast-style keeps all four" xdg_run "$xdg" "$tmp/log" \
    --url "file://$tmp/missing" fast-style
check "rerun of fast-style installs nothing new" lacks "$tmp/log" "installed "
check "rerun of fast-style keeps the models" installed "$dir" "${styles[@]}"
cp "$models/mosaic.pth" "$dir/candy.pth"
check "--force installs candy again" xdg_run "$xdg" "$tmp/log" --url "file://$archive" \
    --force candy
check "--force replaced candy" installed "$dir" candy
echo junk >"$dir/candy.pth"
check "an installed file that is no model is replaced" xdg_run "$xdg" "$tmp/log" \
    --url "file://$archive" candy
check "the wrong file is reported" has "$tmp/log" "candy.pth is not a model"
check "replaced candy is the model" installed "$dir" candy
check "no archive or work directory left" only "$dir" candy.pth mosaic.pth \
    rain_princess.pth udnie.pth

dir=$tmp/m1
check "--dest DIR installs into DIR" run "$tmp/log" --url "file://$archive" --dest "$dir" \
    mosaic rain_princess mosaic
check "--dest DIR holds the two models" only "$dir" mosaic.pth rain_princess.pth
check "--dest DIR models are the models" installed "$dir" mosaic rain_princess

dir=$tmp/m2
check "CLSTYLE_MODELS_URL and a right --sha256" env CLSTYLE_MODELS_URL="file://$archive" \
    "$fetch" --quiet --dest "$dir" --sha256 "$zip_sha" udnie 2>"$tmp/log"
check "right --sha256 is reported" has "$tmp/log" "saved_models.zip verified"
check "right --sha256: no unverified notice" lacks "$tmp/log" "unverified"
check "right --sha256 installs udnie" installed "$dir" udnie

dir=$tmp/m3
check "--sha256 mismatch fails with 1" exits_1 "$tmp/log" --url "file://$archive" \
    --dest "$dir" --sha256 "$(printf '0%.0s' {1..64})" candy
check "--sha256 mismatch is reported" has "$tmp/log" "its SHA-256 is $zip_sha, expected 0000"
check "--sha256 mismatch installs nothing" only "$dir"

check "archive without the model fails with 1" exits_1 "$tmp/log" \
    --url "file://$serve/nocandy.zip" --dest "$dir" candy
check "missing model is reported" has "$tmp/log" "the archive has no saved_models/candy.pth"
check "missing model installs nothing" only "$dir"

check "a file that is no checkpoint fails with 1" exits_1 "$tmp/log" \
    --url "file://$serve/badmosaic.zip" --dest "$dir" fast-style
check "no checkpoint is reported" has "$tmp/log" "saved_models/mosaic.pth in the archive is not a model"
check "no checkpoint installs nothing, not even the good ones" only "$dir"

check "an empty model fails with 1" exits_1 "$tmp/log" \
    --url "file://$serve/emptycandy.zip" --dest "$dir" candy
check "empty model is reported" has "$tmp/log" "is not a model: it is empty"
check "empty model installs nothing" only "$dir"

check "an archive that is no zip fails with 1" exits_1 "$tmp/log" \
    --url "file://$model" --dest "$dir" candy
check "no zip is reported" has "$tmp/log" "is not a zip archive"
check "no zip installs nothing" only "$dir"

mkdir -p "$dir"
cp "$archive" "$dir/saved_models.zip.part"
check "a complete archive left behind is used" run "$tmp/log" --url "file://$tmp/missing" \
    --dest "$dir" candy
check "the complete archive is reported" has "$tmp/log" "saved_models.zip.part is complete: using it"
check "candy from the archive left behind" installed "$dir" candy
check "the archive left behind is removed" only "$dir" candy.pth

check "unknown model exits 2" exits_2 --url "file://$archive" --dest "$tmp/m4" vangogh
check "vgg19 with a model exits 2" exits_2 --url "file://$archive" --dest "$tmp/m4" vgg19 candy
check "unknown model installs nothing" absent "$tmp/m4"
help_names_models() { "$fetch" --help | grep -q "fast-style"; }
check "--help names the models" help_names_models

# Without unzip: python3's zipfile; without either: a plain message.
# bin_of DIR CMD...: DIR holds links to these commands (python3: the real interpreter).
bin_of() {
    local d=$1 c p
    shift
    mkdir -p "$d"
    for c in "$@"; do
        if [ "$c" = python3 ]; then
            p=$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))')
        else
            p=$(command -v "$c") || { echo "  no $c"; return 1; }
        fi
        ln -sf "$p" "$d/$c"
    done
}
tools="bash curl sha256sum cut tr wc head od mktemp mv rm mkdir dirname grep cat"
# shellcheck disable=SC2086 # $tools is a list of words
bin_of "$tmp/bin-py" $tools python3
# shellcheck disable=SC2086
bin_of "$tmp/bin-none" $tools
dir=$tmp/m5
check "without unzip: python3 extracts" env PATH="$tmp/bin-py" "$fetch" --quiet \
    --url "file://$archive" --dest "$dir" rain_princess 2>"$tmp/log"
check "python3 extracted rain_princess" installed "$dir" rain_princess
no_unzipper() { # the status is 1
    PATH="$tmp/bin-none" "$fetch" --quiet --url "file://$archive" --dest "$tmp/m6" candy \
        >"$tmp/log" 2>&1
    [ $? -eq 1 ]
}
check "without unzip or python3 fails with 1" no_unzipper
check "without unzip or python3 says so" has "$tmp/log" "neither unzip nor python3 is installed"

# Over HTTP: a download, a resumed one, a dropped connection.
xdg=$tmp/hx
dir=$xdg/clstyle
check "candy over HTTP" xdg_run "$xdg" "$tmp/log" --url "$base/saved_models.zip?dl=1" candy
check "candy over HTTP is the model, alone" only "$dir" candy.pth
check "candy over HTTP is the model" installed "$dir" candy
check "HTTP: the unverified notice" has "$tmp/log" "unverified: pytorch/examples"

dir=$tmp/hm1
mkdir -p "$dir"
half=$(($(wc -c <"$archive") / 2))
head -c "$half" "$archive" >"$dir/saved_models.zip.part"
cp "$archive" "$serve/spoiled.zip"
printf 'X%.0s' {1..100} | dd of="$serve/spoiled.zip" conv=notrunc status=none
: >"$tmp/requests"
check "archive resumed over HTTP" run "$tmp/log" --url "$base/spoiled.zip" --dest "$dir" \
    fast-style
check "archive resume says so" has "$tmp/log" "resuming $dir/saved_models.zip.part from byte $half"
check "archive resume asked for the missing bytes only" has "$tmp/requests" \
    "/spoiled.zip bytes=$half-"
check "resumed archive gives the four models" installed "$dir" "${styles[@]}"

dir=$tmp/hm2
touch "$serve/cut"
check "dropped archive download fails" fails "$tmp/log" --url "$base/saved_models.zip" \
    --dest "$dir" udnie
check "dropped archive download is kept" test -s "$dir/saved_models.zip.part"
check "dropped archive download installs nothing" absent "$dir/udnie.pth"
check "second run completes it" run "$tmp/log" --url "$base/saved_models.zip" --dest "$dir" udnie
check "completed archive gives udnie, alone" only "$dir" udnie.pth
check "udnie over HTTP is the model" installed "$dir" udnie

# --- vgg16: torchvision's VGG-16, checked by the SHA-256 prefix in its file name ---------
# The stand-in differs from the VGG-19 one, so the exported CLSTYLE_MODEL_* (VGG-19's) would
# refuse it if they applied to vgg16. Its own prefix plays the part of 397923af: the first 8
# hex digits of its SHA-256, as torch.hub names files (CLSTYLE_VGG16_SHA256_PREFIX).
python3 -c 'import sys, random; r = random.Random(16); sys.stdout.buffer.write(bytes(r.getrandbits(8) for _ in range(200000)))' >"$serve/vgg16.pth"
v16=$serve/vgg16.pth
v16_size=$(wc -c <"$v16" | tr -d ' ')
v16_sha=$(sha256sum "$v16" | cut -d' ' -f1)
v16_prefix=${v16_sha:0:8}
unset CLSTYLE_VGG16_URL CLSTYLE_VGG16_SHA256 CLSTYLE_VGG16_SIZE CLSTYLE_VGG16_DEST
export CLSTYLE_VGG16_SIZE=$v16_size CLSTYLE_VGG16_SHA256_PREFIX=$v16_prefix
# A file whose SHA-256 starts otherwise (the VGG-19 stand-in, unless by chance).
case $sha in "$v16_prefix"*) echo "FAIL: the stand-ins' SHA-256 prefixes collide" >&2; exit 1 ;; esac

dest=$tmp/v1/vgg16.pth
check "vgg16 from file://" run "$tmp/log" --url "file://$v16" --dest "$dest" vgg16
check "vgg16: installed file is the stand-in" same "$dest" "$v16"
check "vgg16: no .part left behind" absent "$dest.part"
check "vgg16: the prefix check is reported" has "$tmp/log" \
    "installed $dest (its SHA-256 starts with $v16_prefix, as torchvision checks)"
check "vgg16: rerun keeps the verified file" run "$tmp/log" --url "file://$tmp/missing" \
    --dest "$dest" vgg16
check "vgg16: rerun says so" has "$tmp/log" "already installed and verified"
check "vgg16: kept file is the stand-in" same "$dest" "$v16"

dest=$tmp/v2/vgg16.pth
check "vgg16: a file with another SHA-256 prefix fails with 1" exits_1 "$tmp/log" \
    --url "file://$model" --dest "$dest" --size "$size" vgg16
check "vgg16: the wrong prefix is reported" has "$tmp/log" \
    "its SHA-256 is $sha, which does not start with $v16_prefix"
check "vgg16: the wrong file installs nothing" absent "$dest"
check "vgg16: the wrong file is removed" absent "$dest.part"

check "vgg16: a short prefix (4 hex digits) is enough" env \
    CLSTYLE_VGG16_SHA256_PREFIX="${v16_sha:0:4}" "$fetch" --quiet --url "file://$v16" \
    --dest "$tmp/v3/vgg16.pth" vgg16 2>/dev/null
check "vgg16: installed with the short prefix" same "$tmp/v3/vgg16.pth" "$v16"
check "vgg16: the whole digest as the prefix works too" env \
    CLSTYLE_VGG16_SHA256_PREFIX="$(printf '%s' "$v16_sha" | tr a-f A-F)" "$fetch" --quiet \
    --url "file://$v16" --dest "$tmp/v4/vgg16.pth" vgg16 2>/dev/null
check "vgg16: installed with the whole digest as the prefix" same "$tmp/v4/vgg16.pth" "$v16"

# Without CLSTYLE_VGG16_SHA256_PREFIX or CLSTYLE_VGG16_SIZE: torchvision's 397923af and size.
default_prefix() {
    env -u CLSTYLE_VGG16_SHA256_PREFIX "$fetch" --quiet --url "file://$v16" \
        --dest "$tmp/v5/vgg16.pth" vgg16 >"$tmp/log" 2>&1
    [ $? -eq 1 ]
}
check "vgg16: by default the prefix is 397923af" default_prefix
check "vgg16: the default prefix is reported" has "$tmp/log" \
    "its SHA-256 is $v16_sha, which does not start with 397923af"
check "vgg16: the default prefix installs nothing" absent "$tmp/v5/vgg16.pth"
default_size() {
    env -u CLSTYLE_VGG16_SIZE "$fetch" --quiet --url "file://$v16" \
        --dest "$tmp/v5/vgg16.pth" vgg16 >"$tmp/log" 2>&1
    [ $? -eq 1 ]
}
check "vgg16: by default the size is torchvision's" default_size
check "vgg16: the default size is reported" has "$tmp/log" \
    "download incomplete: $v16_size of 553433881 bytes"
check "vgg16: the default size installs nothing" absent "$tmp/v5/vgg16.pth"
rm -f "$tmp/v5/vgg16.pth.part"

dest=$tmp/v6/vgg16.pth
check "vgg16: a full --sha256 replaces the prefix" env CLSTYLE_VGG16_SHA256_PREFIX=0000 \
    "$fetch" --quiet --url "file://$v16" --dest "$dest" --sha256 "$v16_sha" vgg16 2>"$tmp/log"
check "vgg16: the full digest is reported" has "$tmp/log" "installed $dest (SHA-256 verified)"
check "vgg16: installed with --sha256" same "$dest" "$v16"
dest=$tmp/v7/vgg16.pth
check "vgg16: a wrong full --sha256 fails with 1" exits_1 "$tmp/log" --url "file://$v16" \
    --dest "$dest" --sha256 "$v16_prefix$(printf '0%.0s' {1..56})" vgg16
check "vgg16: the wrong full digest is reported" has "$tmp/log" \
    "its SHA-256 is $v16_sha, expected $v16_prefix"
check "vgg16: the wrong full digest installs nothing" absent "$dest"
check "vgg16: a right CLSTYLE_VGG16_SHA256" env CLSTYLE_VGG16_SHA256="$v16_sha" \
    CLSTYLE_VGG16_URL="file://$v16" "$fetch" --quiet --dest "$dest" vgg16 2>/dev/null
check "vgg16: installed from CLSTYLE_VGG16_URL" same "$dest" "$v16"

# Resume: the .part holds the real first half; the served copy's first bytes are spoiled.
dest=$tmp/v8/vgg16.pth
mkdir -p "$tmp/v8"
head -c 100000 "$v16" >"$dest.part"
cp "$v16" "$serve/spoiled16.pth"
printf 'X%.0s' {1..1000} | dd of="$serve/spoiled16.pth" conv=notrunc status=none
check "vgg16: resume from file://" run "$tmp/log" --url "file://$serve/spoiled16.pth" \
    --dest "$dest" vgg16
check "vgg16: resume says so" has "$tmp/log" "resuming $dest.part from byte 100000 of $v16_size"
check "vgg16: resumed file is the stand-in" same "$dest" "$v16"

dest=$tmp/v9/vgg16.pth
mkdir -p "$tmp/v9"
head -c 100000 "$v16" >"$dest.part"
: >"$tmp/requests"
check "vgg16: resume over HTTP" run "$tmp/log" --url "$base/spoiled16.pth" --dest "$dest" vgg16
check "vgg16: resume asked for the missing bytes only" has "$tmp/requests" \
    "/spoiled16.pth bytes=100000-"
check "vgg16: resumed HTTP file is the stand-in" same "$dest" "$v16"

echo junk >"$dest"
check "vgg16: a wrong installed file is replaced" run "$tmp/log" --url "file://$v16" \
    --dest "$dest" vgg16
check "vgg16: the wrong installed file is reported" has "$tmp/log" "does not verify (it has 5 bytes"
check "vgg16: replaced file is the stand-in" same "$dest" "$v16"

xdg=$tmp/vx
check "vgg16: default destination under XDG_DATA_HOME" xdg_run "$xdg" "$tmp/log" \
    --url "file://$v16" vgg16
check "vgg16: it is clstyle/vgg16.pth, alone" only "$xdg/clstyle" vgg16.pth
check "vgg16: XDG destination holds the stand-in" same "$xdg/clstyle/vgg16.pth" "$v16"
check "vgg19 beside it" xdg_run "$xdg" "$tmp/log" --url "file://$model" vgg19
check "vgg19 and vgg16 side by side" only "$xdg/clstyle" vgg16.pth vgg19.pth
check "vgg19 beside it is VGG-19's stand-in" same "$xdg/clstyle/vgg19.pth" "$model"
check "vgg16 beside it is kept" same "$xdg/clstyle/vgg16.pth" "$v16"

check "vgg16 with vgg19 exits 2" exits_2 --url "file://$v16" --dest "$tmp/v10" vgg16 vgg19
check "vgg16 with a model exits 2" exits_2 --url "file://$v16" --dest "$tmp/v10" vgg16 candy
check "vgg16 with fast-style exits 2" exits_2 --url "file://$v16" --dest "$tmp/v10" fast-style vgg16
check "refused combinations install nothing" absent "$tmp/v10"
prefix_exits_2() { # prefix_exits_2 PREFIX ARGS...
    CLSTYLE_VGG16_SHA256_PREFIX=$1 "$fetch" --quiet --url "file://$v16" --dest "$tmp/v10" \
        "${@:2}" vgg16 >/dev/null 2>&1
    [ $? -eq 2 ]
}
check "vgg16: a 3-digit prefix exits 2" prefix_exits_2 "${v16_sha:0:3}"
check "vgg16: a prefix that is no hex exits 2" prefix_exits_2 "${v16_sha:0:7}g"
check "vgg16: a prefix of 65 digits exits 2" prefix_exits_2 "${v16_sha}0"
check "vgg16: --sha256 takes no prefix (exits 2)" prefix_exits_2 "$v16_prefix" \
    --sha256 "$v16_prefix"
check "vgg16: bad usage installs nothing" absent "$tmp/v10"
help_names_vgg16() { "$fetch" --help | grep -q "With vgg16: "; }
check "--help names vgg16" help_names_vgg16

echo "$checks checks, $failures failed"
[ "$failures" -eq 0 ]
