# sensorgate: `make run` and `make test` set up everything on a fresh Debian 12 / Raspberry Pi OS.
# System packages are installed non-interactively when missing (root, or through sudo).

SWIFT        ?= swift
CONFIG       ?= Config/demo.yaml
BIN_DIR       = $(shell $(SWIFT) build --show-bin-path 2>/dev/null)
# systemd: systemd-analyze checks the unit in the tests (minimal images lack it), strace checks
# its system call filter against a traced gateway; the rest builds and checks the Debian package
# (`make deb`, `make test-deb`).
APT_PACKAGES := pkg-config libsqlite3-dev sqlite3 libmosquitto-dev mosquitto mosquitto-clients socat openssl \
                systemd strace dpkg-dev binutils lintian

.PHONY: all deps build release run test test-deb deb check bench clean

all: build

# Installs only what is missing, so repeated runs cost nothing and need no network.
deps:
	@command -v $(SWIFT) >/dev/null 2>&1 || { echo "error: no Swift toolchain on PATH; install Swift 6 from swift.org (or swiftly) first" >&2; exit 1; }
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:$$missing"; \
		if [ "$$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi; \
		$$sudo apt-get update && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# The demo publishes to a private mosquitto on 127.0.0.1:18830, started here and stopped on exit.
run: build
	@mkdir -p var; \
	if [ "$(CONFIG)" = "Config/demo.yaml" ]; then \
		mosquitto -c Config/demo-broker.conf > var/demo-broker.log 2>&1 & broker=$$!; \
		trap 'kill $$broker 2>/dev/null' EXIT INT TERM; \
		echo "demo broker on 127.0.0.1:18830 (watch: mosquitto_sub -p 18830 -t 'sensorgate/#' -v)"; \
	fi; \
	$(BIN_DIR)/sensorgate run --config $(CONFIG)

check: build
	$(BIN_DIR)/sensorgate check --config $(CONFIG)

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(MAKE) --no-print-directory test-deb

# The Debian package for this host's architecture: a static release build (minutes the first
# time, in .build/deb), then dpkg-deb. Writes sensorgate_VERSION_ARCH.deb here.
deb: deps
	SWIFT=$(SWIFT) Packaging/build-deb.sh .

# Builds the package, then checks it (file list, lintian, the unit, the unpacked binary) in
# PackageTests, which are skipped when SENSORGATE_DEB does not name a package.
test-deb: deb
	$(SWIFT) build --build-tests
	SENSORGATE_DEB="$$(ls -t sensorgate_*_$$(dpkg --print-architecture).deb | head -1)" \
		$(SWIFT) test --skip-build --filter PackageTests

# Release build, the libmosquitto floor programs (Benchmarks/floor), then every benchmark against
# its own mosquitto on loopback; prints a table and writes var/bench.json. Never fails on a missed target.
CC          ?= cc
RELEASE_BIN  = $(shell $(SWIFT) build -c release --show-bin-path 2>/dev/null)
bench: deps
	$(SWIFT) build -c release --product sensorgate
	$(SWIFT) build -c release --product sensorgate-bench
	@mkdir -p .build/bench-floor var
	for p in bench_pub bench_sub bench_relay; do \
		$(CC) -O2 -Wall -o .build/bench-floor/$$p Benchmarks/floor/$$p.c $$(pkg-config --cflags --libs libmosquitto) || exit 1; \
	done
	$(RELEASE_BIN)/sensorgate-bench --sensorgate $(RELEASE_BIN)/sensorgate --floor .build/bench-floor --out var/bench.json

clean:
	$(SWIFT) package clean
	rm -rf .build/deb sensorgate_*.deb
