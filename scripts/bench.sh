#!/usr/bin/env bash
# Measures what Tokenflight costs and writes the figures to docs/benchmarks.md: builds the
# release, starts the server on free loopback ports, runs every benchmark with a bounded time,
# and stops whatever it started, even on failure. Benchmarks are not tests: nothing here fails
# on a time; it fails only when a benchmark sees wrong answers (non-2xx under wrk, a login
# answered other than 200/429/503, a refused refresh).
#
#   BENCH_SECS=10           duration of each throughput run, in seconds
#   BENCH_STORES="memory sqlite redis"
#                           store backends for the per-backend rows: `memory`, `sqlite` (a fresh
#                           file), `redis` (a redis-server this script starts on a free port);
#                           any other word is passed to the server as STORE_URL
#   BENCH_ROUNDS=3          rounds of the refresh comparison (every store once a round)
#   BENCH_ONLY="refresh sign-in"
#                           only these sections (protected static page waterfall sign-in refresh
#                           storm micro bundle twiggy), with a server-only build, written to
#                           docs/benchmarks-partial.md instead (for iterating on a store)
#   BENCH_SERVER=<binary>   the server to measure, built already: no build at all
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

BENCH_SECS=${BENCH_SECS:-10}
BENCH_STORES=${BENCH_STORES:-memory sqlite redis}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
# Each command gets at most this long, whatever happens to the server.
LIMIT=$((BENCH_SECS * 3 + 60))
OUT="$ROOT/docs/benchmarks.md"
WORK=$(mktemp -d)
ROWS="$WORK/rows.md"

BENCH_ONLY=${BENCH_ONLY:-}
# wanted SECTION: whether this run measures SECTION (all of them unless BENCH_ONLY names one).
wanted() { [[ -z "$BENCH_ONLY" || " $BENCH_ONLY " == *" $1 "* ]]; }

if [[ -n "${BENCH_SERVER:-}" ]]; then
  step "measuring $BENCH_SERVER as it is"
elif [[ -z "$BENCH_ONLY" ]]; then
  ensure_build_tools
  ensure_chromium
  ensure_playwright
  if ! command -v wrk >/dev/null; then
    step "installing Debian's wrk"
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo=sudo
    $sudo apt-get install -y -qq wrk
  fi
  build_release
else
  step "server-only release build"
  cargo build --release --features ssr --bin tokenflight
fi
if [[ -z "${BENCH_SERVER:-}" ]]; then
  step "the load driver and the storm client"
  cargo build --release --features ssr --example loadgen
  wanted storm && cargo build --release --features ssr,native --example storm
fi
LOADGEN="$ROOT/target/release/examples/loadgen"
SERVER=${BENCH_SERVER:-$ROOT/target/release/tokenflight}

server=""
redis=""
stop_server() {
  [[ -n "$server" ]] || return 0
  kill "$server" 2>/dev/null
  wait "$server" 2>/dev/null
  server=""
}
stop_started() {
  # Clean-up only: nothing here may change the script's exit status.
  set +e
  stop_server
  [[ -n "$redis" ]] && kill "$redis" 2>/dev/null && wait "$redis" 2>/dev/null
  rm -rf "$WORK"
  return 0
}
trap stop_started EXIT

# Our own Redis on a free port, started the first time a benchmark needs it.
start_redis() {
  [[ -n "$redis" ]] && return 0
  ensure_redis
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$WORK" >"$WORK/redis.log" 2>&1 &
  redis=$!
  for _ in $(seq 1 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null && return 0
    sleep 0.1
  done
  cat "$WORK/redis.log"
  exit 1
}

# store_url STORE: the STORE_URL for a backend name.
store_url() {
  case "$1" in
    memory) echo "memory://" ;;
    sqlite) echo "sqlite://$WORK/bench-$RANDOM.db" ;;
    redis) echo "redis://127.0.0.1:$redis_port/0" ;;
    *) echo "$1" ;;
  esac
}

