# transactive — the commands a newcomer needs:  make demo   and   make test
# Both create .venv (Python >= 3.11) and install the project with its extras on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: help install demo demo-messages paper test lint typecheck unit bench wheel-check clean anvil iota-vectors mosquitto chromium docs docs-build \
	openadr3-client postgresql postgres-start postgres-stop

help:
	@echo "make demo    a VTN and a microgrid of VENs on loopback trade for a simulated day (sets up .venv first)"
	@echo "make demo-messages  build, print and validate sample messages"
	@echo "make paper   reproduce the IOTA double-auction paper on the shipped week (table + figures in out/paper-iota/)"
	@echo "make test    ruff + mypy (strict) + pytest with coverage (sets up .venv first)"
	@echo "make docs    serve the documentation site on http://127.0.0.1:8000 (make docs-build: build it, warnings as errors)"
	@echo "make bench   the benchmarks in bench/ (figures go to BENCHMARKS.md by hand)"
	@echo "make postgres-start  a PostgreSQL server for demos in .cache/postgresql/demo (prints its URL for --store)"
	@echo "make postgres-stop   stop it"
	@echo "make install only create .venv and install transactive[dev,server,signing,market,evm,iota,postgresql,discovery,paper]"

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,server,signing,market,evm,iota,postgresql,discovery,paper]'
	@touch $(STAMP)

# the demo prints the VTN dashboard's sign-in link; `make demo DEMO_FLAGS=--keep` leaves the market and its
# dashboard open after the simulated day (Ctrl-C stops it) and keeps the data directory
DEMO_FLAGS ?=
demo: install
	$(BIN)/python examples/local_market_demo.py $(DEMO_FLAGS)

# the message layer on its own: a tender and an OpenADR event as XML and JSON, validated
demo-messages: install
	$(BIN)/python examples/foundation_demo.py

# the IOTA double-auction paper reproduced on the shipped week: the table, and its figures in out/paper-iota/
paper: install
	$(BIN)/transactive simulate paper-iota --data transactive/simulate/paper_iota_week.csv --plots out/paper-iota

# the documentation site (mkdocs.yml); tests/docs/test_site.py builds it the same way and checks its links offline
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --strict --dev-addr 127.0.0.1:8000

docs-build: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy transactive

# anvil (Ethereum dev node, npm @foundry-rs/anvil) for tests/ledger/test_evm.py. make test needs it: a
# failed install stops the run rather than letting the tests against the real node skip quietly.
anvil:
	@interop/anvil/install.sh >/dev/null

# golden vectors from the official IOTA TypeScript SDK (npm @iota/iota-sdk) for tests/ledger/test_iota.py
iota-vectors:
	@interop/iota_vectors/install.sh >/dev/null

# the Mosquitto MQTT broker (apt-get, if missing) for tests/mqtt, which start their own on a loopback port
mosquitto:
	@interop/mosquitto/install.sh >/dev/null

# the PostgreSQL server (apt-get, if missing) for the tests of the PostgreSQL store, which start their own
# cluster on a loopback port (interop/postgresql/cluster.py)
postgresql:
	@interop/postgresql/install.sh >/dev/null

# a PostgreSQL cluster for demos in .cache/postgresql/demo (left running; prints the URL for --store)
postgres-start: install postgresql
	$(BIN)/python -m interop.postgresql.cluster start

postgres-stop: install
	$(BIN)/python -m interop.postgresql.cluster stop

# headless Chromium (apt-get, if missing) for the test that looks at the conformance kit's HTML report
chromium:
	@interop/chromium/install.sh >/dev/null

# openadr3-client 2.4.2 in .venv-openadr3 (Python 3.12 from PATH or pyenv) for test_openadr3_client_peer.py;
# make test needs it: a failed build stops the run rather than letting those tests skip
openadr3-client:
	@interop/openadr3_peer/make_venv.sh >/dev/null

unit: install anvil iota-vectors mosquitto chromium openadr3-client postgresql
	$(BIN)/python -m pytest --cov --cov-report=term

test: lint typecheck unit

bench: install
	$(BIN)/python bench/codec_bench.py --json bench/results/codec.json
	$(BIN)/python bench/market_bench.py --json
	$(BIN)/python bench/cda_bench.py --json
	$(BIN)/python bench/paper_bench.py --json
	$(BIN)/python bench/dashboard_bench.py

clean:
	rm -rf $(VENV) .venv-openleadr .venv-openadr3 build dist .pytest_cache .mypy_cache .ruff_cache .coverage \
		.hypothesis
