# Entry points for people and CI. Each target installs what is missing first.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)

.PHONY: deps configure build run test bench fuzz clean

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# Until the daemon exists, the main job is the offline end-to-end demo.
run: build
	@bash scripts/demo.sh $(BUILD_DIR)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

bench: build
	@$(BUILD_DIR)/bin/ses_engine_bench
	@$(BUILD_DIR)/bin/ses_pkcs11_bench

# Bounded libFuzzer campaigns (clang build in its own dir): the envelope
# decoder, then the whole decrypt path; FUZZ_SECONDS each (default 60).
FUZZ_SECONDS ?= 60
fuzz: deps
	@cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DSES_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target fuzz_envelope_decoder fuzz_engine_decrypt
	@for t in fuzz_envelope_decoder fuzz_engine_decrypt; do \
	  mkdir -p build-fuzz/corpus/$$t && cp tests/vectors/*.ses build-fuzz/corpus/$$t/ && \
	  build-fuzz/bin/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 build-fuzz/corpus/$$t || exit 1; \
	done

clean:
	rm -rf $(BUILD_DIR) build-fuzz
