#!/usr/bin/env bash
# Installs whatever is missing and runs every test: formatting, clippy and rustdoc on both feature
# sets, unit and integration tests, then the end-to-end suite in headless Chromium against the
# release build, on a free port. Stops what it started, even when a test fails.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
mkdir -p target
ensure_wasm_target
ensure_rust_src
ensure_wasm_opt

# The long installs run in the background while fmt, clippy, rustdoc and the tests run, which need
# none of them: cargo-leptos and the wasm-bindgen CLI (minutes of compiling, in a target folder of
# cargo install's own), and the Debian, npm and PyPI packages (downloads). Each is waited for
# before its first use; its log is shown if it failed.
# in_background NAME COMMAND: starts COMMAND with its output in target/install-NAME.log; its pid
# in $started (a child of this shell, so `wait` can collect its status).
in_background() {
  local log="$ROOT/target/install-$1.log"
  shift
  ("$@") >"$log" 2>&1 &
  started=$!
}
install_builders() { ensure_cargo_leptos && ensure_wasm_bindgen; }
# One chain: parallel apt-get runs would fight over the dpkg lock.
install_services() {
  ensure_redis && ensure_chromium && ensure_playwright && ensure_schemathesis &&
    ensure_authlib && ensure_firefox && ensure_webkit && ensure_engine_specs
}
in_background builders install_builders
builders=$started
in_background services install_services
services=$started
# await NAME PID: waits for a background install, as a step of its own (the time it still took).
await() {
  step "waiting for the $1 installs (started in the background)"
  wait "$2" || { cat "$ROOT/target/install-$1.log"; exit 1; }
  cat "$ROOT/target/install-$1.log"
}

# Everything this script starts, stopped in the exit trap even when a step fails.
redis=""
server=""
playwright=""
stop_server() {
  # Playwright runs in its own process group: this stops the browsers it started (and only
  # those), even if it crashed and left them behind. Nothing here may fail the script: the
  # group is usually gone already, and a server stopped by a signal exits non-zero.
  if [[ -n "$playwright" ]]; then kill -- "-$playwright" 2>/dev/null || true; fi
  if [[ -n "$server" ]]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  server=""
  playwright=""
}
stop_started() {
  # Clean-up only: nothing here may change the script's exit status.
  set +e
  step_times
  # Background installs still running when a step failed: stopped with the script.
  kill "${builders:-}" "${services:-}" 2>/dev/null
  stop_server
  [[ -n "$redis" ]] && kill "$redis" 2>/dev/null && wait "$redis" 2>/dev/null
  [[ -n "${redis_dir:-}" ]] && rm -rf "$redis_dir"
  return 0
}
trap stop_started EXIT

# e2e NAME BINARY CONFIG: serves BINARY on a free port (the LEPTOS_* variables set by the caller)
# and runs the Playwright specs of CONFIG against it in headless Chromium, with its address in
# BASE_URL and ROUTER_APP_URL. The server keeps its sessions in memory: nothing to clean up.
e2e() {
  local name=$1 binary=$2 config=$3 port log
  step "end-to-end: $name, in headless Chromium"
  port=$(free_port)
  log="$ROOT/target/e2e-${name//[^a-z0-9]/-}.log"
  # The specs sign alice in from many pages at once; the default limit of 10 would revoke
  # sessions of tests still running.
  LEPTOS_SITE_ADDR="127.0.0.1:$port" STORE_URL=memory:// MAX_SESSIONS_PER_USER=1000 \
    "$binary" >"$log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do
    curl -fs -o /dev/null "http://127.0.0.1:$port/login" && break
    kill -0 "$server" 2>/dev/null || { cat "$log"; exit 1; }
    sleep 0.1
  done
  BASE_URL="http://127.0.0.1:$port" ROUTER_APP_URL="http://127.0.0.1:$port" \
    setsid npx --prefix end2end playwright test --config "$config" &
  playwright=$!
  wait "$playwright"
  stop_server
}

