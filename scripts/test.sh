#!/usr/bin/env bash
# Installs whatever is missing and runs every test: formatting, clippy on both feature sets,
# unit and integration tests, then the end-to-end suite in headless Chromium against the
# release build, on a free port. Stops what it started, even when a test fails.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_build_tools
ensure_chromium
ensure_playwright

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy (ssr, native)"
cargo clippy --features ssr --all-targets -- -D warnings
step "clippy (hydrate, wasm32)"
cargo clippy --lib --features hydrate --target wasm32-unknown-unknown -- -D warnings

step "unit and integration tests (ssr)"
cargo test --features ssr
step "unit tests (hydrate, native)"
cargo test --lib --features hydrate

build_release
scripts/budget.sh

step "end-to-end tests in headless Chromium"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export_site_env
export LEPTOS_SITE_ADDR="127.0.0.1:$port"
log="$ROOT/target/e2e-server.log"
target/release/tokenflight >"$log" 2>&1 &
server=$!
playwright=""
stop_started() {
  # Clean-up only: nothing here may change the script's exit status.
  set +e
  kill "$server" 2>/dev/null
  wait "$server" 2>/dev/null
  # Playwright runs in its own process group: this stops the browsers it started (and only
  # those), even if it crashed and left them behind.
  [[ -n "$playwright" ]] && kill -- "-$playwright" 2>/dev/null
  return 0
}
trap stop_started EXIT
for _ in $(seq 1 100); do
  curl -fs -o /dev/null "http://127.0.0.1:$port/login" && break
  kill -0 "$server" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
BASE_URL="http://127.0.0.1:$port" setsid npx --prefix end2end playwright test \
  --config end2end/playwright.config.ts &
playwright=$!
wait "$playwright"
