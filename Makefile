# Two entry points for a fresh machine: `make run` and `make test` (see README).
# Both are idempotent: the virtual environment is built once and reused.
VENV   := .venv
PYTHON := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DEV    := tests/data/dev

.PHONY: setup browser run test test-fast lint notebooks report

setup: $(STAMP)

# The browser tests (tests/server/test_web_page.py) drive Debian's chromium through Playwright,
# which cannot download a browser of its own here. Installed once, when missing (as root, or
# through sudo).
browser:
	@command -v chromium >/dev/null || { \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update && $$sudo apt-get install -y --no-install-recommends chromium; }

$(STAMP): pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	# torch first and pinned: this is the CPU build pip finds on local disk. Nothing later may
	# replace it (pip keeps an installed version that satisfies every pin).
	$(PYTHON) -m pip install --quiet torch==2.13.0
	$(PYTHON) -m pip install --quiet -e '.[test]'
	$(PYTHON) -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
	rm -f $(VENV)/.installed-*
	touch $@

# The main job on the embedded default: bundled base + its int8 self-draft, bundled audio (two
# short clips and a 90 s recording, decoded together, long form with timestamps).
run: setup
	$(PYTHON) main.py transcribe $(DEV)/dev_001.wav $(DEV)/dev_002.wav tests/data/long/long_001.flac \
		--model base --draft auto --output-format json

test: setup browser
	$(PYTHON) -m ruff check src tests main.py
	$(PYTHON) -m pytest -q -ra; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

# The quick lane for one's own loop: every test that does not decode with the real weights.
test-fast: setup
	$(PYTHON) -m pytest -q -m "not slow"; rc=$$?; if [ $$rc -eq 5 ]; then exit 0; fi; exit $$rc

lint: setup
	$(PYTHON) -m ruff check src tests main.py
	$(PYTHON) -m ruff format --check src tests main.py

# Re-execute both notebooks in place, keeping their outputs (about 3 minutes on 2 CPU cores).
notebooks: setup
	$(VENV)/bin/jupyter-execute --inplace --kernel_name=python3 --timeout=600 \
		notebooks/speculative_decoding.ipynb notebooks/cross_version.ipynb

# The technical report: regenerate report/generated/ (tables, numbers, figures) from the results
# named in report/sources.json, then build report/specwhisper-report.pdf with latexmk.
report: setup
	$(PYTHON) report/build.py
