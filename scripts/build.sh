#!/usr/bin/env bash
# Installs whatever is missing and builds the release, ready to deploy: the server binary
# `target/release/tokenflight` with `target/release/hash.txt`, and the site in `target/site/`
# (the size-built bundle and its precompressed siblings; see README, Deploy).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_build_tools
build_release
