# 1+X Intake — everything a fresh Debian machine needs, in two commands:
#   make demo   install, start a throw-away mail stack, run the worker on sample mail
#   make test   install, run the whole test suite
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
APT_PACKAGES := tesseract-ocr tesseract-ocr-chi-sim libtesseract-dev libleptonica-dev pkg-config g++ \
                dovecot-imapd mailutils-imap4d fonts-noto-cjk fonts-wqy-zenhei poppler-utils postgresql chromium \
                fonts-arphic-uming fonts-arphic-ukai fonts-arphic-gbsn00lp fonts-wqy-microhei fonts-lxgw-wenkai fonts-dkg-handwriting
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: test demo bench bench-throughput bench-hostile audit system venv clean

# Debian packages: installed only when one is missing, so repeated runs are quick.
system:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages: $$missing"; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi

$(VENV)/.installed: pyproject.toml
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# tesserocr from source, against Debian's libtesseract: the same Tesseract (5.3) as the
	# tesseract command. The PyPI wheel bundles 5.5, which scores lone digits lower.
	$(PY) -m pip install -q --no-binary tesserocr -e '.[dev]'
	# augraphy without its opencv-python requirement: opencv-python-headless provides cv2.
	$(PY) -m pip install -q --no-deps 'augraphy==8.2.6'
	@touch $@

venv: $(VENV)/.installed

test: system venv
	$(PY) -m pytest $(PYTEST_ARGS)

demo: system venv
	$(PY) -m scripts.demo

bench: system venv
	$(PY) -m bench.run
	$(PY) -m bench.heldout --per-category 6  # second test set, tuning and held-out halves

# Deadline-day burst on real Dovecot + SMTP + PostgreSQL (issue: scale out).
bench-throughput: system venv
	$(PY) -m bench.throughput --mails 300 --workers 1,2,4

# Hostile input (bombs, huge images, thousands of parts): decision, seconds and peak memory each.
bench-hostile: system venv
	$(PY) -m bench.hostile

# Known vulnerabilities in the installed dependencies (pip-audit; needs PyPI's JSON API or OSV).
# AUDIT_ARGS=--require also fails when the vulnerability service cannot be reached.
audit: venv
	$(PY) -m scripts.audit $(AUDIT_ARGS)

clean:
	rm -rf $(VENV) var demo-out .pytest_cache
