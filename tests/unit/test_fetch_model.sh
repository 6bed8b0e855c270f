#!/usr/bin/env bash
# tools/fetch-model.sh against file:// URLs and a local HTTP server (127.0.0.1, a free port):
# fresh download, idempotence, checksum and size mismatches, resume of a partial file, a
# server without ranges, a dropped connection, a 404, the XDG default destination.
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
        path = os.path.join(root, os.path.basename(self.path))
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

echo "$checks checks, $failures failed"
[ "$failures" -eq 0 ]
