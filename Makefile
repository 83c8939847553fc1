# postback-edge — the two front-door commands are `make dev` and `make test`;
# both run `make setup` first, which installs what a fresh machine lacks and
# is quick when everything is there.

WORKER_BUILD_VERSION := 0.8.7
# The wasm-bindgen CLI must equal the wasm-bindgen crate in Cargo.lock.
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/ { getline; gsub(/"/, "", $$3); print $$3 }' Cargo.lock)

.PHONY: setup build test test-rust test-worker dev bench fuzz clean

setup:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown \
		|| rustup target add wasm32-unknown-unknown
	@# The release wasm's toolchain (scripts/build.sh): std is rebuilt from source.
	@rustup toolchain list | grep -q "^$$(cat scripts/release-toolchain)-" \
		|| rustup toolchain install "$$(cat scripts/release-toolchain)" --profile minimal --component rust-src
	@worker-build --version 2>/dev/null | grep -qx '$(WORKER_BUILD_VERSION)' \
		|| cargo install worker-build --version $(WORKER_BUILD_VERSION) --locked
	@# Not --locked: the CLI's own lock names a webpki-roots the registry does not serve.
	@wasm-bindgen --version 2>/dev/null | grep -qx 'wasm-bindgen $(WASM_BINDGEN_VERSION)' \
		|| cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
	@# The log page is tested in Debian's chromium (a test tool's own browser download fails here).
	@command -v chromium >/dev/null \
		|| { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; }
	@# The log migration test writes an earlier version's table with Python's sqlite3.
	@command -v python3 >/dev/null \
		|| { apt-get update -qq && apt-get install -y -qq --no-install-recommends python3; }
	@# npm ci wipes node_modules: only when package-lock.json changed since the last one.
	@cmp -s package-lock.json node_modules/.setup-stamp 2>/dev/null \
		|| { npm ci --no-audit --no-fund && cp package-lock.json node_modules/.setup-stamp; }

build: setup
	sh scripts/build.sh

test: setup test-rust test-worker

test-rust:
	cargo test --all-targets

test-worker: build
	node --test --test-concurrency=1 tests/

dev: setup
	sh scripts/dev.sh

bench: build
	cargo bench --bench core
	command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	node benches/load.mjs
	node benches/isolate.mjs
	node benches/coldstart.mjs

# Each fuzz target for FUZZ_SECONDS (default 30). Needs the nightly toolchain.
FUZZ_SECONDS ?= 30
fuzz:
	@command -v cargo-fuzz >/dev/null || cargo +nightly install cargo-fuzz --locked
	for target in params click config edge; do \
		cargo +nightly fuzz run $$target -- -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 || exit 1; \
	done

clean:
	rm -rf build target .wrangler node_modules
