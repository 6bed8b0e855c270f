#!/usr/bin/env bash
# smoke.sh BUILD_DIR SECONDS: fuzzes every target for SECONDS, starting from its seed
# corpus and regression files copied to a temporary directory (the repository is not
# modified), and prints one line per target. Exits non-zero when any target reports a
# crash, leak, timeout, out-of-memory or sanitizer error; the reproducer and the log are
# kept and named. Targets run side by side, $FUZZ_JOBS at once (default: one per core).
set -uo pipefail
if [ $# -ne 2 ] || ! [ "$2" -gt 0 ] 2>/dev/null; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build=$1 seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
targets=(png jpeg safetensors pth_zip pth_legacy cli_options stylize_args train_args)
work=$(mktemp -d "${TMPDIR:-/tmp}/clstyle-fuzz-smoke.XXXXXX")
keep=false
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

fuzz_target() { # fuzz_target T: fuzzes T, prints its line; fails on a finding
  local t=$1 exe corpus log dict seeds start rc elapsed done_line execs speed rss cov ft corp \
    artifact reason
  exe="$build/tests/fuzz/fuzz_$t"
  if [ ! -x "$exe" ]; then
    echo "fuzz_$t: FAIL not built ($exe; configure with -Dfuzz=true)"
    return 1
  fi
  corpus="$work/$t/corpus"
  mkdir -p "$corpus" "$work/$t/artifacts"
  for dir in "$here/corpus/$t" "$here/regressions/$t"; do
    [ -d "$dir" ] && find "$dir" -type f ! -name '*.md' -exec cp -t "$corpus" {} +
  done
  seeds=$(find "$corpus" -type f | wc -l)
  dict=()
  [ -f "$here/dict/$t.dict" ] && dict=("-dict=$here/dict/$t.dict")
  log="$work/$t/log"
  start=$(date +%s)
  "$exe" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=25 \
    -close_fd_mask=3 -print_final_stats=1 -artifact_prefix="$work/$t/artifacts/" "${dict[@]}" \
    "$corpus" >"$log" 2>&1
  rc=$?
  elapsed=$(($(date +%s) - start))
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' <<<"$done_line" | cut -d' ' -f2)
  ft=$(grep -oE 'ft: [0-9]+' <<<"$done_line" | cut -d' ' -f2)
  corp=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' <<<"$done_line" | cut -d' ' -f2)
  if [ "$rc" -eq 0 ] && [ -n "$done_line" ] && ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error:' "$log"; then
    printf 'fuzz_%s: ok   %ss execs %s (%s/s) cov %s ft %s corpus %s (from %s seeds) rss %s MB\n' \
      "$t" "$elapsed" "${execs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$seeds" \
      "${rss:-?}"
  else
    artifact=$(find "$work/$t/artifacts" -type f | head -1)
    reason=$(grep -m1 -oE 'ERROR: [A-Za-z]+: [^ ]+( [^ ]+)?|runtime error: .*|out-of-memory.*|timeout.*' "$log")
    printf 'fuzz_%s: FAIL exit %s after %ss: %s; reproducer %s; log %s\n' "$t" "$rc" "$elapsed" \
      "${reason:-see the log}" "${artifact:-none}" "$log"
    return 1
  fi
}

# libFuzzer runs each target on one thread.
max_jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
[[ $max_jobs =~ ^[1-9][0-9]*$ ]] || max_jobs=1
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$max_jobs" ]; do
    wait -n
  done
  (fuzz_target "$t" >"$work/$t.line"; echo $? >"$work/$t.status") &
done
wait
failed=0
for t in "${targets[@]}"; do
  cat "$work/$t.line"
  if [ "$(cat "$work/$t.status")" != 0 ]; then
    failed=$((failed + 1)); keep=true
  fi
done
if $keep; then
  echo "smoke.sh: $failed target(s) failed; logs and reproducers kept in $work"
else
  rm -rf "$work"
fi
[ "$failed" -eq 0 ]
