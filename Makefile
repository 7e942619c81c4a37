# sensorgate: `make run` and `make test` set up everything on a fresh Debian 12 / Raspberry Pi OS.
# System packages are installed non-interactively when missing (root, or through sudo).

SWIFT        ?= swift
CONFIG       ?= Config/demo.yaml
BIN_DIR       = $(shell $(SWIFT) build --show-bin-path 2>/dev/null)
# libyaml: the config reader. systemd: systemd-analyze checks the unit in the tests (minimal
# images lack it), strace checks its system call filter against a traced gateway; the rest builds
# and checks the Debian package (`make deb`, `make test-deb`).
APT_PACKAGES := pkg-config libsqlite3-dev sqlite3 libmosquitto-dev libyaml-dev mosquitto mosquitto-clients socat openssl \
                systemd strace dpkg-dev binutils lintian
# The shipped binary carries Swift's runtime (--static-swift-stdlib): idle with Config/demo.yaml it
# is smaller in resident memory (18.5 MB against 21.3 MB with the shared runtime) and starts faster.
RELEASE_FLAGS = -c release --static-swift-stdlib
RELEASE_BIN   = $(shell $(SWIFT) build $(RELEASE_FLAGS) --show-bin-path 2>/dev/null)
# For the tests only: headless Chromium loads the status page, promtool (in Debian's prometheus) checks
# /metrics, pip installs the Python packages the contract tests use (python-deps).
TEST_PACKAGES := chromium prometheus python3-pip

# Swift Testing runs every test at once by default: on two cores some 30 gateways, brokers and
# consumers then starve each other (and the tests' own timeouts). Eight at a time is faster here
# (175 s against 190 s for the suite) and keeps timings meaningful.
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH ?= 8

.PHONY: all deps test-deps python-deps build release run test test-deb deb test-cluster torture fuzz soak check bench clean schemas

all: build

# Installs only what is missing, so repeated runs cost nothing and need no network. Package lists
# are fetched once (apt-get update is skipped when they are less than an hour old, so `make test`
# then `make test-cluster` in CI update once), and a temporary policy-rc.d keeps the services of
# what is installed (mosquitto, prometheus, rabbitmq-server) from starting: the tests start their own.
define install_missing
	@command -v $(SWIFT) >/dev/null 2>&1 || { echo "error: no Swift toolchain on PATH; install Swift 6 from swift.org (or swiftly) first" >&2; exit 1; }
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:$$missing"; \
		if [ "$$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi; \
		guard=""; if [ ! -e /usr/sbin/policy-rc.d ]; then \
			printf '#!/bin/sh\nexit 101\n' | $$sudo tee /usr/sbin/policy-rc.d >/dev/null && $$sudo chmod +x /usr/sbin/policy-rc.d && guard=1; fi; \
		status=0; \
		if [ -z "$$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -60 2>/dev/null | head -1)" ]; then \
			$$sudo apt-get update || status=$$?; fi; \
		[ $$status -eq 0 ] && { DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y --no-install-recommends $$missing || status=$$?; }; \
		[ -n "$$guard" ] && $$sudo rm -f /usr/sbin/policy-rc.d; \
		[ $$status -eq 0 ] || exit $$status; \
	fi
endef

deps:
	$(call install_missing,$(APT_PACKAGES))

test-deps:
	$(call install_missing,$(APT_PACKAGES) $(TEST_PACKAGES))

# The contract tests validate events and the AsyncAPI document with Python's jsonschema; the README's
# replay consumer example runs on paho-mqtt. Both from PyPI, installed only when missing.
PYTHON      ?= python3
PY_PACKAGES := jsonschema>=4.18,<5 paho-mqtt>=2,<3
python-deps: test-deps
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: no $(PYTHON) on PATH" >&2; exit 1; }
	@$(PYTHON) -c 'import jsonschema, referencing, paho.mqtt.client as m; m.CallbackAPIVersion' 2>/dev/null || { \
		echo "installing Python packages: $(PY_PACKAGES)"; \
		$(PYTHON) -m pip install --quiet --disable-pip-version-check $(foreach p,$(PY_PACKAGES),'$(p)') \
		|| $(PYTHON) -m pip install --quiet --disable-pip-version-check --break-system-packages $(foreach p,$(PY_PACKAGES),'$(p)'); }

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build $(RELEASE_FLAGS)

# The demo publishes to a private mosquitto on 127.0.0.1:18830, started here and stopped on exit.
run: build
	@mkdir -p var; \
	if [ "$(CONFIG)" = "Config/demo.yaml" ]; then \
		mosquitto -c Config/demo-broker.conf > var/demo-broker.log 2>&1 & broker=$$!; \
		trap 'kill $$broker 2>/dev/null' EXIT INT TERM; \
		echo "demo broker on 127.0.0.1:18830 (watch: mosquitto_sub -p 18830 -t 'sensorgate/#' -v)"; \
	fi; \
	$(BIN_DIR)/sensorgate run --config $(CONFIG)

