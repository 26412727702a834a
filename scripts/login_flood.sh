#!/usr/bin/env bash
# Send-and-close login flood against a running server binary: many clients post a login and
# hang up after 50 ms (before argon2 finishes), while /proc/<pid>/status is sampled for the
# server's peak thread count and resident memory.
# Usage: scripts/login_flood.sh <server-binary> [seconds=20] [clients=32] [extra env VAR=value ...]
set -euo pipefail
bin=${1:?server binary}; secs=${2:-20}; clients=${3:-32}; shift $(( $# < 3 ? $# : 3 ))
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
tmp=$(mktemp -d)
# The store in the temporary folder too (unless given), not a `tokenflight.db` where this runs.
env LEPTOS_OUTPUT_NAME=tokenflight LEPTOS_SITE_ADDR=127.0.0.1:$port LEPTOS_SITE_ROOT="$tmp" \
    STORE_URL="sqlite://$tmp/tokenflight.db" RUST_LOG=warn "$@" "$bin" >"$tmp/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/api/nothing" && break; sleep 0.1; done
sample() { awk '/^VmRSS/{r=$2} /^Threads/{t=$2} END{print r, t}' /proc/$pid/status; }
read -r rss0 threads0 < <(sample)
end=$((SECONDS + secs))
flood() {
  while (( SECONDS < end )); do
    curl -s -o /dev/null --max-time 0.05 -X POST "http://127.0.0.1:$port/api/auth/login" \
      -H 'content-type: application/json' -H 'sec-fetch-site: same-origin' \
      -H "origin: http://127.0.0.1:$port" \
      -d "{\"username\":\"u$RANDOM$RANDOM\",\"password\":\"guess\"}" || true
  done
}
flooders=()
for _ in $(seq "$clients"); do flood & flooders+=($!); done
peak_rss=$rss0; peak_threads=$threads0
while (( SECONDS < end )); do
  read -r rss threads < <(sample)
  (( rss > peak_rss )) && peak_rss=$rss
  (( threads > peak_threads )) && peak_threads=$threads
  sleep 0.2
done
# Only the flooders: a bare `wait` (all of them already done) would wait for the server too.
wait "${flooders[@]}" 2>/dev/null || true
# Let the blocking jobs left behind by closed connections drain, then sample once more.
sleep 3
read -r rss1 threads1 < <(sample)
status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST "http://127.0.0.1:$port/api/auth/login" \
  -H 'content-type: application/json' -H 'sec-fetch-site: same-origin' -H "origin: http://127.0.0.1:$port" \
  -d '{"username":"alice","password":"wonderland"}')
echo "clients=$clients seconds=$secs"
echo "start:  rss=${rss0} KiB threads=${threads0}"
echo "peak:   rss=${peak_rss} KiB threads=${peak_threads}"
echo "after:  rss=${rss1} KiB threads=${threads1}  (3 s after the flood)"
echo "alice signs in afterwards: HTTP $status"
