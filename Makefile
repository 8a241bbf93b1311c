# Everything a fresh machine needs, bounded in time. `make serve` and `make test` are
# the two commands of README.md; `.ci/run` calls `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(PYTHON) -m uv

.PHONY: serve test bench bench-registry bench-automations bench-storage bench-api-scaling clean

$(BIN)/strata: pyproject.toml requirements-dev.lock
	$(PYTHON) -m uv --version >/dev/null 2>&1 || timeout 300 $(PYTHON) -m pip install -q uv
	timeout 120 $(UV) venv -q --allow-existing --python 3.11 $(VENV)
	timeout 600 $(UV) pip install -q -p $(VENV) -r requirements-dev.lock
	timeout 120 $(UV) pip install -q -p $(VENV) --no-deps -e .
	touch $@

serve: $(BIN)/strata
	$(BIN)/strata serve

# The suite runs twice: on SQLite, then on PostgreSQL (a throwaway cluster on 127.0.0.1
# that tests/servers.py starts, installing Debian's postgresql-15 when it is missing).
test: $(BIN)/strata
	$(BIN)/ruff check registry sdk automations migrations tests bench
	$(BIN)/ruff format --check registry sdk automations migrations tests bench
	$(BIN)/mypy registry sdk automations
	$(BIN)/python -m pytest -q
	$(BIN)/python -m pytest -q --db=postgresql

# make bench BENCH_ARGS="--datasets many-small --tools strata,mlflow,dvc,floor --repeat 3"
bench: $(BIN)/strata
	timeout 900 bash bench/setup_peers.sh
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# The registry benchmark (100,000 versions against MLflow); its own section of RESULTS.md.
bench-registry: $(BIN)/strata
	timeout 900 bash bench/setup_peers.sh
	timeout 1800 $(BIN)/python bench/registry_bench.py $(BENCH_ARGS)

# Automations: alias move -> webhook latency (against MLflow webhooks) and metric ingestion
# with 100 metric automations; its own section of RESULTS.md.
bench-automations: $(BIN)/strata
	timeout 900 bash bench/setup_peers.sh
	timeout 900 $(BIN)/python bench/automations_bench.py $(BENCH_ARGS)

# Uploads and downloads to S3 (moto) and GCS (fake-gcs-server), proxied vs presigned, beside
# s3fs/gcsfs put and get; its own section of RESULTS.md (about 7 minutes).
bench-storage: $(BIN)/strata
	timeout 1800 $(BIN)/python bench/storage_bench.py $(BENCH_ARGS)

# Metadata reads per second with `strata serve --workers 1` and `--workers 2` (ApacheBench).
bench-api-scaling: $(BIN)/strata
	timeout 900 $(BIN)/python bench/api_scaling_bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .strata
