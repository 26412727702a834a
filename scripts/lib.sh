#!/usr/bin/env bash
# Shared by serve.sh and test.sh: installs whatever is missing, idempotently, and puts the
# tools on PATH. Each step is a quick check when the tool is already there.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# 0.3.11 needs a newer rustc than this machine kind's 1.95.
CARGO_LEPTOS_VERSION=0.3.10
export PATH="$HOME/.cargo/bin:$ROOT/scripts/tools/node_modules/.bin:$PATH"

# step NAME: starts a step of the run, ending the one before; `step_times` lists how long each
# took (the test command prints it on exit, so a slow step shows in every log).
STEP_NAME=""
STEP_STARTED=0
STEP_TIMES=()
step() {
  end_step
  STEP_NAME="$*"
  STEP_STARTED=$SECONDS
  printf '\n==> %s\n' "$*"
}
end_step() {
  [[ -n "$STEP_NAME" ]] && STEP_TIMES+=("$(printf '%6ds  %s' $((SECONDS - STEP_STARTED)) "$STEP_NAME")")
  STEP_NAME=""
}
step_times() {
  end_step
  printf '\n==> time per step\n'
  printf '%s\n' "${STEP_TIMES[@]}"
  printf '%6ds  in all\n' "$SECONDS"
}

# The wasm-bindgen CLI must match the crate in Cargo.lock exactly.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

ensure_wasm_target() {
  rustup target list --installed | grep -qx wasm32-unknown-unknown \
    || { step "adding the wasm32-unknown-unknown target"; rustup target add wasm32-unknown-unknown; }
}

# The tools are orchestration (cargo-leptos) and one wasm pass (wasm-bindgen): their release
# profiles' fat LTO and one codegen unit cost most of a cold install on two cores and gain a
# build nothing measurable, so they are installed with an opt-level-1, thin, parallel profile.
quick_install_profile() {
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_LTO=off \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=64 CARGO_PROFILE_RELEASE_DEBUG=false \
    CARGO_PROFILE_RELEASE_INCREMENTAL=false "$@"
}

ensure_cargo_leptos() {
  [[ "$(cargo leptos --version 2>/dev/null)" == *" $CARGO_LEPTOS_VERSION" ]] && return
  step "installing cargo-leptos $CARGO_LEPTOS_VERSION"
  quick_install_profile cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
}

# cargo-leptos would download wasm-bindgen from GitHub, which is unreachable here.
ensure_wasm_bindgen() {
  local version
  version=$(wasm_bindgen_version)
  [[ "$(wasm-bindgen --version 2>/dev/null)" == "wasm-bindgen $version" ]] && return
  step "installing wasm-bindgen-cli $version"
  # Not --locked: its lockfile names a webpki-roots version the registry no longer has.
  quick_install_profile cargo install wasm-bindgen-cli --version "$version"
}

# npm's binaryen ships a working wasm-opt; Debian's (108) produces wasm that never hydrates.
ensure_wasm_opt() {
  [[ -x "$ROOT/scripts/tools/node_modules/.bin/wasm-opt" ]] && return
  step "installing wasm-opt (npm binaryen)"
  npm ci --prefix "$ROOT/scripts/tools" --no-audit --no-fund
}

# Only the opt-in size-tuned bundle (SIZE_TUNED=1, see `build_frontend_release`) compiles the
# standard library itself, from this component's sources.
ensure_rust_src() {
  [[ "${SIZE_TUNED:-0}" == 1 ]] || return 0
  rustup component list --installed | grep -qx 'rust-src' \
    || { step "adding the rust-src component"; rustup component add rust-src; }
}

ensure_build_tools() {
  ensure_wasm_target
  ensure_rust_src
  ensure_cargo_leptos
  ensure_wasm_bindgen
  ensure_wasm_opt
}

ensure_chromium() {
  [[ -x /usr/bin/chromium ]] && return
  step "installing Debian's chromium"
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq chromium chromium-driver
}

# Debian's firefox-esr: the engine specs (end2end/engines/) drive it with puppeteer-core over
# WebDriver BiDi; no geckodriver, no download.
ensure_firefox() {
  [[ -x /usr/bin/firefox-esr ]] && return
  step "installing Debian's firefox-esr"
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq firefox-esr
}

