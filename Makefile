# Switchyard — build, run and test. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
BIN := bin/switchyard
PKGS := ./...

# Debian/Ubuntu packages the build and the tests need. systemd is there for
# systemd-analyze (the units' check); installing it starts nothing.
APT_PKGS := pkg-config gcc libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev \
            libx264-dev ffmpeg nginx libnginx-mod-rtmp chromium \
            gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad \
            gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-rtsp python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-rtsp-server-1.0 \
            mediainfo melt srt-tools \
            systemd
# The Companion module's tests (companion/) need node and npm: installed from
# these packages only when the commands are missing (a NodeSource nodejs
# carries its own npm and conflicts with Debian's).
NODE_PKGS := nodejs npm

# The end-to-end tests `make test-short` runs: the front door (config, docs,
# start-up), a push of each protocol, a cut on pixels.
SMOKE := ^(TestDemoConfigIsValid|TestConfigErrorsNameTheKey|TestEnvironmentOverrides|TestConfigRefusalsNameTheKeyAndHideSecrets|TestFileAndAPITakeTheSameSources|TestFailedStartClosesWhatStarted|TestDocsYAMLLoads|TestDocsCurlLinesMatchTheAPI|TestConfigDocNamesEveryKey|TestPushRTMPAndRTSP|TestCutOnPixels|TestDemoPanel)$$

.PHONY: help deps build run test test-short bench soak fuzz lint clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

deps: ## install missing system packages (apt); does nothing when all are present
	@missing=""; for p in $(APT_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	command -v node >/dev/null && command -v npm >/dev/null || missing="$$missing $(NODE_PKGS)"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# the Companion module's packages, as its lockfile pins them (again only when the lockfile changed)
	@if [ ! companion/node_modules/.package-lock.json -nt companion/package-lock.json ]; then \
	  cd companion && npm ci --no-audit --no-fund; \
	fi

build: deps ## build bin/switchyard
	$(GO) build -o $(BIN) ./cmd/switchyard

run: build ## build and start with the embedded demo show (or CONFIG=show.yaml)
	./$(BIN) $(if $(CONFIG),-config $(CONFIG))

test: deps ## run the whole test suite with the race detector
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 25m $(PKGS)

test-short: deps ## the fast subset: every package's own tests and a few end-to-end smoke tests (no race detector)
	$(GO) test -count=1 -timeout 5m $$($(GO) list $(PKGS) | grep -v '/cmd/switchyard$$')
	$(GO) test -count=1 -timeout 5m -run '$(SMOKE)' ./cmd/switchyard

bench: deps ## print performance figures beside ffmpeg doing the same work
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 50m ./cmd/switchyard

soak: deps ## long runs (SOAK=10m each; SOAK=1h make soak): A/V sync; a recording switched all the while, rebuilt from its EDL frame by frame; 12 x 1080p30 cameras held with nothing late
	SOAK=$${SOAK:-10m} $(GO) test -run '^(TestAVSync|TestConform)$$' -count=1 -v -timeout 3h ./cmd/switchyard
	SCALE_FROM=12 SCALE_MAX=12 SCALE_HOLD=1 SCALE_WINDOW=$${SOAK:-10m} $(GO) test -run '^$$' -bench '^BenchmarkScale1080p$$' -benchtime 1x -timeout 3h ./cmd/switchyard

fuzz: deps ## run each fuzz target for a short while
	@$(GO) list -f '{{.ImportPath}}' $(PKGS) | while read p; do \
	  for f in $$($(GO) test -list '^Fuzz' $$p 2>/dev/null | grep '^Fuzz'); do \
	    echo "$$p $$f"; $(GO) test -run=^$$ -fuzz=^$$f$$ -fuzztime=20s $$p || exit 1; \
	  done; done

# govulncheck at an exact version (the module proxy serves exact versions only).
GOVULNCHECK := golang.org/x/vuln/cmd/govulncheck@v1.2.0

lint: ## gofmt, go vet, govulncheck (skipped, with a message, where its database is not reachable)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt: $$out"; exit 1; fi
	$(GO) vet $(PKGS)
	@out=$$($(GO) run $(GOVULNCHECK) $(PKGS) 2>&1); rc=$$?; \
	if [ $$rc -ne 0 ] && grep -q "fetching vulnerabilities" <<<"$$out"; then \
	  echo "govulncheck: skipped: its database (https://vuln.go.dev) is not reachable from here"; \
	else echo "$$out"; exit $$rc; fi

clean: ## remove build output
	rm -rf bin
