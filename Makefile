# postback-edge — the two front-door commands are `make dev` and `make test`;
# both run `make setup` first, which installs what a fresh machine lacks and
# is quick when everything is there.

WORKER_BUILD_VERSION := 0.8.7
# The wasm-bindgen CLI must equal the wasm-bindgen crate in Cargo.lock.
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/ { getline; gsub(/"/, "", $$3); print $$3 }' Cargo.lock)
# What the wasm is built from: a change to any of these rebuilds it
# (docs/openapi.json is served from the wasm, as GET /v1/openapi.json).
SOURCES := $(shell find src -name '*.rs') docs/openapi.json Cargo.toml Cargo.lock scripts/build.sh

.PHONY: setup setup-test build test test-rust test-worker test-deploy dev deploy bench fuzz clean

# What building and running need.
setup:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown \
		|| rustup target add wasm32-unknown-unknown
	@worker-build --version 2>/dev/null | grep -qx '$(WORKER_BUILD_VERSION)' \
		|| cargo install worker-build --version $(WORKER_BUILD_VERSION) --locked
	@# Not --locked: the CLI's own lock names a webpki-roots the registry does not serve.
	@wasm-bindgen --version 2>/dev/null | grep -qx 'wasm-bindgen $(WASM_BINDGEN_VERSION)' \
		|| cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
	@# npm ci wipes node_modules: only when package-lock.json changed since the last one.
	@cmp -s package-lock.json node_modules/.setup-stamp 2>/dev/null \
		|| { npm ci --no-audit --no-fund && cp package-lock.json node_modules/.setup-stamp; }

# What only the tests need besides: Debian's chromium drives the log page
# (a test tool's own browser download is not used), python3's sqlite3
# writes an earlier version's database for the migration test.
setup-test: setup
	@command -v chromium >/dev/null \
		|| { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; }
	@command -v python3 >/dev/null \
		|| { apt-get update -qq && apt-get install -y -qq --no-install-recommends python3; }

# The wasm, rebuilt only when a source changed.
build: setup build/index_bg.wasm

build/index_bg.wasm: $(SOURCES)
	sh scripts/build.sh
	@touch $@

test: setup-test test-rust test-deploy test-worker

test-rust:
	cargo test --all-targets

test-worker: build
	node --test --test-concurrency=1 tests/

# The bundle `make deploy` would upload builds, and fits the platform.
test-deploy: build
	node scripts/deploy-check.mjs

dev: setup build
	sh scripts/dev.sh

deploy: setup build
	sh scripts/deploy.sh

bench: setup build
	cargo bench --bench core
	command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	node benches/load.mjs
	node benches/isolate.mjs
	node benches/ops.mjs
	node benches/query.mjs
	node benches/coldstart.mjs
	node benches/dev-ready.mjs

# Each fuzz target for FUZZ_SECONDS (default 30). Needs the nightly toolchain.
FUZZ_SECONDS ?= 30
fuzz:
	@command -v cargo-fuzz >/dev/null || cargo +nightly install cargo-fuzz --locked
	for target in params click config edge; do \
		cargo +nightly fuzz run $$target -- -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 || exit 1; \
	done

clean:
	rm -rf build target .wrangler node_modules
