# archcalc: `make run` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# torch first, pinned: a bare `torch` requirement would make pip fetch a multi-GB CUDA build.
TORCH  := torch==2.13.0
# pytest workers (2 cores here); HYPOTHESIS_PROFILE=long for many more random examples.
PYTEST_WORKERS ?= 2

.PHONY: setup run test test-long reports zoo-reports bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m compileall -q archcalc
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/archcalc report vgg16

test: $(STAMP)
	$(PY) -m pytest -n $(PYTEST_WORKERS) -q

test-long: $(STAMP)
	HYPOTHESIS_PROFILE=long $(PY) -m pytest -n $(PYTEST_WORKERS) -q

# Everything in reports/ is generated: `make reports` remakes all of it (the benchmarks take minutes);
# `make zoo-reports` only the zoo part (reports/zoo/*.md, zoo.md, zoo.csv; a test fails when stale).
reports: zoo-reports bench

zoo-reports: $(STAMP)
	$(VENV)/bin/archcalc zoo --reports reports

# Benchmarks against fvcore, ptflops, torchinfo and thop -> reports/benchmarks.md (takes minutes).
bench: $(STAMP)
	$(PY) -m compileall -q archcalc
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
