# The two README commands (make run, make test) and their parts. CMake + Ninja do the building.
# `make docker-test` builds the Docker image with podman and smoke-tests it (README "Docker").
SHELL := /bin/bash
BUILD_DIR ?= build
TEST_BUILD_DIR ?= build-test
FUZZ_BUILD_DIR ?= build-fuzz
TSAN_BUILD_DIR ?= build-tsan
FUZZ_SECONDS ?= 60
PYTHON := /usr/bin/python3
CMAKE_FLAGS := -G Ninja -DCMAKE_EXPORT_COMPILE_COMMANDS=ON

.PHONY: all deps test-deps build build-test run test unit-test webhooks-npm api-test api-test-pg e2e-npm e2e-test lint-openapi check-code screenshots postman bench \
        docker-test clean build-fuzz fuzz build-tsan tsan-test

all: build

deps:
	@scripts/install-deps

test-deps:
	@scripts/install-deps --test

build: deps
	@cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS) -DCMAKE_BUILD_TYPE=Release -DORDERD_TESTS=OFF >/dev/null
	@cmake --build $(BUILD_DIR)

# Tests run against a build with AddressSanitizer and UndefinedBehaviorSanitizer.
build-test: test-deps
	@cmake -S . -B $(TEST_BUILD_DIR) $(CMAKE_FLAGS) -DCMAKE_BUILD_TYPE=Debug -DORDERD_SANITIZE=ON >/dev/null
	@cmake --build $(TEST_BUILD_DIR)

run: build
	@mkdir -p var
	$(BUILD_DIR)/orderd migrate
	$(BUILD_DIR)/orderd demo-data
	exec $(BUILD_DIR)/orderd serve

# The black-box suite runs twice: against SQLite, and against a throwaway PostgreSQL 15 cluster that
# the harness starts and removes itself (tests/api/pg.py), including the multi-node tests. The staff
# console is driven in headless Chromium, docs/openapi.yaml is linted, and src/'s functions are
# measured. After the unit tests, the rest runs two at a time (most of a black-box test is waiting
# for a server to start or a worker to act, so two suites share the cores well); each part's output
# is printed whole when it ends, and any failure fails the run.
test: build-test
	@$(MAKE) --no-print-directory unit-test
	@$(MAKE) --no-print-directory -j2 --output-sync=target api-test-pg api-test e2e-test lint-openapi check-code

unit-test:
	ctest --test-dir $(TEST_BUILD_DIR) --output-on-failure -j2

# tests/api/test_webhooks.py verifies deliveries with the Standard Webhooks reference library (pinned by
# tests/webhooks/package-lock.json), in a small Node receiver.
WEBHOOKS_NPM_CI = npm ci --prefix tests/webhooks --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error

# A prerequisite of both suites rather than a line of each, so that under make -j2 it runs once.
webhooks-npm:
	$(WEBHOOKS_NPM_CI)

api-test: webhooks-npm
	ORDERD_BIN=$(TEST_BUILD_DIR)/orderd $(PYTHON) -m pytest tests/api -q -p no:cacheprovider

api-test-pg: webhooks-npm
	ORDERD_TEST_DB=postgres ORDERD_BIN=$(TEST_BUILD_DIR)/orderd $(PYTHON) -m pytest tests/api -q -p no:cacheprovider

# The staff console and the account pages in a browser (tests/e2e): playwright-core from npm (pinned by
# tests/e2e/package-lock.json, installed into tests/e2e/node_modules) drives Debian's /usr/bin/chromium
# against the built binary.
E2E_NPM_CI = npm ci --prefix tests/e2e --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error
E2E = cd tests/e2e && ORDERD_BIN=$(TEST_BUILD_DIR)/orderd node --test --test-concurrency=1 console.test.mjs \
        accounts.test.mjs
e2e-npm:
	$(E2E_NPM_CI)

e2e-test: e2e-npm
	$(E2E)

