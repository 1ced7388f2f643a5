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

# Bounded libFuzzer campaign on the envelope decoder (clang build, separate dir).
fuzz: deps
	@cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DSES_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target fuzz_envelope_decoder
	@mkdir -p build-fuzz/corpus && cp -n tests/vectors/*.ses build-fuzz/corpus/ 2>/dev/null || true
	@build-fuzz/bin/fuzz_envelope_decoder -max_total_time=$${FUZZ_SECONDS:-60} build-fuzz/corpus

clean:
	rm -rf $(BUILD_DIR) build-fuzz
