#!/bin/sh
# Builds the wasm worker into build/ with worker-build (release profile:
# size-optimized, LTO). worker-build would download wasm-bindgen and
# wasm-opt from GitHub; it takes the copies `make setup` installed instead
# (cargo's wasm-bindgen-cli, npm's binaryen) through these two variables.
set -eu
cd "$(dirname "$0")/.."
WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen)}"
WASM_OPT_BIN="${WASM_OPT_BIN:-$PWD/node_modules/.bin/wasm-opt}"
export WASM_BINDGEN_BIN WASM_OPT_BIN
# The standard library is rebuilt with the crate's size settings (opt-level
# "z", LTO) and its optimize_for_size code paths, on the pinned nightly in
# scripts/release-toolchain (`make setup` installs it with rust-src): std
# prebuilt for speed does not fit the 256 KiB gzip guardrail beside the
# product (docs/PERFORMANCE.md has both sizes). Panics still print their
# message and location. `RELEASE_TOOLCHAIN=stable` builds with stable's
# prebuilt std instead; the native tests always use stable.
RUSTUP_TOOLCHAIN="${RELEASE_TOOLCHAIN:-$(cat scripts/release-toolchain)}"
export RUSTUP_TOOLCHAIN
if [ "$RUSTUP_TOOLCHAIN" != stable ]; then
  CARGO_UNSTABLE_BUILD_STD=std,panic_abort
  CARGO_UNSTABLE_BUILD_STD_FEATURES=optimize_for_size
  export CARGO_UNSTABLE_BUILD_STD CARGO_UNSTABLE_BUILD_STD_FEATURES
fi
worker-build --release
# worker-build keeps the name section (function names, for debuggers): a
# quarter of the module, which every cold start would download and compile.
# One more size pass over the finished module, with whole-program flow
# analysis (--gufa), keeps it under the 256 KiB gzip guardrail
# (docs/PERFORMANCE.md has what each step saves). The features the module
# uses must be named for wasm-opt to read it.
"$WASM_OPT_BIN" build/index_bg.wasm -o build/index_bg.wasm -Oz --gufa --converge --strip-debug --strip-producers \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling
