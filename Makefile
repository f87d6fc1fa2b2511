# Set-up and common tasks. Everything installs into .venv, so a fresh machine needs only Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test bench clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)  ## the main job: first10 over all available history
	$(BIN)/backtest run configs/first10.yaml

# the HTML report's browser test drives the system Chromium (Debian packages; never a download)
# (as root, or through passwordless sudo; otherwise the browser test skips and says why)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo -n)
browser:
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || \
		($(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver) || \
		echo "warning: could not install chromium and chromium-driver; the browser test will be skipped"

test: $(STAMP) browser  ## the whole test suite
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)  ## speed benchmarks (results in bench/out/)
	$(BIN)/python bench/bench_run.py
	$(BIN)/python bench/bench_sweep.py
	$(BIN)/python bench/bench_report.py

clean:
	rm -rf $(VENV) results/*/ .pytest_cache
