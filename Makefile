# The README's two commands: `make run` (the main job on the embedded default) and
# `make test` (install, lint, type-check, test). Both set everything up on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
SAMPLE ?= sample_archive
PORT ?= 8000

.PHONY: run test install browser lint typecheck pytest bench bench-scale bench-paraphrase clean

run: $(VENV)/.installed
	$(BIN)/assistant ingest $(SAMPLE)
	$(BIN)/assistant stats
	$(BIN)/assistant ask "谁支持降息？"
	$(BIN)/assistant ask "What did Michael Burry say about Nvidia?"
	$(BIN)/assistant serve --host 127.0.0.1 --port $(PORT)

test: $(VENV)/.installed-dev browser lint typecheck pytest

install: $(VENV)/.installed

# The run needs only the package; the tests add the dev tools (and build llama-cpp-python
# for the local-model test, about 8 minutes the first time; pip caches the wheel).
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Browser tests drive Debian's Chromium (a test tool's own browser download fails here).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; }

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

pytest:
	$(BIN)/pytest

# Benchmarks over ../shared/archive; quality and latency need it ingested into BENCH_STORE.
BENCH_STORE ?= /tmp/assistant-bench-store
bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/embedders.py
	ASSISTANT_VECTORSTORE_DIR=$(BENCH_STORE) $(BIN)/assistant ingest ../shared/archive
	$(BIN)/python benchmarks/calibrate.py --vectorstore $(BENCH_STORE)
	$(BIN)/python benchmarks/quality.py --vectorstore $(BENCH_STORE)
	$(BIN)/python benchmarks/latency.py --vectorstore $(BENCH_STORE)
	$(BIN)/python benchmarks/load.py --vectorstore $(BENCH_STORE)

# Scale (issue 6): grow the archive to ~106k segments, give it the vectors the shared
# archive's ingest computed (no re-embedding of the same paragraphs), ingest, measure both.
SCALE_N ?= 950
SCALE_ARCHIVE ?= /tmp/assistant-scale-archive
SCALE_STORE ?= /tmp/assistant-scale-store
bench-scale: $(VENV)/.installed-dev
	rm -rf $(SCALE_ARCHIVE) $(SCALE_STORE)
	ASSISTANT_VECTORSTORE_DIR=$(BENCH_STORE) $(BIN)/assistant ingest ../shared/archive
	$(BIN)/python benchmarks/make_archive.py $(SCALE_N) $(SCALE_ARCHIVE)
	$(BIN)/python benchmarks/seed_cache.py $(BENCH_STORE) $(SCALE_STORE)
	ASSISTANT_VECTORSTORE_DIR=$(SCALE_STORE) $(BIN)/assistant ingest $(SCALE_ARCHIVE)
	$(BIN)/python benchmarks/scale.py --store shared=$(BENCH_STORE) --store 100k=$(SCALE_STORE)
	$(BIN)/python benchmarks/soak.py --seconds 120

# Paraphrase golden set (issue 11): the shared archive plus 60 real notes from the tarball,
# ingested into its own store (~9,850 segments: an hour or more of e5 on two cores).
PARA_CORPUS ?= /tmp/assistant-paraphrase-corpus
PARA_STORE ?= /tmp/assistant-paraphrase-store
bench-paraphrase: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/paraphrase_corpus.py $(PARA_CORPUS)
	$(BIN)/python benchmarks/paraphrase_check.py $(PARA_CORPUS)
	ASSISTANT_VECTORSTORE_DIR=$(PARA_STORE) $(BIN)/assistant ingest $(PARA_CORPUS)
	$(BIN)/python benchmarks/paraphrase.py --vectorstore $(PARA_STORE)

clean:
	rm -rf $(VENV) dist build .pytest_cache .mypy_cache .ruff_cache
