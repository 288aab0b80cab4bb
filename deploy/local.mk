# Local services for Knightwatch: a single-node Kafka (KRaft) broker and a
# Redis, both bound to 127.0.0.1 and run as plain processes so no Docker is
# needed; and Prometheus (with promtool, which the tests of the alert rules
# use) for scraping local workers. Included by the top-level Makefile; also usable on its own:
#
#   make -f deploy/local.mk up
#
# State (jars, data, logs, pid files) lives under .run/. `make down` stops
# exactly the processes these scripts started, by their recorded pids.

# Resolve the scripts relative to this file so the fragment works whether it
# is included from the repo root or invoked with -f.
KNIGHTWATCH_LOCAL_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))/local

KAFKA_PORT ?= 19092
KAFKA_CONTROLLER_PORT ?= 19093
REDIS_PORT ?= 16379

# Exported so the scripts, and the tests or worker run from the same make
# invocation, agree on where the services are when the ports are overridden
# (e.g. `make up test KAFKA_PORT=29092`). The worker reads the nested
# KNIGHTWATCH_KAFKA__BROKERS; the integration tests read the flat name.
export KAFKA_PORT KAFKA_CONTROLLER_PORT REDIS_PORT
export KNIGHTWATCH_KAFKA_BROKERS ?= 127.0.0.1:$(KAFKA_PORT)
export KNIGHTWATCH_KAFKA__BROKERS ?= 127.0.0.1:$(KAFKA_PORT)
export KNIGHTWATCH_REDIS_URL ?= redis://127.0.0.1:$(REDIS_PORT)/0

.PHONY: up down kafka-up kafka-down redis-up redis-down kafka-status redis-status status \
	prometheus-install prometheus-up prometheus-down prometheus-status

up: kafka-up redis-up

down: kafka-down redis-down prometheus-down

kafka-up:
	bash $(KNIGHTWATCH_LOCAL_DIR)/kafka.sh up

kafka-down:
	bash $(KNIGHTWATCH_LOCAL_DIR)/kafka.sh down

redis-up:
	bash $(KNIGHTWATCH_LOCAL_DIR)/redis.sh up

redis-down:
	bash $(KNIGHTWATCH_LOCAL_DIR)/redis.sh down

# Installs Debian's prometheus package if promtool is missing; starts nothing.
prometheus-install:
	bash $(KNIGHTWATCH_LOCAL_DIR)/prometheus.sh install

# PROMETHEUS_TARGETS (default 127.0.0.1:6066) names the workers' web ports;
# the server listens on 127.0.0.1:$(PROMETHEUS_PORT), default 19090.
prometheus-up:
	bash $(KNIGHTWATCH_LOCAL_DIR)/prometheus.sh up

prometheus-down:
	bash $(KNIGHTWATCH_LOCAL_DIR)/prometheus.sh down

prometheus-status:
	@bash $(KNIGHTWATCH_LOCAL_DIR)/prometheus.sh status || true

# Informational: report both services even when the first one is down
# (the scripts exit 3 for "not running").
kafka-status:
	@bash $(KNIGHTWATCH_LOCAL_DIR)/kafka.sh status || true

redis-status:
	@bash $(KNIGHTWATCH_LOCAL_DIR)/redis.sh status || true

status: kafka-status redis-status
