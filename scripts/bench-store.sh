#!/usr/bin/env bash
# Throughput per store backend, measured with wrk against the real server binary: refresh
# (a store write per request), a protected GET with a valid token (no store round trip by
# design) and the same GET without a token (401, the floor). Prints a Markdown table.
#
#   BIN=target/release/tokenflight scripts/bench-store.sh     # BIN defaults to the release build
#
# Needs wrk and redis-server (Debian packages of those names). Stops what it starts.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
BIN=${BIN:-target/release/tokenflight}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
SESSIONS=${SESSIONS:-64}
[[ -x "$BIN" ]] || { echo "no server binary at $BIN" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }
ensure_redis

server=""
redis=""
work=$(mktemp -d)
stop_started() {
  set +e
  [[ -n "$server" ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  [[ -n "$redis" ]] && kill "$redis" 2>/dev/null && wait "$redis" 2>/dev/null
  rm -rf "$work"
  return 0
}
trap stop_started EXIT

wait_for_port() {
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nothing listens on $1" >&2
  exit 1
}

# Requests per second from a wrk run, and how many answers were not 2xx (when any were).
rps() {
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" "$@" | awk '
    /^Requests\/sec:/ { rate = $2 }
    /Non-2xx or 3xx responses:/ { failed = $5 }
    END { printf "%d", rate; if (failed) printf " (%d not 2xx)", failed }'
}

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
  >"$work/redis.log" 2>&1 &
redis=$!
wait_for_port "$redis_port"

export_site_env
echo "| store | refresh req/s | protected GET req/s | unauthenticated GET req/s | protected / unauthenticated |"
echo "|---|---|---|---|---|"
for store in "memory://" "sqlite://$work/bench.db" "redis://127.0.0.1:$redis_port/0"; do
  port=$(free_port)
  # A long grace window: every refresh of a session after its first is a grace replay, which
  # still writes the family (a compare-and-swap) but keeps its cookie valid for the whole run.
  STORE_URL=$store LEPTOS_SITE_ADDR="127.0.0.1:$port" RUST_LOG=warn \
    REFRESH_GRACE_SECS=3600 ACCESS_TOKEN_TTL_SECS=3600 MAX_SESSIONS_PER_USER=1000 \
    "$BIN" >"$work/server.log" 2>&1 &
  server=$!
  wait_for_port "$port"
  base="http://127.0.0.1:$port"
  # $SESSIONS sign-ins: the refresh run cycles through them (scripts/bench/refresh.lua).
  cookie_list=""
  for _ in $(seq 1 "$SESSIONS"); do
    login=$(curl -s -D "$work/headers" -H 'Content-Type: application/json' \
      -H 'Sec-Fetch-Site: same-origin' -d '{"username":"alice","password":"wonderland"}' \
      "$base/api/auth/login")
    cookies=$(grep -i '^set-cookie:' "$work/headers" | sed -E 's/^[^:]+: ([^;]+);.*/\1/' | paste -sd ';' -)
    cookie_list="$cookie_list|$cookies"
  done
  token=$(sed -E 's/.*"access_token":"([^"]+)".*/\1/' <<<"$login")
  refresh=$(COOKIES="$cookie_list" rps -s scripts/bench/refresh.lua "$base/api/auth/refresh")
  protected=$(rps -H "Authorization: Bearer $token" "$base/api/me")
  open=$(rps "$base/api/me")
  ratio=$(awk -v p="$protected" -v o="$open" 'BEGIN { printf "%.2f", p / o }')
  echo "| ${store%%://*} | $refresh | $protected | $open | $ratio |"
  kill "$server"; wait "$server" 2>/dev/null; server=""
done