# start_server STORE: a fresh release server (so peak memory is this benchmark's), in $BASE.
start_server() {
  local store=$1 port url
  [[ "$store" == redis ]] && start_redis
  url=$(store_url "$store")
  port=$(free_port)
  BASE="http://127.0.0.1:$port"
  (
    export_site_env
    export LEPTOS_SITE_ADDR="127.0.0.1:$port" RUST_LOG=warn
    export JWT_SECRET="bench-only-secret-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    # Long enough for every run; the throttle raised so a login burst measures hashing, not
    # the lock-out (tests pin the throttle's behaviour).
    export ACCESS_TOKEN_TTL_SECS=3600 LOGIN_MAX_FAILURES=1000000 LOGIN_PER_CLIENT_PER_MINUTE=1000000
    # Every load signs one of two users in many times: no session may push another out.
    export MAX_SESSIONS_PER_USER=1000000
    export STORE_URL="$url"
    exec "$SERVER"
  ) >"$WORK/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do
    curl -fs -o /dev/null "$BASE/api/ping" && return 0
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
  cat "$WORK/server.log"
  echo "the server did not start"
  exit 1
}

row() { printf '| %s | %s |\n' "$1" "$2" >>"$ROWS"; }

# wrk_rate CONNECTIONS URL [wrk args…]: requests per second, after checking every answer was 2xx.
wrk_rate() {
  local connections=$1 url=$2 out
  shift 2
  out=$(timeout "$LIMIT" wrk -t2 -c"$connections" -d"${BENCH_SECS}s" --latency "$@" "$url")
  if grep -q "Non-2xx" <<<"$out"; then
    echo "$out"
    echo "wrong answers from $url"
    exit 1
  fi
  awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out"
}

wrk_p99() { awk '$1 == "99%" { print $2 }'; }

if wanted protected; then
  step "protected vs unauthenticated (wrk -t2 -c32, ${BENCH_SECS}s each, 6 pairs)"
  # The load generator shares the server's two cores, so single runs drift. Each store gets a
  # warm-up, then six pairs, three with each endpoint first, and the median ratio.
  for store in $BENCH_STORES; do
    start_server "$store"
    token=$(timeout "$LIMIT" "$LOADGEN" token "$BASE")
    BENCH_SECS=2 wrk_rate 32 "$BASE/api/ping" >/dev/null
    BENCH_SECS=2 wrk_rate 32 "$BASE/api/me/ping" -H "Authorization: Bearer $token" >/dev/null
    ratios=()
    for pair in 1 2 3 4 5 6; do
      if ((pair % 2)); then
        first=public
        public=$(wrk_rate 32 "$BASE/api/ping")
        protected=$(wrk_rate 32 "$BASE/api/me/ping" -H "Authorization: Bearer $token")
      else
        first=protected
        protected=$(wrk_rate 32 "$BASE/api/me/ping" -H "Authorization: Bearer $token")
        public=$(wrk_rate 32 "$BASE/api/ping")
      fi
      ratios+=("$(awk -v p="$protected" -v u="$public" 'BEGIN { printf "%.2f", p / u }')")
      echo "pair $pair ($first first): public $public req/s, protected $protected req/s"
      row "[$store] pair $pair, $first first: \`GET /api/ping\` / Bearer \`GET /api/me/ping\`" \
        "$public / $protected req/s"
    done
    # Six ratios: the median is the mean of the middle two.
    median=$(printf '%s\n' "${ratios[@]}" | sort -n \
      | awk 'NR == 3 || NR == 4 { sum += $1 } END { printf "%.2f", sum / 2 }')
    row "[$store] **protected / unauthenticated ratio** (median of ${ratios[*]})" "**$median**"
    stop_server
  done
fi

if wanted static; then
  step "static files over kept-alive connections"
  start_server memory
  css=$(newest_built 'pkg/tokenflight.*.css')
  row "static \`/$css\`, 1 kept-alive connection (wrk -t1 -c1)" \
    "$(timeout "$LIMIT" wrk -t1 -c1 -d"${BENCH_SECS}s" "$BASE/$css" \
       | awk '/^Requests\/sec:/ { printf "%.0f", $2 }') req/s"
  row "static \`/$css\`, 16 connections" "$(wrk_rate 16 "$BASE/$css") req/s"
  stop_server
fi

if wanted page; then
  step "page load in Chromium (signed-in dashboard, cold and warm cache)"
  start_server memory
  BASE_URL="$BASE" timeout "$LIMIT" node end2end/bench/page-load.mjs 5 >>"$ROWS"
  stop_server
fi

if wanted waterfall; then
  step "drawing a 200-request burst in the waterfall (docs/waterfall-bench.txt)"
  start_server memory
  BASE_URL="$BASE" timeout "$LIMIT" npx --prefix end2end playwright test \
    --config end2end/bench/playwright.config.ts waterfall
  row "waterfall: time to draw a 200-request burst (see docs/waterfall-bench.txt)" \
    "$(grep -m1 -i 'median' docs/waterfall-bench.txt || echo 'see file')"
  stop_server
