#!/bin/sh
# Builds the wasm worker into build/ with worker-build (release profile:
# optimized for speed, LTO; then wasm-opt with the flags in Cargo.toml's
# [package.metadata.wasm-pack.profile.release]). worker-build would download
# wasm-bindgen and wasm-opt from GitHub; it takes the copies `make setup`
# installed instead (cargo's wasm-bindgen-cli, npm's binaryen) through these
# two variables. The toolchain is stable Rust, as everywhere else.
set -eu
cd "$(dirname "$0")/.."
WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen)}"
WASM_OPT_BIN="${WASM_OPT_BIN:-$PWD/node_modules/.bin/wasm-opt}"
export WASM_BINDGEN_BIN WASM_OPT_BIN
worker-build --release
