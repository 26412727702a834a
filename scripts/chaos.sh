#!/usr/bin/env bash
# The chaos suite, published: 1, 2 and 8 tabs in headless Chromium × faults (refresh answering
# 503 three times, 2 s of latency, 10 s offline, the store hung for 5 s, the lock holder
# killed, a clock jump, the grace window off) against the release server, with its sessions
# in a Redis this script starts (so it can hang the store with SIGSTOP). Writes docs/chaos.md.
# Fails if a target is missed: a false sign-out, a lost request, more than one rotation per
# expiry per browser.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_build_tools
ensure_chromium
ensure_playwright
ensure_redis
[[ -x target/release/tokenflight ]] || build_release

redis_port=$(free_port)
redis_dir=$(mktemp -d)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$redis_dir" \
  >"$redis_dir/redis.log" 2>&1 &
redis=$!
port=$(free_port)
export_site_env
log="$ROOT/target/chaos-server.log"
server=""
stop() {
  set +e
  kill -CONT "$redis" 2>/dev/null
  [[ -n "$server" ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  kill "$redis" 2>/dev/null && wait "$redis" 2>/dev/null
  rm -rf "$redis_dir"
  return 0
}
trap stop EXIT
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null && break
  sleep 0.05
done
STORE_URL="redis://127.0.0.1:$redis_port/0" MAX_SESSIONS_PER_USER=1000 \
  LEPTOS_SITE_ADDR="127.0.0.1:$port" target/release/tokenflight >"$log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -fs -o /dev/null "http://127.0.0.1:$port/login" && break
  kill -0 "$server" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done

results="$ROOT/target/chaos-results.jsonl"
rm -f "$results"
step "chaos: every fault × 1, 2 and 8 tabs against http://127.0.0.1:$port"
status=0
BASE_URL="http://127.0.0.1:$port" CHAOS_FULL=1 CHAOS_RESULTS="$results" CHAOS_REDIS_PID="$redis" \
  npx --prefix end2end playwright test --config end2end/chaos.config.ts || status=$?
node scripts/chaos-report.mjs "$results" docs/chaos.md
echo "wrote docs/chaos.md"
exit "$status"
