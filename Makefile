# Atende: `make dev` runs the product, `make test` proves it. See README.md.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install dev web chromium test-web test graphql-conformance test-faults test-supabase lint typecheck pytest pgtap pgvector bench bench-smoke schema schema-sql clean

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

## Start the embedded Postgres, migrate, run the API and the worker (Ctrl-C stops all).
dev: install pgvector web
	$(BIN)/atende dev

## The team's web app (web/, Node 20+): `npm ci` from the committed lockfile when it
## changed, then the build (typed operations from schema.graphql, tsc, Vite, the initial
## JavaScript budget); atende serve serves web/dist at / and GraphiQL at /graphql.
WEB_INSTALLED := web/node_modules/.installed
WEB_BUILT := web/dist/.built
WEB_SOURCES := $(shell find web/src web/public web/scripts web/e2e web/bench -type f -not -path 'web/src/gql/*' 2>/dev/null) \
	$(wildcard web/*.html web/*.ts web/*.json) schema.graphql

$(WEB_INSTALLED): web/package.json web/package-lock.json
	npm --prefix web ci --no-audit --no-fund
	touch $@

$(WEB_BUILT): $(WEB_INSTALLED) $(WEB_SOURCES)
	npm --prefix web run build
	touch $@

web: $(WEB_BUILT)

## Debian's Chromium for the browser tests (installed with apt-get when missing, as root).
chromium:
	./scripts/ensure-chromium.sh

## The web app's browser tests (Playwright in Chromium) against the real product: the API,
## a worker, the Twilio simulator and the demo model on a throwaway Postgres
## (tests/web/e2e_stack.py); screenshots into docs/screenshots/.
test-web: install pgvector web chromium
	$(BIN)/python -m tests.web.e2e_stack -- npm --prefix web run e2e

## A database shaped like a new Supabase project's, built from Supabase's own SQL.
SUPABASE_SHAPE_DIR ?= ../shared/supabase-shape

## Every gate: the web app's build, lint, types, pgTAP availability, the test suite on a
## throwaway Postgres, the web app's browser tests (`make test-web`, about a minute), the
## fault-injection suite (real processes, about 2.5 minutes; `make test-faults` runs it alone),
## every benchmark's smoke run (`make bench-smoke`, about 2 minutes), then, when the Supabase
## shape is at hand, `make test-supabase`.
test: install pgtap pgvector web lint typecheck graphql-conformance pytest test-web test-faults bench-smoke $(if $(wildcard $(SUPABASE_SHAPE_DIR)/build.sh),test-supabase)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy --strict src tests bench

## graphql-core's own execution tests against Atende's executor, which overrides its
## internals: it must pass every test Strawberry's executor passes.
graphql-conformance: install
	$(BIN)/python scripts/graphql_core_conformance.py

pgtap:
	./scripts/ensure-pgtap.sh

## pgvector for the local PostgreSQL (the knowledge base's vectors): built from the vendored
## source (third_party/pgvector) when missing; a no-op once installed.
pgvector:
	./scripts/ensure-pgvector.sh

## Every test but the fault-injection ones (pyproject's addopts deselect them).
pytest: install pgvector
	$(BIN)/pytest

## The fault-injection suite alone: prints its results table, writes bench/results/faults.json.
test-faults: install pgvector
	$(BIN)/pytest -m faults

## The pgTAP suite and the identity, ingest, AI-reply and inbox tests on the Supabase shape
## (scripts/test-supabase.sh; about 3 minutes).
test-supabase: install pgtap pgvector
	SUPABASE_SHAPE_DIR=$(SUPABASE_SHAPE_DIR) ./scripts/test-supabase.sh

## Regenerate schema.graphql from the live Strawberry schema.
schema: install
	$(BIN)/atende export-schema --output schema.graphql

## Regenerate supabase/schema.sql (today's database schema, to read) from the migrations;
## tests/db/test_schema_sql.py fails while the two differ.
schema-sql: install
	$(BIN)/python -m tests.db.schema_sql

## Every benchmark, full runs: tables, bench/results/<name>.json; fails when a target is
## missed or not measured.
bench: install pgvector web chromium
	$(BIN)/python -m bench all

## Every benchmark in --quick mode, as a smoke test: each must run and write a consistent
## bench/results/<name>.quick.json (bench/consistency.py); its targets are not gated here.
bench-smoke: install pgvector web chromium
	$(BIN)/python -m bench all --quick --no-gate

bench-%: install pgvector web chromium
	$(BIN)/python -m bench $*

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