# WebKit for the engine specs: Debian's WebKitWebDriver (webkit2gtk-driver), the MiniBrowser of
# libwebkit2gtk-4.1 it drives, and Xvfb for that browser's windows.
ensure_webkit() {
  [[ -x /usr/bin/WebKitWebDriver && -x /usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser ]] &&
    command -v xvfb-run >/dev/null && return
  step "installing Debian's WebKitWebDriver, MiniBrowser and Xvfb"
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq webkit2gtk-driver libwebkit2gtk-4.1-0 xvfb
}

# The engine specs' runner: puppeteer-core and selenium-webdriver, pinned in
# end2end/engines/package-lock.json; and openssl, which makes its throwaway certificate.
ensure_engine_specs() {
  if ! command -v openssl >/dev/null; then
    step "installing Debian's openssl"
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo=sudo
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq openssl
  fi
  [[ -d "$ROOT/end2end/engines/node_modules/selenium-webdriver" ]] && return
  step "installing the engine specs' drivers (npm puppeteer-core, selenium-webdriver)"
  npm ci --prefix "$ROOT/end2end/engines" --no-audit --no-fund
}

# Debian's redis-server (7.x): the Redis store's tests run against a real one.
ensure_redis() {
  command -v redis-server >/dev/null && return
  step "installing Debian's redis-server"
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq redis-server
}

# schemathesis (PyPI), the OpenAPI fuzzer the test command runs against the release server, in a
# virtualenv of its own under target/ (pinned; installed only when that version is missing).
SCHEMATHESIS_VERSION=4.32.5
SCHEMATHESIS_VENV="$ROOT/target/tools/schemathesis"
ensure_schemathesis() {
  [[ "$("$SCHEMATHESIS_VENV/bin/st" --version 2>/dev/null)" == "st, version $SCHEMATHESIS_VERSION" ]] \
    && return
  step "installing schemathesis $SCHEMATHESIS_VERSION (PyPI) into $SCHEMATHESIS_VENV"
  python3 -m venv "$SCHEMATHESIS_VENV"
  "$SCHEMATHESIS_VENV/bin/pip" install --quiet --disable-pip-version-check \
    "schemathesis==$SCHEMATHESIS_VERSION"
}

# Authlib (issue #32 point 7): a Python relying party nobody here wrote, pinned in
# end2end/authlib/requirements.txt, in a virtualenv of its own; the OIDC specs run its script
# with this interpreter.
AUTHLIB_VENV="$ROOT/target/tools/authlib"
export AUTHLIB_PYTHON="$AUTHLIB_VENV/bin/python"
ensure_authlib() {
  local requirements="$ROOT/end2end/authlib/requirements.txt"
  cmp -s "$requirements" "$AUTHLIB_VENV/installed.txt" && return
  step "installing Authlib (PyPI) into $AUTHLIB_VENV"
  python3 -m venv "$AUTHLIB_VENV"
  "$AUTHLIB_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$AUTHLIB_VENV/installed.txt"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

ensure_playwright() {
  [[ -d "$ROOT/end2end/node_modules/@playwright/test" ]] && return
  step "installing Playwright (no browser download: it drives /usr/bin/chromium)"
  npm ci --prefix "$ROOT/end2end" --no-audit --no-fund
}

# The browser bundle, release, on the stable toolchain: `--split` cuts the `#[lazy]` demo panels
# and `/admin`'s statistics island into chunks of their own, and feature `split` (lib and server)
# turns those attributes on; a build without both is one wasm, and works as well.
#
# SIZE_TUNED=1 opts in to a smaller bundle (docs/bundle-size.md): the standard library compiled
# for size (`optimize_for_size`), panics that abort on the spot (`-Cpanic=immediate-abort`), no
# source locations (`-Zlocation-detail=none`) and a `Debug` that prints nothing
# (`-Zfmt-debug=none`). All are unstable on 1.95, the one toolchain this machine kind has, so
# that build sets RUSTC_BOOTSTRAP=1 for this one cargo run: it opts every dependency into
# nightly code paths, fetches std's dependencies (no offline or vendored build) and recompiles
# std on every clean build. Never the default; `scripts/budget.sh` holds each build to its own
# budget.
#
# The switches go in RUSTFLAGS, after any the caller set: cargo-leptos reads RUSTFLAGS (and
# appends its own for the split) and, given `--target`, cargo applies them to the wasm only, not
# to build scripts or proc macros. CARGO_ENCODED_RUSTFLAGS would override them, so it is unset.
#
# Both builds shorten the source paths that panic locations carry (stable `--remap-path-prefix`):
# `/root/.cargo/registry/src/index.crates.io-…/tachys-0.2.19/src/…` becomes `tachys-0.2.19/src/…`,
# and the toolchain's `…/lib/rustlib/src/rust/library/core/src/…` becomes `core/src/…` (−8 KB raw
# of the main wasm, −0.3 KB gzip; docs/bundle-size.md).
build_frontend_release() {
  local remap
  remap="$(wasm_path_remaps)"
  if [[ "${SIZE_TUNED:-0}" == 1 ]]; then
    env -u CARGO_ENCODED_RUSTFLAGS \
      RUSTC_BOOTSTRAP=1 \
      CARGO_UNSTABLE_BUILD_STD=std,panic_abort \
      CARGO_UNSTABLE_BUILD_STD_FEATURES=optimize_for_size \
      RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }$remap -Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none" \
      cargo leptos build --release --split --features split --frontend-only
    echo size-tuned >"$ROOT/target/release/bundle-kind"
  else
    env -u CARGO_ENCODED_RUSTFLAGS \
      RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }$remap" \
      cargo leptos build --release --split --features split --frontend-only
    echo stable >"$ROOT/target/release/bundle-kind"
  fi
}

