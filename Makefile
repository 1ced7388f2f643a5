# Entry points for people and CI. Each target installs what is missing first.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)

.PHONY: deps configure build run demo test bench fuzz clean

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# The main job: sesd in development mode (TLS with a local CA, a keyfile
# master key and a SQLite store under var/dev, created once); Ctrl-C stops it.
# `make demo` runs the offline sesctl walkthrough instead.
run: build
	@$(BUILD_DIR)/bin/sesd --dev --dir var/dev

demo: build
	@bash scripts/demo.sh $(BUILD_DIR)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

bench: build
	@$(BUILD_DIR)/bin/ses_engine_bench
	@$(BUILD_DIR)/bin/ses_pkcs11_bench
	@bash bench/daemon_bench.sh $(BUILD_DIR)

# Bounded libFuzzer campaigns (clang build in its own dir): the envelope
# decoder, the whole decrypt path, then the telemetry listener's request-head
# parser and the batch calls' pre-parse wire scan; FUZZ_SECONDS each (default
# 60). Each target starts from its own seeds: the envelope targets from
# tests/vectors/*.ses, the others from tests/fuzz/corpus/<name>/.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = fuzz_envelope_decoder fuzz_engine_decrypt fuzz_http_request fuzz_wire_scan
fuzz: deps
	@cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DSES_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target $(FUZZ_TARGETS)
	@for t in $(FUZZ_TARGETS); do \
	  case $$t in \
	    fuzz_http_request) seeds='tests/fuzz/corpus/http_request/*' ;; \
	    fuzz_wire_scan) seeds='tests/fuzz/corpus/wire_scan/*' ;; \
	    *) seeds='tests/vectors/*.ses' ;; \
	  esac; \
	  mkdir -p build-fuzz/corpus/$$t && cp $$seeds build-fuzz/corpus/$$t/ && \
	  build-fuzz/bin/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 build-fuzz/corpus/$$t || exit 1; \
	done

clean:
	rm -rf $(BUILD_DIR) build-fuzz
