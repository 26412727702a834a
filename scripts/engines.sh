#!/usr/bin/env bash
# The engine specs (end2end/engines/) in Firefox and WebKit, against a running release server:
# sign-in and first paint, the storm, reload, two tabs, the idle timeout, offline and back, the
# Sessions page, and the browser-API probes of docs/engines.md. Chromium runs the full suite
# with Playwright (scripts/test.sh); these engines cannot be had for Playwright here.
#
#   BASE_URL=http://127.0.0.1:PORT scripts/engines.sh [firefox] [webkit] [chromium]
#
# BASE_URL: the release server under test. IDLE_BASE_URL: one started with
# SESSION_IDLE_TIMEOUT_SECS=16; without it this script starts one from target/release/tokenflight.
# No engine named: Firefox and WebKit (`chromium` runs the same specs in Debian's Chromium
# through puppeteer-core, for the docs' table). Reports and logs go to target/engines/. Stops
# everything it started (the idle server, the runner, WebKitWebDriver and its Xvfb), even when a
# spec fails.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
: "${BASE_URL:?set BASE_URL to the address of a running release server}"
engines=("$@")
[[ ${#engines[@]} -gt 0 ]] || engines=(firefox webkit)

ensure_engine_specs
for engine in "${engines[@]}"; do
  case "$engine" in
    firefox) ensure_firefox ;;
    webkit) ensure_webkit ;;
    chromium) ensure_chromium ;;
    *) echo "unknown engine: $engine (firefox, webkit or chromium)" >&2; exit 2 ;;
  esac
done

out="$ROOT/target/engines"
mkdir -p "$out"
# Each WebKitWebDriver writes a log of its own: only this run's are kept.
rm -f "$out"/webkitwebdriver-*.log
# The runner starts each WebKitWebDriver in a process group of its own and notes it here, so a
# run that crashed leaves nothing behind either.
export ENGINES_PIDS_FILE="$out/driver-groups"
export ENGINES_LOG_DIR="$out"
: >"$ENGINES_PIDS_FILE"
idle_server=""
runners=()
stop_engines() {
  set +e
  for runner in "${runners[@]}"; do kill -- "-$runner" 2>/dev/null; done
  while read -r group; do
    [[ -n "$group" ]] && kill -- "-$group" 2>/dev/null
  done <"$ENGINES_PIDS_FILE"
  if [[ -n "$idle_server" ]]; then
    kill "$idle_server" 2>/dev/null
    wait "$idle_server" 2>/dev/null
  fi
  step_times
  return 0
}
trap stop_engines EXIT

if [[ -z "${IDLE_BASE_URL:-}" ]]; then
  step "the idle-timeout server (SESSION_IDLE_TIMEOUT_SECS=16) for the engine specs"
  export_site_env
  idle_port=$(free_port)
  SESSION_IDLE_TIMEOUT_SECS=16 LEPTOS_SITE_ADDR="127.0.0.1:$idle_port" STORE_URL=memory:// \
    MAX_SESSIONS_PER_USER=1000 target/release/tokenflight >"$out/idle-server.log" 2>&1 &
  idle_server=$!
  for _ in $(seq 1 100); do
    curl -fs -o /dev/null "http://127.0.0.1:$idle_port/login" && break
    kill -0 "$idle_server" 2>/dev/null || { cat "$out/idle-server.log"; exit 1; }
    sleep 0.1
  done
  export IDLE_BASE_URL="http://127.0.0.1:$idle_port"
fi

# The engines run side by side, each in a process group of its own: most of a run is waiting
# (the idle timeout, ten seconds offline, a held lock), so two take little longer than one.
# Each engine's output is shown once it has finished.
if [[ ${#engines[@]} -gt 1 ]]; then
  step "engine specs: ${engines[*]}, side by side"
else
  step "engine specs: ${engines[*]}"
fi
for engine in "${engines[@]}"; do
  ENGINES_REPORT="$out/$engine.json" setsid node end2end/engines/run.mjs "$engine" >"$out/$engine.log" 2>&1 &
  runners+=($!)
done
failed=()
for i in "${!engines[@]}"; do
  wait "${runners[$i]}" || failed+=("${engines[$i]}")
  kill -- "-${runners[$i]}" 2>/dev/null || true
  printf '\n--- %s\n' "${engines[$i]}"
  cat "$out/${engines[$i]}.log"
done
runners=()
end_step
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "engine specs failed in: ${failed[*]}" >&2
  exit 1
fi
