# Knightwatch: `make demo` runs the main job with no services; `make test` installs, starts a
# local Kafka broker and Redis, and runs every test.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo simulate eval test unit integration lint bench bench-core bench-fleet schemas docs clean
.DEFAULT_GOAL := help

help:
	@echo "make demo   - simulate a small city and replay it (no services needed)"
	@echo "make test   - install, start Kafka and Redis, run every test"
	@echo "make simulate - a simulated city with ground-truth labels in out/simulated.jsonl"
	@echo "make eval   - precision, recall and delay against the labels (eval/results/)"
	@echo "make bench  - the core, the workers, a bare consumer and peer libraries side by side"
	@echo "              (starts Kafka and Redis; writes bench/results/bench.{json,md,png})"
	@echo "make bench-core - the core's throughput, latency and memory in detail (no services)"
	@echo "make bench-fleet - throughput of the Kafka worker fleet (starts Kafka and Redis)"
	@echo "make up / make down - start / stop the local Kafka broker and Redis"
	@echo "make prometheus-up / prometheus-down - a local Prometheus scraping PROMETHEUS_TARGETS"

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

demo: install
	$(BIN)/knightwatch demo --out-dir out/demo

simulate: install
	$(BIN)/knightwatch simulate --out out/simulated.jsonl

eval: install
	$(BIN)/knightwatch eval --out-dir eval/results

unit: install
	$(BIN)/pytest -q tests/unit tests/schemas

lint: install
	$(BIN)/ruff check streams schemas tests

schemas: install
	$(BIN)/knightwatch schemas

docs: install
	$(BIN)/python -c 'from streams.config.docs import update_readme; update_readme("README.md")'

bench: install up
	$(BIN)/python -m tests.bench.bench

bench-core: install
	$(BIN)/python -m tests.bench.bench_core

bench-fleet: install up
	$(BIN)/python -m tests.bench.bench_fleet

include deploy/local.mk

test: install up prometheus-install
	$(BIN)/pytest -q tests; status=$$?; $(MAKE) --no-print-directory down; exit $$status

clean: down
	rm -rf $(VENV) .run out