ROUTER_APP=examples/router_app/Cargo.toml
# The second app is checked (clippy, rustdoc) in this crate's target folder: every dependency it
# shares with the demo is checked once for both. Its builds go to a folder of their own
# (`ROUTER_APP_TARGET`): as its dependency, this crate's library is linked into the same
# unhashed `tokenflight.wasm` the demo's bundle is, with other features, and the demo's next
# build would take that file for its own (seen: wasm-split found no relocations in it).
export CARGO_TARGET_DIR="$ROOT/target"

step "cargo fmt --check"
cargo fmt --all -- --check
cargo fmt --manifest-path "$ROUTER_APP" -- --check

step "clippy (ssr + native client, all targets)"
cargo clippy --features ssr,native --all-targets -- -D warnings
step "clippy (hydrate, wasm32)"
cargo clippy --lib --features hydrate --target wasm32-unknown-unknown -- -D warnings
step "clippy: the identity provider without the demo (feature idp, as examples/router_app uses it)"
cargo clippy --lib --no-default-features --features idp -- -D warnings
step "clippy: examples/router_app (ssr; hydrate on wasm32)"
cargo clippy --manifest-path "$ROUTER_APP" --features ssr -- -D warnings
cargo clippy --manifest-path "$ROUTER_APP" --lib --features hydrate --target wasm32-unknown-unknown \
  -- -D warnings

step "rustdoc (both feature sets): no broken links"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --features ssr,native
# What docs.rs builds (Cargo.toml's `package.metadata.docs.rs`): the three ways in, no demo.
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --no-default-features --features client,native,idp
# The browser half on its own target: the dependencies' metadata from the clippy run above.
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --features hydrate --target wasm32-unknown-unknown

await services "$services"
step "unit and integration tests (ssr), the Redis store's against our own redis-server"
redis_port=$(free_port)
redis_dir=$(mktemp -d)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$redis_dir" \
  >"$redis_dir/redis.log" 2>&1 &
redis=$!
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null && break
  kill -0 "$redis" 2>/dev/null || { cat "$redis_dir/redis.log"; exit 1; }
  sleep 0.05
done
# The redis tests fail (never skip) if this Redis is not there.
export TEST_REDIS_URL="redis://127.0.0.1:$redis_port/0"
cargo test --features ssr
step "unit tests (hydrate, native)"
cargo test --lib --features hydrate

await builders "$builders"
step "cargo publish --dry-run: the crate packages and its packaged sources build"
cargo publish --dry-run --allow-dirty --features ssr

build_release
scripts/budget.sh

step "soak (10 s): native coordinators against the release server, one-second tokens"
scripts/soak.sh 50 10

# schemathesis reads /api/openapi.json and fuzzes every operation, signed in (see
# scripts/schemathesis/), with all its checks; any failure fails the run. The server's sign-in
# limits are raised for it: it signs in every two seconds and sends wrong passwords on purpose.
step "schemathesis: every operation of /api/openapi.json, all checks, against the release server"
fuzz_port=$(free_port)
LEPTOS_SITE_ADDR="127.0.0.1:$fuzz_port" STORE_URL=memory:// MAX_SESSIONS_PER_USER=1000 \
  LOGIN_PER_CLIENT_PER_MINUTE=100000 LOGIN_MAX_FAILURES=100000 LEPTOS_OUTPUT_NAME=tokenflight \
  target/release/tokenflight >"$ROOT/target/fuzz-server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -fs -o /dev/null "http://127.0.0.1:$fuzz_port/healthz" && break
  kill -0 "$server" 2>/dev/null || { cat "$ROOT/target/fuzz-server.log"; exit 1; }
  sleep 0.1
