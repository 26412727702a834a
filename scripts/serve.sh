#!/usr/bin/env bash
# Installs whatever is missing, builds the release and serves the demo at
# http://127.0.0.1:3000 (LEPTOS_SITE_ADDR overrides the address).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_build_tools
step "building and serving the release build"
exec cargo leptos serve --release
