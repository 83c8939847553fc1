#!/bin/sh
# Builds the wasm worker into build/. worker-build downloads wasm-bindgen and
# wasm-opt from GitHub, which these machines cannot reach: point it at the
# copies `make setup` installed (cargo's wasm-bindgen-cli, npm's binaryen).
set -eu
cd "$(dirname "$0")/.."
WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen)}"
WASM_OPT_BIN="${WASM_OPT_BIN:-$PWD/node_modules/.bin/wasm-opt}"
export WASM_BINDGEN_BIN WASM_OPT_BIN
# The release wasm is built with a pinned nightly (scripts/release-toolchain,
# installed by `make setup`; the native tests use stable): the standard
# library is rebuilt with the crate's own size settings (opt-level "z", LTO)
# and its optimize_for_size code paths, and a panic aborts on the spot
# instead of formatting its message first. A panic still answers 500 JSON
# (js/entry.mjs). `RELEASE_TOOLCHAIN=stable` builds with stable's prebuilt
# standard library instead, which keeps panic messages.
RUSTUP_TOOLCHAIN="${RELEASE_TOOLCHAIN:-$(cat scripts/release-toolchain)}"
export RUSTUP_TOOLCHAIN
if [ "$RUSTUP_TOOLCHAIN" != stable ]; then
  CARGO_UNSTABLE_BUILD_STD=std,panic_abort
  CARGO_UNSTABLE_BUILD_STD_FEATURES=optimize_for_size
  RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none"
  export CARGO_UNSTABLE_BUILD_STD CARGO_UNSTABLE_BUILD_STD_FEATURES RUSTFLAGS
fi
worker-build --release
# worker-build keeps the name section (function names, for debuggers); the
# edge does not need it, and every byte is compiled at a cold start. Its
# wasm-opt pass runs before wasm-bindgen's glue is final: one more size pass
# over the finished module (with whole-program flow analysis, --gufa) saves
# a few KB more.
"$WASM_OPT_BIN" build/index_bg.wasm -o build/index_bg.wasm -Oz --gufa --converge \
  --strip-debug --strip-producers \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling
