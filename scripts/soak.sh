#!/usr/bin/env bash
# The soak: CLIENTS real coordinators (native, one cookie jar each) sign in and keep making
# parallel requests for SECONDS against the release server binary with one-second access tokens.
# Prints requests, refresh calls, failed requests, spurious sign-outs and the server's memory at
# start and end; fails on any failed request or spurious sign-out.
#
#   scripts/soak.sh [CLIENTS=50] [SECONDS=60]
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
clients=${1:-50}
seconds=${2:-60}

step "building the soak client (release; the server too unless test.sh just built it)"
[[ -x target/release/tokenflight ]] || { ensure_build_tools; build_release; }
# The client alone (`native`): the soak needs none of the server. In a target folder of its
# own: cargo keeps one fingerprint for this package's library whatever its features, so a build
# with other features in target/ would make the server's next release build start over (seen:
# 75 s on every run, "FeaturesChanged"), and that one would make this one start over in turn.
export_site_env
SOAK_TARGET="$ROOT/target/soak"
CARGO_TARGET_DIR="$SOAK_TARGET" cargo build --release --quiet --no-default-features \
  --features native --example soak

port=$(free_port)
log="$ROOT/target/soak-server.log"
# One-second tokens: every client refreshes about once a second. Every client signs in as alice,
# so the per-user session cap must allow them all.
ACCESS_TOKEN_TTL_SECS=1 MAX_SESSIONS_PER_USER=1000 STORE_URL=memory:// RUST_LOG=warn \
  LEPTOS_SITE_ADDR="127.0.0.1:$port" target/release/tokenflight >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; true' EXIT
for _ in $(seq 1 100); do
  curl -fs -o /dev/null "http://127.0.0.1:$port/login" && break
  kill -0 "$server" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
rss() { awk '/^VmRSS/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$server/status"; }

step "soak: $clients clients × $seconds s against http://127.0.0.1:$port"
start_rss=$(rss)
status=0
"$SOAK_TARGET/release/examples/soak" "http://127.0.0.1:$port" "$clients" "$seconds" 4 "$server" || status=$?
echo "server memory        $start_rss before anyone signed in"
exit "$status"
