#!/usr/bin/env bash
# Size budget for the release bundle: fails when the browser download grows past it.
# Run after `build_release` (scripts/lib.sh; test.sh does).
#
# Two figures matter. The *main* wasm is what a visitor downloads before the dashboard is
# interactive. The lazy chunks (the demo panels, the admin page's statistics island; see
# `__wasm_split_manifest.*.json`) arrive after hydration or with their page, so they get a budget
# of their own: moving code out of the main wasm must not hide growth.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT/target/site"

MAIN_WASM=$(newest_built 'pkg/tokenflight.*.wasm')
JS=$(newest_built 'pkg/tokenflight.*.js')
mapfile -t CHUNKS < <(split_chunks)

# Measured 2026-11-26 with the islands app, split and size-built (`build_frontend_release` in
# lib.sh): main 431,198 B raw / 174,895 B gzip -9 (round one: one hydrated wasm of 1,000,222 /
# 387,537); 3 chunks, 105,823 B gzip in all. ~5 % headroom, well inside issue #13's 200 KB gzip.
# docs/bundle-size.md has the history.
MAIN_WASM_GZIP_BUDGET=184000
MAIN_WASM_RAW_BUDGET=455000
CHUNKS_GZIP_BUDGET=112000
JS_RAW_BUDGET=40000

gzip_size() { gzip -9 -c "$1" | wc -c; }
main_raw=$(wc -c <"$MAIN_WASM")
main_gzip=$(gzip_size "$MAIN_WASM")
chunks_gzip=0
for chunk in "${CHUNKS[@]}"; do
  chunks_gzip=$((chunks_gzip + $(gzip_size "$chunk")))
done
js_raw=$(wc -c <"$JS")
printf 'bundle: main wasm %d B raw, %d B gzip -9 (budgets %d, %d)\n' \
  "$main_raw" "$main_gzip" "$MAIN_WASM_RAW_BUDGET" "$MAIN_WASM_GZIP_BUDGET"
printf '        %d lazy chunks %d B gzip -9 (budget %d); js %d B (budget %d)\n' \
  "${#CHUNKS[@]}" "$chunks_gzip" "$CHUNKS_GZIP_BUDGET" "$js_raw" "$JS_RAW_BUDGET"
fail=0
(( ${#CHUNKS[@]} > 0 )) || { echo "no lazy chunks: was the build made with --split?"; fail=1; }
(( main_raw <= MAIN_WASM_RAW_BUDGET )) || { echo "over budget: main wasm raw"; fail=1; }
(( main_gzip <= MAIN_WASM_GZIP_BUDGET )) || { echo "over budget: main wasm gzip"; fail=1; }
(( chunks_gzip <= CHUNKS_GZIP_BUDGET )) || { echo "over budget: lazy chunks"; fail=1; }
(( js_raw <= JS_RAW_BUDGET )) || { echo "over budget: js"; fail=1; }
exit $fail
