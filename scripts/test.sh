#!/usr/bin/env bash
# Installs whatever is missing and runs every test: formatting, clippy and rustdoc on both feature
# sets, unit and integration tests, then the end-to-end suite in headless Chromium against the
# release build, on a free port. Stops what it started, even when a test fails.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_build_tools
ensure_chromium
ensure_playwright
ensure_redis

# Everything this script starts, stopped in the exit trap even when a step fails.
redis=""
server=""
playwright=""
stop_started() {
  # Clean-up only: nothing here may change the script's exit status.
  set +e
  [[ -n "$server" ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  # Playwright runs in its own process group: this stops the browsers it started (and only
  # those), even if it crashed and left them behind.
  [[ -n "$playwright" ]] && kill -- "-$playwright" 2>/dev/null
  [[ -n "$redis" ]] && kill "$redis" 2>/dev/null && wait "$redis" 2>/dev/null
  [[ -n "${redis_dir:-}" ]] && rm -rf "$redis_dir"
  return 0
}
trap stop_started EXIT

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy (ssr + native client, all targets)"
cargo clippy --features ssr,native --all-targets -- -D warnings
step "clippy (hydrate, wasm32)"
cargo clippy --lib --features hydrate --target wasm32-unknown-unknown -- -D warnings

step "rustdoc (both feature sets): no broken links"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --features ssr,native
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --no-default-features --features hydrate

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

build_release
scripts/budget.sh

step "soak (10 s): native coordinators against the release server, one-second tokens"
scripts/soak.sh 50 10

step "end-to-end tests in headless Chromium"
port=$(free_port)
export_site_env
export LEPTOS_SITE_ADDR="127.0.0.1:$port"
# The e2e server keeps its sessions in memory: nothing to clean up, nothing left behind.
export STORE_URL=memory://
# The specs sign alice in from many pages at once; the default limit of 10 would revoke
# sessions of tests still running.
export MAX_SESSIONS_PER_USER=1000
log="$ROOT/target/e2e-server.log"
target/release/tokenflight >"$log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -fs -o /dev/null "http://127.0.0.1:$port/login" && break
  kill -0 "$server" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
BASE_URL="http://127.0.0.1:$port" setsid npx --prefix end2end playwright test \
  --config end2end/playwright.config.ts &
playwright=$!
wait "$playwright"
