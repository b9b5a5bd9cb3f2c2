# suppression-ledger — every target a newcomer needs. `make help` lists them.
SHELL := /bin/bash
NODE_HEADERS := $(wildcard /usr/include/node/node.h)
# better-sqlite3 builds from source where no prebuilt binary can be downloaded: point node-gyp at the
# headers the machine's Node ships.
ifneq ($(NODE_HEADERS),)
export npm_config_nodedir ?= /usr
endif

.PHONY: help install build run test test-unit test-deep lint typecheck format clean bench

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: node_modules/.installed ## install the npm packages (builds better-sqlite3 from source if needed)

# `npm install`, not `npm ci`: npm 11 writes lock files without other platforms' optional binaries
# (@swc/core-darwin-…), then `npm ci` refuses its own lock (npm/cli#8320). `npm install` still
# installs the versions the lock pins.
node_modules/.installed: package.json package-lock.json
	npm install --no-audit --no-fund
	node -e "require('better-sqlite3')(':memory:').close()"
	touch $@

build: install ## compile TypeScript to dist/
	npm run -s build

run: build ## run the ledger on the embedded log (PORT, LEDGER_DATA_DIR from the environment)
	node dist/services/cli/main.js start

test: build ## typecheck, lint, then every test suite (unit, integration, end-to-end; starts and stops a local Kafka)
	npm run -s typecheck
	npm run -s lint
	infra/kafka/with-kafka.sh npx jest --ci

test-deep: build ## the never-fail-open property suite at 10x, Kafka layer included (LEDGER_PROPERTY_SEED=<seed> replays)
	LEDGER_PROPERTY_RUNS=$${LEDGER_PROPERTY_RUNS:-10} LEDGER_PROPERTY_KAFKA=1 infra/kafka/with-kafka.sh npx jest --ci test/invariant test/kafka/invariant

test-unit: install ## the fast unit tests only
	npx jest --selectProjects unit

typecheck: install ## tsc over sources and tests
	npm run -s typecheck

lint: install ## eslint (type-checked rules)
	npm run -s lint

format: install ## prettier --write
	npm run -s format

bench: build ## performance figures beside same-run references (docs/design.md §7) → bench/results/latest.json; own Kafka on 9292
	bench/run.sh

clean: ## remove build output and the default data directory
	rm -rf dist data .tmp

# ---- local Apache Kafka (docs/design.md §6 "Modes"): KRaft nodes as child JVMs, jars from Maven Central ----
KAFKA_NODES ?= 1

.PHONY: kafka-resolve kafka-up kafka-down

kafka-resolve: ## resolve Kafka's jars from Maven Central into infra/kafka/.lib (no-op when up to date)
	infra/kafka/resolve.sh

kafka-up: ## resolve (if needed) and start a local Kafka on 127.0.0.1:9092 (KAFKA_NODES=3: 19092/29092/39092)
	KAFKA_NODES=$(KAFKA_NODES) infra/kafka/kafka-up.sh

kafka-down: ## stop the local Kafka and delete its data (infra/kafka/.run)
	infra/kafka/kafka-down.sh
