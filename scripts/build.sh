#!/bin/sh
# Builds the wasm worker into build/. worker-build downloads wasm-bindgen and
# wasm-opt from GitHub, which these machines cannot reach: point it at the
# copies `make setup` installed (cargo's wasm-bindgen-cli, npm's binaryen).
set -eu
cd "$(dirname "$0")/.."
WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen)}"
WASM_OPT_BIN="${WASM_OPT_BIN:-$PWD/node_modules/.bin/wasm-opt}"
export WASM_BINDGEN_BIN WASM_OPT_BIN
exec worker-build --release
