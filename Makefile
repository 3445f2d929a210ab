# atelier — see README.md. Every target works on a fresh machine with Go:
# what else a target needs (Chromium, Node.js and npm, zip, SeaweedFS) scripts/deps.sh
# installs when it is missing (Debian/Ubuntu; elsewhere it says how).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

GO      ?= go
PORT    ?= 8080
BUILD   := build
GOBIN   := $(shell $(GO) env GOPATH)/bin
WBT_VERSION := v0.11.0
WBT     := $(GOBIN)/wasmbrowsertest

# wasmbrowsertest forwards the whole environment into the page, and a large
# one breaks it: run browser tests with only what Go needs.
BROWSER_ENV := env -i PATH="$$PATH" HOME="$$HOME" TMPDIR="$${TMPDIR:-/tmp}" \
	GOPATH="$$($(GO) env GOPATH)" GOCACHE="$$($(GO) env GOCACHE)" \
	GOMODCACHE="$$($(GO) env GOMODCACHE)" GOPROXY="$$($(GO) env GOPROXY)" \
	GOFLAGS="$$($(GO) env GOFLAGS)" GOTOOLCHAIN=local
# Its DevTools client predates Chromium 156 and logs harmless lines about
# unknown event values; drop them so real failures stay readable.
NOISE := /could not unmarshal event/d

.PHONY: all run build test test-host test-types test-browser bench size lint clean chrome deps-node deps-zip deps-seaweedfs deps-others package test-package

all: build

## run: build the wasm module and serve the example editor on http://localhost:$(PORT)/examples/editor/ (/ redirects there)
run: build
	$(GO) run ./examples/serve -dir . -addr localhost:$(PORT)

## build: compile build/atelier.wasm (and atelier.wasm.gz), and put wasm_exec.mjs and atelier-bridge.js next to it
build: $(BUILD)/wasm_exec.js
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags="-s -w" -o $(BUILD)/atelier.wasm ./wasm
	$(GO) run ./internal/cmd/wasmexec -o $(BUILD)/wasm_exec.mjs "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js"
	cp internal/jsbridge/bridge.js $(BUILD)/atelier-bridge.js
	@$(MAKE) --no-print-directory $(BUILD)/atelier.wasm.gz

# Precompressed copies, which examples/serve sends to browsers that accept
# them. gzip takes ~2 s; Brotli at its best ~17 s, so only the package and
# make size make it, and scripts/brotli.mjs skips a module it has already
# compressed (go build rewrites the file even when nothing changed). wasm-opt (binaryen 108 and 132, -O2 and -Oz) made
# the module 7-9% smaller raw but no smaller compressed (gzip -0.2 to +0.1%,
# brotli +1.3%) in 17-95 s, so the build does not run it (docs/BENCHMARKS.md).
$(BUILD)/atelier.wasm.gz: $(BUILD)/atelier.wasm
	gzip -9 -n -c $< > $@.tmp && mv $@.tmp $@

$(BUILD)/atelier.wasm.br: $(BUILD)/atelier.wasm | deps-node
	node scripts/brotli.mjs $< $@

## package: the npm package @atelierstore/atelier in build/npm, packed (npm pack) into build/atelierstore-atelier-VERSION.tgz
PKG := $(BUILD)/npm
# What the package ships besides the module files make build writes; the
# loader (engine.mjs) gets its paths from ../build/ to ./ on the way.
PKG_SOURCES := wasm/package/package.json wasm/package/README.md wasm/atelier.mjs wasm/client.mjs \
	wasm/worker.mjs wasm/errors.mjs wasm/atelier.d.ts internal/jsbridge/LICENSE.hash-wasm
