#!/usr/bin/env bash
# Installs whatever is missing and builds the release, ready to deploy: the server binary
# `target/release/tokenflight` with `target/release/hash.txt`, and the site in `target/site/`
# (the bundle and its precompressed siblings; see README, Deploy). Built on stable Rust;
# `--size-tuned` opts in to the smaller bundle that needs RUSTC_BOOTSTRAP (see lib.sh).
if [[ "${1:-}" == --size-tuned ]]; then export SIZE_TUNED=1; fi
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_build_tools
build_release
