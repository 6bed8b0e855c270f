#!/usr/bin/env bash
# run_inputs.sh TARGET DIR...: runs a libFuzzer target once over every file in the DIRs
# (missing DIRs are skipped), without fuzzing; fails on any crash, leak or sanitizer report.
set -euo pipefail
target=$1; shift
files=()
for dir in "$@"; do
  [ -d "$dir" ] || continue
  while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$dir" -type f ! -name '*.md' -print0 | sort -z)
done
if [ ${#files[@]} -eq 0 ]; then
  echo "run_inputs.sh: no input files in $*" >&2
  exit 1
fi
echo "running $(basename "$target") over ${#files[@]} files"
exec "$target" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=60 "${files[@]}"