fi

if wanted sign-in; then
  step "sign-in under load (200 concurrent logins)"
  start_server memory
  rss_before=$(awk '/^VmRSS:/ { print $2 }' "/proc/$server/status")
  timeout "$LIMIT" "$LOADGEN" logins "$BASE" 200 >>"$ROWS"
  # VmHWM: the kernel's own record of the process's peak resident memory.
  rss_peak=$(awk '/^VmHWM:/ { print $2 }' "/proc/$server/status")
  row "sign-in: server memory before → peak (VmRSS → VmHWM)" \
    "$((rss_before / 1024)) MiB → $((rss_peak / 1024)) MiB"
  stop_server
fi

if wanted refresh; then
  step "refresh throughput (64 families in parallel, ${BENCH_SECS}s × $BENCH_ROUNDS rounds), and SQLite's own rate"
  # Each round runs every backend in turn, so each round compares them side by side; rounds
  # repeat that, because this machine's speed drifts between minutes (the same server gave
  # 11,000 and 15,700 refreshes/s ten minutes apart). Every round is shown; a backend's row is
  # the median of its rounds, and its share of memory the median of the rounds' shares.
  declare -A rates=() p50s=() p99s=() shares=()
  for round in $(seq 1 "$BENCH_ROUNDS"); do
    for store in $BENCH_STORES; do
      start_server "$store"
      timeout "$LIMIT" "$LOADGEN" refresh "$BASE" 64 "$BENCH_SECS" >"$WORK/refresh.md"
      stop_server
      # loadgen prints "| refresh: … | N refreshes/s |" and "| …p50 / p99 | A ms / B ms |".
      read -r rate p50 p99 < <(awk -F'|' '
        /refreshes\/s/ { split($3, r, " "); rate = r[1] }
        /p50 \/ p99/ { split($3, l, " "); p50 = l[1]; p99 = l[4] }
        END { print rate, p50, p99 }' "$WORK/refresh.md")
      row "[$store] refresh, round $round: refreshes/s · p50 / p99" "$rate · $p50 ms / $p99 ms"
      rates[$store]+="$rate " p50s[$store]+="$p50 " p99s[$store]+="$p99 "
    done
    for store in $BENCH_STORES; do
      [[ "$store" == memory || " $BENCH_STORES " != *" memory "* ]] && continue
      memory_rate=$(awk '{ print $NF }' <<<"${rates[memory]}")
      store_rate=$(awk '{ print $NF }' <<<"${rates[$store]}")
      shares[$store]+="$(awk -v s="$store_rate" -v m="$memory_rate" 'BEGIN { printf "%.0f", 100 * s / m }') "
    done
  done
  median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
  for store in $BENCH_STORES; do
    row "[$store] **refresh: refreshes/s · p50 / p99, median of $BENCH_ROUNDS rounds**" \
      "**$(median <<<"${rates[$store]}") · $(median <<<"${p50s[$store]}") ms / $(median <<<"${p99s[$store]}") ms**"
  done
  timeout "$LIMIT" python3 scripts/bench/sqlite_engine.py "$BENCH_SECS" "$WORK" >>"$ROWS"
  if [[ -n "${shares[*]}" ]]; then
    summary=()
    for store in $BENCH_STORES; do
      [[ -n "${shares[$store]:-}" ]] || continue
      summary+=("$store $(median <<<"${shares[$store]}") % (rounds: ${shares[$store]% })")
    done
    row "refresh: share of the memory store's rate, median of the rounds'" "$(IFS=';'; echo "${summary[*]}" | sed 's/;/; /g')"
  fi
fi

if wanted storm; then
  step "refresh storms through the real coordinator (native, memory store)"
  start_server memory
  timeout "$LIMIT" target/release/examples/storm "$BASE" >>"$ROWS"
  stop_server
fi

if wanted micro; then
  step "micro-benchmarks (divan)"
  # Built first, outside the time limit: a cold build takes longer than the measurement.
  cargo bench --features ssr --bench auth --no-run
  timeout "$LIMIT" cargo bench --features ssr --bench auth -- --max-time 1 | tee "$WORK/divan.txt"
  # divan prints "├─ name  fastest │ slowest │ median │ mean │ samples │ iters", a group's
  # arguments one level deeper; keep the median.
  python3 - "$WORK/divan.txt" >>"$ROWS" <<'PY'
import re, sys
group = ""
for line in open(sys.argv[1], encoding="utf-8"):
    nested = line.startswith("│")
    cols = line.rstrip("\n").split("│")[1 if nested else 0:]
    m = re.match(r"^(\s*)[├╰]─ (\S+)\s*(.*)$", cols[0].replace("│", ""))
    if len(cols) < 6 or not m:
        continue
    name, fastest = m.group(2), m.group(3).strip()
    if not fastest:
        group = name
        continue
    label = f"{group}({name})" if nested else name
    print(f"| micro: `{label}` (median of divan samples) | {cols[2].strip()} |")
PY
fi

if wanted bundle; then
  step "bundle size"
  for file in "$(newest_built 'pkg/tokenflight.*.wasm')" $(split_chunks) \
    "$(newest_built 'pkg/tokenflight.*.js')" "$css"; do
    row "bundle \`$file\`: raw / gzip -9 / brotli (as served)" \
      "$(wc -c <"target/site/$file") / $(gzip -9 -c "target/site/$file" | wc -c) / $(wc -c <"target/site/$file.br") B"
  done
fi

if wanted twiggy; then
  step "what the main wasm is made of (twiggy, on a build that keeps names)"
  if ! command -v twiggy >/dev/null; then
    cargo install twiggy --locked
  fi
  # The same split build with wasm-opt told to keep the names section, into a folder of its own;
  # cargo-leptos rewrites hash.txt even for a frontend-only build, so it is put back after.
  cp target/release/hash.txt "$WORK/hash.txt"
  # The flags are Cargo.toml's `wasm-opt-features` and `--debuginfo`.
  wasm_opt=$(sed -n '/^wasm-opt-features = \[/,/^\]/p' "$ROOT/Cargo.toml" | grep -o '"[^"]*"' | tr -d '"' | paste -sd,)
  LEPTOS_SITE_ROOT=target/site-named \
    LEPTOS_WASM_OPT_FEATURES="$wasm_opt,--debuginfo" \
    build_frontend_release
  cp "$WORK/hash.txt" target/release/hash.txt
  named=$(ls -t target/site-named/pkg/tokenflight.*.wasm | head -1)
  twiggy top -n 1000000 -f csv "$named" >"$WORK/twiggy.csv"
  # Code size by crate (a generic function counts for the crate that defines it), top 12.
  python3 - "$WORK/twiggy.csv" >>"$ROWS" <<'PY'
import collections, csv, re, sys
by_crate = collections.Counter()
for row in csv.DictReader(open(sys.argv[1], encoding="utf-8")):
    name = re.sub(r"\[[0-9a-f]+\]", "", row["Name"])
    if "section" in name or name.startswith("export "):
        continue
    if name.startswith("data segment"):
        crate = "(static data)"
    else:
        crate = next(iter(re.findall(r"([a-z_][a-z0-9_]*)::", name)), "(other)")
        if crate == "tokenflight":
            crate = "tokenflight::" + re.search(r"tokenflight::([a-z_]+)", name).group(1)
    by_crate[crate] += int(row["ShallowSize"])
total = sum(by_crate.values())
top = ", ".join(f"{crate} {100 * size / total:.0f} %" for crate, size in by_crate.most_common(12))
print(f"| main wasm by crate (twiggy, {total:,} B of code and data before compression) | {top} |")
PY
fi

[[ -n "$BENCH_ONLY" ]] && OUT="$ROOT/docs/benchmarks-partial.md"
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
memory=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
{
  echo "# Benchmarks"
  echo
  echo "Written by \`./scripts/bench.sh\` — do not edit by hand. Figures from one run on one machine;"
  echo "compare rows of the same run, not runs of different machines."
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit \`$(git rev-parse --short HEAD)\`"
  echo "- machine: $(nproc) cores ($cpu), $memory memory; load generators share those cores"
  echo "- server: release build, \`RUST_LOG=warn\`, loopback; each throughput run ${BENCH_SECS} s"
  [[ -n "$BENCH_ONLY" ]] && echo "- only these sections (\`BENCH_ONLY\`): $BENCH_ONLY"
  echo
  echo "| benchmark | result |"
  echo "|---|---|"
  cat "$ROWS"
} >"$OUT"
step "wrote ${OUT#"$ROOT"/}"
cat "$OUT"