# Go's license goes with wasm_exec.mjs (Go's wasm_exec.js) as LICENSE.golang.
package: build $(BUILD)/atelier.wasm.br | deps-node
	rm -rf $(PKG) $(BUILD)/atelierstore-atelier-*.tgz
	mkdir -p $(PKG)
	cp $(PKG_SOURCES) $(PKG)/
	cp "$$($(GO) env GOROOT)/LICENSE" $(PKG)/LICENSE.golang
	sed 's#"\.\./build/#"./#' wasm/engine.mjs > $(PKG)/engine.mjs
	@if grep -n "[\"']\.\./" $(PKG)/*.mjs; then echo "package: a module refers outside the package"; exit 1; fi
	cp $(BUILD)/atelier.wasm $(BUILD)/atelier.wasm.gz $(BUILD)/atelier.wasm.br \
		$(BUILD)/wasm_exec.mjs $(BUILD)/atelier-bridge.js $(PKG)/
	cd $(BUILD) && npm pack ./npm --pack-destination . --loglevel=warn

$(BUILD)/wasm_exec.js:
	mkdir -p $(BUILD)
	cp "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" $@

## test: host tests with the race detector, the TypeScript declarations, then every package in headless Chromium,
## then the browser packages in Firefox ESR and WebKitGTK (test-browser-others)
test: test-host test-types test-browser test-browser-others

# The sync server's tests run its S3 blob store against SeaweedFS (weed, which
# deps-seaweedfs builds into $(GOBIN)); ATELIER_REQUIRE_S3=1 makes them fail
# rather than skip should weed be missing.
test-host: deps-zip deps-seaweedfs
	$(GO) test -race -timeout 5m ./...
	cd server && PATH="$(GOBIN):$$PATH" ATELIER_REQUIRE_S3=1 bash testdata/with-postgres.sh $(GO) test -race -timeout 5m ./...
	@# The push handler end to end, on bodies the fuzzer makes up, for a while.
	cd server && $(GO) test -run '^$$' -fuzz '^FuzzPushHandler$$' -fuzztime 20s .
	cd bench/driver && $(GO) test -race ./...

## test-types: type-check wasm/atelier.d.ts against wasm/typecheck/usage.ts (pinned TypeScript from npm)
test-types: deps-node
	bash wasm/typecheck/check.sh

test-browser: chrome deps-node deps-zip deps-others deps-seaweedfs $(WBT)
	$(BROWSER_ENV) GOOS=js GOARCH=wasm $(GO) test -exec "$(WBT)" -timeout 5m ./... 2>&1 | sed -u '$(NOISE)'
	@# The README's Go example runs and prints what it should, and nothing else.
	@out="$$($(BROWSER_ENV) GOOS=js GOARCH=wasm timeout 120 $(GO) run -exec "$(WBT)" ./examples/quickstart 2>&1 | sed '$(NOISE)')"; \
	if [ "$$out" != 'Storyboard: 2 nodes, 1 edges; "Hero shot" is at version 2' ]; then \
		echo "examples/quickstart: unexpected output:"; echo "$$out"; exit 1; fi; \
	echo "ok  	examples/quickstart (README example) runs in Chromium"
	@# -count=1: the harness builds ./wasm in a go build of its own, which go
	@# test's cache does not see; cached results would hide library changes.
	@# -timeout 25m: about 9 minutes here; the bound is only there to end a hang.
	cd browsertest && PATH="$(GOBIN):$$PATH" ATELIER_REQUIRE_S3=1 bash ../server/testdata/with-postgres.sh $(GO) test -race -count=1 -timeout 25m ./...

## test-browser-others: the Go browser tests of the storage packages in Firefox ESR and WebKitGTK, run by
## browsertest/cmd/wasmrun (as wasmbrowsertest runs them in Chromium); each browser is skipped, saying how to
## install it, when absent. (browsertest runs the JS API page and the editor journey in both as well.)
OTHER_BROWSERS ?= firefox webkit
OTHER_PKGS     ?= ./internal/idbx/ ./internal/idbblob/ ./idb/ ./opfs/ ./assets/
WASMRUN        := $(abspath $(BUILD))/wasmrun
.PHONY: test-browser-others $(WASMRUN)
test-browser-others: deps-others $(WASMRUN)
	@for b in $(OTHER_BROWSERS); do \
		case $$b in \
		firefox) have="$$(command -v firefox-esr || command -v firefox || true)"; how="sudo apt-get install firefox-esr";; \
		webkit) have="$$(command -v WebKitWebDriver >/dev/null && command -v xvfb-run || true)"; how="sudo apt-get install webkit2gtk-driver xvfb";; \
		esac; \
		if [ -z "$$have" ]; then echo "skip	Go browser tests in $$b: not installed ($$how)"; continue; fi; \
		echo "--- Go browser tests in $$b"; \
		log="$$(mktemp)"; rc=0; \
		$(BROWSER_ENV) GOOS=js GOARCH=wasm $(GO) test -v -count=1 -timeout 10m -exec "$(WASMRUN) -browser $$b" $(OTHER_PKGS) >"$$log" 2>&1 || rc=$$?; \
		if [ $$rc -eq 0 ]; then grep -E '^(ok|\?) ' "$$log"; else grep -vE '^\s*(=== (RUN|PAUSE|CONT|NAME)|--- PASS)' "$$log"; fi; \
		echo "$$b: Go browser tests: $$(grep -cE '^\s*--- PASS' "$$log") passed, $$(grep -cE '^\s*--- FAIL' "$$log") failed, $$(grep -cE '^\s*--- SKIP' "$$log") skipped"; \
		rm -f "$$log"; [ $$rc -eq 0 ] || exit $$rc; \
	done

$(WASMRUN):
	mkdir -p $(BUILD)
	cd browsertest && $(GO) build -o $@ ./cmd/wasmrun

## bench: this library against raw browser APIs and Dexie.js in one headless Chromium:
## prints a table, writes bench/results.json and docs/BENCHMARKS.md (figures, not pass/fail)
BENCH_RUNS ?= 5
bench: chrome bench/node_modules/.package-lock.json
	@# -mod=mod: bench/driver/go.sum follows browsertest's requirements by itself.
	cd bench/driver && $(GO) run -mod=mod . -runs $(BENCH_RUNS)

# Dexie, pinned in bench/package-lock.json, into bench/node_modules (not committed).
bench/node_modules/.package-lock.json: bench/package.json bench/package-lock.json | deps-node
	cd bench && npm ci --no-audit --no-fund --loglevel=error

## bench-packages: the go test benchmarks inside the packages, each in a fresh browser
.PHONY: bench-packages
BENCHES := SetNodes10k:5x LoadWorkflow10k:5x UpdatePosition:300x
bench-packages: chrome $(WBT)
	@for spec in $(BENCHES); do \
		$(BROWSER_ENV) GOOS=js GOARCH=wasm $(GO) test -exec "$(WBT)" -run '^$$' \
			-bench "^Benchmark$${spec%%:*}$$" -benchtime "$${spec##*:}" ./idb/ 2>&1 | grep '^Benchmark'; \
	done
	@$(BROWSER_ENV) GOOS=js GOARCH=wasm $(GO) test -exec "$(WBT)" -run '^$$' \
		-bench 'codeNode' -benchtime 3000x ./internal/recbody/ 2>&1 | grep '^Benchmark'
	@$(BROWSER_ENV) GOOS=js GOARCH=wasm $(GO) test -exec "$(WBT)" -run '^$$' \
		-bench 'Store' -benchtime 3x ./internal/idbblob/ 2>&1 | grep '^Benchmark'
	@$(BROWSER_ENV) GOOS=js GOARCH=wasm $(GO) test -exec "$(WBT)" -run '^$$' \
		-bench 'PutBlob' -benchtime 3x ./assets/ 2>&1 | grep '^Benchmark'
	@cd browsertest && $(GO) test -run '^$$' -bench . -benchtime 1x ./... 2>&1 | grep '^Benchmark'

## bench-server: the sync server under 50 and 200 concurrent clients, over SQLite and over a
## throwaway PostgreSQL that flushes every commit to disk: ops/s, push and pull p50/p99, RSS
BENCH_SERVER_FLAGS ?=
.PHONY: bench-server
bench-server:
	cd server && ATELIER_PG_DURABLE=1 bash testdata/with-postgres.sh $(GO) run ./internal/benchserver $(BENCH_SERVER_FLAGS)

## size: the module's size raw, gzipped and brotli-compressed, its biggest packages, and the bench's start-up figures
size: build $(BUILD)/atelier.wasm.br bench/node_modules/.package-lock.json
	@printf 'atelier.wasm: %s bytes raw, %s gzip -9, %s brotli -q 11\n' "$$(wc -c < $(BUILD)/atelier.wasm)" \
		"$$(wc -c < $(BUILD)/atelier.wasm.gz)" "$$(wc -c < $(BUILD)/atelier.wasm.br)"
	@GOOS=js GOARCH=wasm $(GO) build -trimpath -o $(BUILD)/atelier-names.wasm ./wasm
	@$(GO) run ./internal/cmd/wasmsize -top 15 $(BUILD)/atelier-names.wasm
	@rm -f $(BUILD)/atelier-names.wasm
	@$(MAKE) --no-print-directory chrome
	@cd bench/driver && $(GO) run -mod=mod . -runs 5 -only S8,J5 -docs=false -json $(abspath $(BUILD))/size-bench.json 2>&1 | grep -E '^\| (S8|J5)'

## lint: gofmt, go vet for the host and for js/wasm
lint:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./...
	cd browsertest && $(GO) vet ./...
	cd server && $(GO) vet ./...
	cd bench/driver && $(GO) vet ./...

## sync-server: run the sync server (embedded SQLite, data in build/sync-data) with a development token
SYNC_ADDR  ?= 127.0.0.1:8787
SYNC_TOKEN ?= dev-token
SYNC_WS    ?= dev
.PHONY: sync-server
sync-server:
	@echo "sync server: http://$(SYNC_ADDR)  workspace: $(SYNC_WS)  token: $(SYNC_TOKEN)"
	@echo "editor (make run): http://localhost:$(PORT)/examples/editor/?sync=http://$(SYNC_ADDR)&workspace=$(SYNC_WS)&token=$(SYNC_TOKEN)"
	cd server && $(GO) run ./cmd/atelier-sync -addr $(SYNC_ADDR) -data ../$(BUILD)/sync-data -token '$(SYNC_TOKEN)=$(SYNC_WS)'

## generation-job: the example server-side job (examples/generation-job) against make sync-server's workspace
.PHONY: generation-job
generation-job:
	$(GO) run ./examples/generation-job -server http://$(SYNC_ADDR) -workspace $(SYNC_WS) -token '$(SYNC_TOKEN)'

$(WBT):
	$(GO) install github.com/agnivade/wasmbrowsertest@$(WBT_VERSION)

chrome:
	@bash scripts/deps.sh chromium

deps-node:
	@bash scripts/deps.sh node

deps-zip:
	@bash scripts/deps.sh zip

deps-seaweedfs:
	@bash scripts/deps.sh seaweedfs

# Firefox and WebKitGTK are optional: where they cannot be installed, their
# tests skip, saying so.
deps-others:
	-@bash scripts/deps.sh firefox webkit

clean:
	rm -rf $(BUILD)
