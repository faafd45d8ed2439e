# Two commands for a newcomer: `make demo` and `make test`. Both build .venv first.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
WEB    := src/llavataros/assets/web/index.html
EXAMPLE ?= examples/hello.wav
OUT    ?= out

.PHONY: setup demo test lint format bench clean

setup: $(STAMP) $(WEB)

$(STAMP): requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# The 3D viewer: locked Node packages, Vite build into package data (and Chromium for its tests).
$(WEB): $(STAMP) web/setup.sh web/package-lock.json web/index.html web/vite.config.js $(wildcard web/src/*.js)
	web/setup.sh $(abspath $(PY))

demo: setup
	$(VENV)/bin/llavataros animate $(EXAMPLE) --transcript examples/hello.txt -o $(OUT)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

format: $(STAMP)
	$(VENV)/bin/ruff format src tests benchmarks
	$(VENV)/bin/ruff check --fix src tests benchmarks

test: lint $(WEB)
	$(PY) -m pytest -n 2 --dist loadfile -q -ra

bench: $(STAMP)
	$(PY) benchmarks/frontend.py

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache web/node_modules web/public src/llavataros/assets/web