# The JSON Schemas under schemas/ are written by the binary that carries them (a test checks that
# they match): run this after changing an event type or its schema.
schemas: build
	$(BIN_DIR)/sensorgate schema --write-to .

check: build
	$(BIN_DIR)/sensorgate check --config $(CONFIG)

# The release binary too: a test checks that what ships links neither Foundation nor ICU.
# Every event the tests make a gateway emit is collected (SENSORGATE_EMITTED_EVENTS) and validated
# against its published schema at the end: a change that breaks the event contract fails here.
# The replay latency test runs alone after the rest, so the other tests do not share its CPU.
# Last, the Debian package is built and checked (test-deb).
CONTRACT_LOG := $(CURDIR)/var/contract/emitted.jsonl
# Tests read no stdin: with none open (as CI runs them), fd 0 went to the next pipe a test made,
# and children that inherited it as stdin took other tests' output (an AsyncAPI document was cut).
# A suite that still hangs is stopped with its tests' names on the last lines, not at CI's limit.
TEST_TIME_LIMIT ?= 30m
SWIFT_TEST = timeout --kill-after=30s $(TEST_TIME_LIMIT) $(SWIFT) test </dev/null
test: test-deps python-deps
	$(SWIFT) build $(RELEASE_FLAGS) --product sensorgate
	$(SWIFT) build --build-tests
	@mkdir -p var/contract && rm -f $(CONTRACT_LOG)
	SENSORGATE_RELEASE_BINARY=$(RELEASE_BIN)/sensorgate SENSORGATE_EMITTED_EVENTS=$(CONTRACT_LOG) \
		$(SWIFT_TEST) --skip-build --skip ReplayLatencyTests
	SENSORGATE_EMITTED_EVENTS=$(CONTRACT_LOG) $(SWIFT_TEST) --skip-build --filter ReplayLatencyTests
	$(PYTHON) Tests/Tools/validate_events.py --schemas schemas/events --min-events 1000 $(CONTRACT_LOG)
	$(MAKE) --no-print-directory test-deb

# The broker matrix beyond mosquitto and the cluster failover test (issue 16): a two-node RabbitMQ
# 3.10 cluster with its MQTT plugin on loopback (Tests/RabbitMQ/rmq2.sh; the package's own service
# is kept from starting) and amqtt from PyPI in a venv under var/. About 3 minutes after the build.
CLUSTER_APT := rabbitmq-server python3-venv
AMQTT       := amqtt==0.12.1
test-cluster: deps
	$(call install_missing,$(CLUSTER_APT))
	@systemctl disable rabbitmq-server >/dev/null 2>&1 || true
	@[ -x var/amqtt/bin/amqtt ] || { echo "installing $(AMQTT) into var/amqtt"; \
		python3 -m venv var/amqtt && var/amqtt/bin/pip install -q "$(AMQTT)"; }
	$(SWIFT) build --build-tests
	SENSORGATE_CLUSTER=1 $(SWIFT_TEST) --skip-build --filter 'BrokerInteropTests|BrokerFailoverTests'

# The Debian package for this host's architecture: a static release build (minutes the first
# time, in .build/deb), then dpkg-deb. Writes sensorgate_VERSION_ARCH.deb here.
deb: deps
	SWIFT=$(SWIFT) Packaging/build-deb.sh .

# Builds the package, then checks it (file list, lintian, the unit, the unpacked binary) in
# PackageTests, which are skipped when SENSORGATE_DEB does not name a package.
test-deb: deb
	$(SWIFT) build --build-tests
	SENSORGATE_DEB="$$(ls -t sensorgate_*_$$(dpkg --print-architecture).deb | head -1)" \
		$(SWIFT_TEST) --skip-build --filter PackageTests

# The torture suite at length (`make test` runs its short form): link faults, broker and gateway
# kills, every damaged state file in both buffer modes, a full disk, hostile input. ~15 minutes.
torture: test-deps
	$(SWIFT) build --build-tests
	SENSORGATE_TORTURE=full $(SWIFT_TEST) --skip-build --filter TortureTests

# Release build, the libmosquitto floor programs (Benchmarks/floor), then every benchmark against
# its own mosquitto on loopback; prints a table and writes var/bench.json. Never fails on a missed target.
CC          ?= cc
bench: deps
	$(SWIFT) build $(RELEASE_FLAGS) --product sensorgate
	$(SWIFT) build $(RELEASE_FLAGS) --product sensorgate-bench
	@mkdir -p .build/bench-floor var
	for p in bench_pub bench_sub bench_relay; do \
		$(CC) -O2 -Wall -o .build/bench-floor/$$p Benchmarks/floor/$$p.c $$(pkg-config --cflags --libs libmosquitto) || exit 1; \
	done
	$(RELEASE_BIN)/sensorgate-bench --sensorgate $(RELEASE_BIN)/sensorgate --floor .build/bench-floor --out var/bench.json