done
(cd scripts/schemathesis && FUZZ_BASE_URL="http://127.0.0.1:$fuzz_port" SCHEMATHESIS_HOOKS=hooks \
  PYTHONPATH=. "$SCHEMATHESIS_VENV/bin/st" --config-file schemathesis.toml run \
  "http://127.0.0.1:$fuzz_port/api/openapi.json" --url "http://127.0.0.1:$fuzz_port" \
  --checks all --max-examples 50 --seed 24 --generation-database none --no-color \
  --report-dir "$ROOT/target/schemathesis")
stop_server

export_site_env
e2e "the demo, release build" target/release/tokenflight end2end/playwright.config.ts
# The idle timeout, with a short one: an untouched tab is warned and signed out in seconds.
SESSION_IDLE_TIMEOUT_SECS=16 \
  e2e "the idle timeout, release build" target/release/tokenflight end2end/idle.config.ts
# Issue #35: the engine specs in Firefox and WebKit, side by side, against the release server
# (end2end/engines/, docs/engines.md); engines.sh starts its own idle-timeout server and stops
# everything it started, the drivers and their Xvfb included.
step "end-to-end: the engine specs in Firefox and WebKit, release build"
engines_port=$(free_port)
LEPTOS_SITE_ADDR="127.0.0.1:$engines_port" STORE_URL=memory:// MAX_SESSIONS_PER_USER=1000 \
  target/release/tokenflight >"$ROOT/target/e2e-engines.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -fs -o /dev/null "http://127.0.0.1:$engines_port/login" && break
  kill -0 "$server" 2>/dev/null || { cat "$ROOT/target/e2e-engines.log"; exit 1; }
  sleep 0.1
done
BASE_URL="http://127.0.0.1:$engines_port" scripts/engines.sh
stop_server
# The chaos suite's fast subset (two tabs, three faults); scripts/chaos.sh runs all of it.
e2e "chaos, fast subset" target/release/tokenflight end2end/chaos.config.ts

# --- Issue #26: clients nobody here wrote, against the release server: oidc-client-ts in
# Chromium (its page served from another loopback port), openid-client + jose in Node
# (end2end/oidc/) and Authlib in Python (end2end/authlib/, issue #32). Pinned in end2end/oidc/package-lock.json; installed once, in seconds.
[[ -d end2end/oidc/node_modules/openid-client ]] ||
  npm ci --prefix end2end/oidc --no-audit --no-fund
REFRESH_GRACE_SECS=1 OAUTH_CLIENTS_FILE="$ROOT/end2end/oidc/clients.json" \
  e2e "third-party OIDC clients, release build" target/release/tokenflight end2end/oidc.config.ts

# The plain Leptos command, with no flags: a debug build, one wasm (no split, no `split`
# feature), into a site folder of its own. The specs check that it hydrates and works.
step "plain \`cargo leptos build\` (debug, no --split)"
LEPTOS_SITE_ROOT=target/site-plain cargo leptos build
LEPTOS_SITE_ROOT="$ROOT/target/site-plain" \
  e2e "the demo, plain debug build" target/debug/tokenflight end2end/plain.config.ts

# The second app: the auth client lifted into an ordinary Leptos app (client router, no islands).
step "examples/router_app: cargo leptos build (debug)"
# Its own names and site folder, not the demo's exported above.
(cd examples/router_app && env -u LEPTOS_OUTPUT_NAME -u LEPTOS_SITE_ROOT -u LEPTOS_SITE_PKG_DIR \
  -u LEPTOS_HASH_FILES CARGO_TARGET_DIR="$ROUTER_APP_TARGET" cargo leptos build)
build_client_cost_bundles
scripts/budget.sh client

# Library use: the demo's fault controls are off unless asked for, and its burst uses one.
DEMO_CONTROLS=on LEPTOS_OUTPUT_NAME=router_app \
  LEPTOS_SITE_ROOT="$ROOT/examples/router_app/target/site" LEPTOS_HASH_FILES=false \
  e2e "examples/router_app" "$ROUTER_APP_TARGET/debug/router_app" end2end/router_app.config.ts