# docs/openapi.yaml linted by Redocly CLI, pinned beside playwright-core in tests/e2e/package.json (so
# the same npm ci installs it), with the rules of redocly.yaml and the deliberate exceptions of
# .redocly.lint-ignore.yaml. Any problem fails, and so does a mistake in redocly.yaml.
lint-openapi: e2e-npm
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
	  tests/e2e/node_modules/.bin/redocly lint --lint-config=error --format=stylish docs/openapi.yaml

# No function in src/ longer than 60 lines (docs/architecture.md, "How the code is kept"), measured by
# clang on the test build's compile_commands.json.
check-code:
	$(PYTHON) scripts/function-lengths $(TEST_BUILD_DIR) 60

# The same run, keeping screenshots of the main screens in docs/screenshots (commit them).
screenshots: build-test e2e-npm
	export SCREENSHOT_DIR=docs/screenshots && $(E2E)

# Fuzzing (docs/reliability.md "Fuzzing"): every libFuzzer target of tests/fuzz for FUZZ_SECONDS each,
# built by clang with ASan and UBSan in $(FUZZ_BUILD_DIR). make fuzz FUZZ_SECONDS=600 FUZZ_TARGETS="jwt money"
build-fuzz:
	@scripts/install-deps --fuzz
	@cmake -S . -B $(FUZZ_BUILD_DIR) $(CMAKE_FLAGS) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
	  -DORDERD_FUZZ=ON -DORDERD_TESTS=OFF >/dev/null
	@cmake --build $(FUZZ_BUILD_DIR) --target fuzz_targets

fuzz: build-fuzz
	@scripts/run-fuzz $(FUZZ_BUILD_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# ThreadSanitizer (docs/reliability.md "Sanitizers"): the unit tests and the concurrency-heavy API tests
# (on SQLite, then on PostgreSQL with the multi-node tests) against a -fsanitize=thread build in
# $(TSAN_BUILD_DIR). A data race fails the run; tests/tsan.supp explains its two suppressions (both: atomics inside uninstrumented libraries).
TSAN_TESTS ?= concurrent or twenty or keep_alive or sigterm or bad_clients or multinode
TSAN_ENV = TSAN_OPTIONS="second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp"
build-tsan: test-deps
	@cmake -S . -B $(TSAN_BUILD_DIR) $(CMAKE_FLAGS) -DCMAKE_BUILD_TYPE=Debug -DORDERD_TSAN=ON >/dev/null
	@cmake --build $(TSAN_BUILD_DIR)

tsan-test: build-tsan
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp" \
	  ctest --test-dir $(TSAN_BUILD_DIR) --output-on-failure -j2
	$(TSAN_ENV) ORDERD_BIN=$(TSAN_BUILD_DIR)/orderd $(PYTHON) -m pytest tests/api -q -p no:cacheprovider -k "$(TSAN_TESTS)"
	$(TSAN_ENV) ORDERD_TEST_DB=postgres ORDERD_BIN=$(TSAN_BUILD_DIR)/orderd $(PYTHON) -m pytest tests/api -q \
	  -p no:cacheprovider -k "$(TSAN_TESTS)"

# The Postman collection is generated from the OpenAPI document the build makes; commit the result.
postman: build
	scripts/postman-from-openapi $(BUILD_DIR)/generated/openapi.json > docs/orderd.postman_collection.json

# Throughput and latency of the main routes under wrk (bench/run.py; see docs/benchmarks.md).
# Parameters: make bench BENCH_ARGS="--duration 30s --connections 128 --scenarios healthz,place_order"
# make bench BENCH_DB=postgres: the same against a throwaway PostgreSQL 15 cluster (tests/api/pg.py),
# with pgbench -N and -S on the same cluster after each round and orderd's ratios to them.
BENCH_DB ?= sqlite
bench: build
	@BENCH_DB=$(BENCH_DB) scripts/install-deps --bench
	BENCH_DB=$(BENCH_DB) $(PYTHON) bench/run.py $(BENCH_ARGS)

docker-test:
	@scripts/docker-test

clean:
	rm -rf $(BUILD_DIR) $(TEST_BUILD_DIR) $(FUZZ_BUILD_DIR) $(TSAN_BUILD_DIR)