# The `--remap-path-prefix` flags for the bundle: each Cargo registry source folder and the
# toolchain's library sources map to nothing, leaving `crate-version/src/file.rs`.
wasm_path_remaps() {
  local dir flags=""
  for dir in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/; do
    [[ -d "$dir" ]] && flags+="--remap-path-prefix=$dir= "
  done
  printf '%s--remap-path-prefix=%s/lib/rustlib/src/rust/library/=' \
    "$flags" "$(rustc --print sysroot)"
}

# The release build: the bundle first (its content hashes go into target/release/hash.txt), the
# server after (with `split`, so its pages preload the chunks), then brotli and gzip siblings of
# the bundle files, which the server sends as they are (see scripts/precompress.mjs).
build_release() {
  step "release build (${SIZE_TUNED:+size-tuned }bundle, then server)"
  build_frontend_release
  cargo leptos build --release --split --features split --server-only
  node "$ROOT/scripts/precompress.mjs" "$ROOT/target/site/pkg"
}

# newest_built GLOB: the newest file under target/site matching GLOB (e.g. 'pkg/tokenflight.*.css'),
# relative to target/site. The names carry a content hash (cargo-leptos `hash-files`), so older
# builds' files linger beside this build's; the newest of a kind is this build's.
newest_built() {
  (cd "$ROOT/target/site" && ls -t $1 | head -1)
}

# split_chunks: the lazy wasm chunks this build's split manifest names, once each, relative to
# target/site, one per line.
split_chunks() {
  python3 -c '
import json, sys
stems = {stem for chunks in json.load(open(sys.argv[1])).values() for stem in chunks}
print("\n".join(sorted(f"pkg/{stem}.wasm" for stem in stems)))
' "$ROOT/target/site/$(newest_built 'pkg/__wasm_split_manifest.*.json')"
}

# Where examples/router_app is built: a target folder of its own, since this crate, as its
# dependency, links the same unhashed `tokenflight.wasm` the demo's build does (see test.sh).
ROUTER_APP_TARGET="$ROOT/target/router_app"

# The auth client's own cost in an app (issue #31): examples/router_app's release bundle, and the
# same app with a naive stand-in for the client (its feature `baseline`), each into a site folder
# of its own under target/size/. `scripts/budget.sh client` measures the difference.
build_client_cost_bundles() {
  step "the auth client's cost: examples/router_app's release bundle with it and without it"
  local variant features
  for variant in router_app router_app-baseline; do
    features=()
    [[ "$variant" == *-baseline ]] && features=(--features baseline)
    (cd "$ROOT/examples/router_app" &&
      env -u LEPTOS_OUTPUT_NAME -u LEPTOS_SITE_PKG_DIR -u LEPTOS_HASH_FILES \
        CARGO_TARGET_DIR="$ROUTER_APP_TARGET" LEPTOS_SITE_ROOT="$ROOT/target/size/$variant" \
        cargo leptos build --release --frontend-only "${features[@]}")
  done
}

# The environment the server binary needs outside cargo-leptos (see README, Deploy).
export_site_env() {
  export LEPTOS_OUTPUT_NAME=tokenflight
  export LEPTOS_SITE_ROOT="$ROOT/target/site"
  export LEPTOS_SITE_PKG_DIR=pkg
  export LEPTOS_ENV=PROD
  # The bundle's names carry content hashes, listed in target/release/hash.txt.
  export LEPTOS_HASH_FILES=true
}
