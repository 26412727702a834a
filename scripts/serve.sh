#!/usr/bin/env bash
# Installs whatever is missing, builds the release and serves the demo at
# http://127.0.0.1:3000. Set LEPTOS_SITE_ADDR (and the variables in the README) to change it.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_build_tools
build_release
export_site_env
export LEPTOS_SITE_ADDR="${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
step "serving http://$LEPTOS_SITE_ADDR (Ctrl-C stops)"
exec target/release/tokenflight