# A long run (DURATION=1h, 30m, 600s) at a few hundred events/s with the broker restarted every few
# minutes and the link faulted between: RSS and its slope, fds, threads, p99 latency, losses.
DURATION ?= 1h
soak: deps
	$(SWIFT) build $(RELEASE_FLAGS) --product sensorgate
	$(SWIFT) build $(RELEASE_FLAGS) --product sensorgate-bench
	$(RELEASE_BIN)/sensorgate-bench --sensorgate $(RELEASE_BIN)/sensorgate --soak $(DURATION)

# libFuzzer on the parsers of untrusted input, FUZZ_SECONDS each (default 60), seeded from the
# test fixtures; findings land in var/fuzz/<target>/ (crash-*), to become regression tests.
FUZZ_SECONDS ?= 60
FUZZ_BIN      = $(shell $(SWIFT) build --scratch-path .build-fuzz -c release --show-bin-path 2>/dev/null)
fuzz: deps
	$(SWIFT) build --scratch-path .build-fuzz -c release --product sensorgate-fuzz \
		-Xswiftc -sanitize=fuzzer,address -Xswiftc -D -Xswiftc FUZZING
	@for t in config profiles json rulestate recorded; do \
		mkdir -p var/fuzz/$$t/corpus; \
		case $$t in \
			config) cp Config/*.yaml Tests/SensorgateGatewayTests/Fixtures/configs/*.yaml var/fuzz/$$t/corpus/ ;; \
			profiles) cp -r Tests/SensorgateAdaptersTests/Fixtures/sys/bus/w1/devices/*/w1_slave var/fuzz/$$t/corpus/ 2>/dev/null; \
				printf 'T=21.50\r\n' > var/fuzz/$$t/corpus/serial; printf '{"state":{"temperature":21.5}}' > var/fuzz/$$t/corpus/json; \
				printf '48312\n' > var/fuzz/$$t/corpus/int ;; \
			json) printf '{"temperature":21.86,"humidity":56,"a":[1,2,{"b":null}],"s":"\\u00e9"}' > var/fuzz/$$t/corpus/z2m ;; \
			recorded) head -50 Config/example-day.jsonl > var/fuzz/$$t/corpus/day ;; \
			rulestate) printf '{"version":1,"devices":{"t":{"seen_age":5,"celsius":20}},"rules":{"hot":{"active":true,"fired":true,"raised":[],"leaves":{},"raise_age":3}},"thermostats":{"heat":{"output":true,"reading_age":2,"switch_age":9,"holds":[]}}}' > var/fuzz/$$t/corpus/state ;; \
		esac; \
		echo "== fuzzing $$t for $(FUZZ_SECONDS) s"; \
		FUZZ_TARGET=$$t LSAN_OPTIONS=suppressions=Tests/Fuzz/lsan.supp $(FUZZ_BIN)/sensorgate-fuzz var/fuzz/$$t/corpus \
			-max_total_time=$(FUZZ_SECONDS) -artifact_prefix=var/fuzz/$$t/ -print_final_stats=1 > var/fuzz/$$t.log 2>&1; \
		status=$$?; grep -E "^Done|stat::peak_rss|ERROR|SUMMARY" var/fuzz/$$t.log; \
		if [ $$status -ne 0 ]; then echo "fuzz target $$t failed (var/fuzz/$$t.log, inputs in var/fuzz/$$t/)"; exit 1; fi; \
	done

clean:
	$(SWIFT) package clean
	rm -rf .build/deb sensorgate_*.deb

# Against a real Home Assistant Core (2025.4.4, installed once into var/hass/venv from PyPI, a few
# minutes; then cached): discovery, states and units, availability, climate commands, HA restarts.
# About a minute with the venv in place. Needs Python 3.13 (pyenv's on these machines).
.PHONY: test-ha ha-screenshot
test-ha: build
	Tests/HomeAssistant/run.sh $(BIN_DIR)/sensorgate

# The same run, then docs/home-assistant-{1,2}.png: HA's device pages in headless Chromium.
ha-screenshot: build
	@command -v chromium >/dev/null 2>&1 || { echo "ha-screenshot needs Debian's chromium (apt-get install chromium)" >&2; exit 1; }
	Tests/HomeAssistant/run.sh $(BIN_DIR)/sensorgate --screenshot docs/home-assistant
