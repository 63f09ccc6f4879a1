# Latchwork build.  Every public target bootstraps a fresh clone by itself:
#   .venv (python3 -m venv) -> pip install -e '.[dev]' -> gRPC stubs in build/gen -> buf in build/node
# Stamp files keep repeated runs cheap; `make clean` / `make distclean` start over.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test
.DELETE_ON_ERROR:

PYTHON      ?= python3
VENV        := .venv
BIN         := $(VENV)/bin
PY          := $(BIN)/python
INSTALLED   := $(VENV)/.installed

BUF_VERSION := 1.75.0
NODE_DIR    := build/node
BUF         := $(NODE_DIR)/node_modules/.bin/buf
BUF_STAMP   := $(NODE_DIR)/.buf-$(BUF_VERSION)
export BUF_CACHE_DIR := $(CURDIR)/build/buf-cache

PROTOS      := $(shell find protos -name '*.proto' 2>/dev/null | sort)
# directories too: their mtime changes when a .proto is added, removed or renamed
PROTO_DIRS  := $(shell find protos -type d 2>/dev/null | sort)
STUBS       := build/gen/.stamp
TYPECHECK   := build/typecheck/.stamp
# import name -> source dir, for the mypy link tree (generated packages are added from build/gen)
LINKS       := server:server sandbox:sandbox client:clients/python common:common
MYPY_ARGS   ?= -p latchwork.server -p latchwork.sandbox -p latchwork.client -p latchwork.common
# mypy reports link-tree paths; map them back to the real files for humans and editors
MYPY_SED    := $(foreach l,$(LINKS),-e 's|^build/typecheck/latchwork/$(word 1,$(subst :, ,$(l)))/|$(word 2,$(subst :, ,$(l)))/|') \
               -e 's|^build/typecheck/latchwork/|build/gen/latchwork/|'
MYPY        := MYPYPATH=build/typecheck $(BIN)/mypy $(MYPY_ARGS) 2>&1 | sed $(MYPY_SED)

ARGS        ?=
PYTEST_ARGS ?=

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: FORCE all bootstrap serve test lint typecheck fmt stubs bench clean distclean \
        clients clients-check clients-build

all: test

bootstrap: $(INSTALLED) $(STUBS) $(TYPECHECK) $(BUF_STAMP)

# ---------------------------------------------------------------------------------------------
# bootstrap pieces

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# setup.py computes the package mapping at install time.  The editable install finds new
# subpackages by itself, but a package root or proto package that appears (or disappears)
# later needs a reinstall: $(PKG_ROOTS_FILE) records the set and changes only when it does.
PKG_ROOTS      := $(wildcard server/__init__.py sandbox/__init__.py clients/python/__init__.py common/__init__.py \
                             protos/latchwork/*/)
PKG_ROOTS_FILE := $(VENV)/.pkg-roots

$(PKG_ROOTS_FILE): FORCE | $(PY)
	@echo '$(PKG_ROOTS)' | cmp -s - $@ || echo '$(PKG_ROOTS)' > $@

$(INSTALLED): pyproject.toml setup.py $(PKG_ROOTS_FILE) | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(STUBS): $(PROTOS) $(PROTO_DIRS) tools/gen_stubs.py $(INSTALLED)
	$(PY) tools/gen_stubs.py
	touch $@

# mypy cannot follow setuptools' editable finder, so give it a plain tree of symlinks.
$(TYPECHECK): $(STUBS) Makefile
	rm -rf build/typecheck
	mkdir -p build/typecheck/latchwork
	for link in $(LINKS); do \
	  ln -sfn "../../../$${link#*:}" "build/typecheck/latchwork/$${link%%:*}"; \
	done
	for dir in build/gen/latchwork/*/; do \
	  name=$$(basename "$$dir"); \
	  ln -sfn "../../gen/latchwork/$$name" "build/typecheck/latchwork/$$name"; \
	done
	touch $@

# buf from npm (@bufbuild/buf pulls the platform binary as an optional dependency).
$(BUF_STAMP):
	rm -rf $(NODE_DIR)
	mkdir -p $(NODE_DIR)
	npm install --prefix $(NODE_DIR) --no-audit --no-fund --loglevel=error \
	  --save-exact @bufbuild/buf@$(BUF_VERSION)
	$(BUF) --version
	touch $@

# ---------------------------------------------------------------------------------------------
# public targets

serve: bootstrap
	$(BIN)/latchwork serve $(ARGS)

stubs: $(STUBS)

typecheck: bootstrap
	$(MYPY)

# Runs every check and fails at the end if any of them failed.
lint: bootstrap
	@rc=0; \
	echo "+ ruff check"; $(BIN)/ruff check . || rc=1; \
	echo "+ ruff format --check"; $(BIN)/ruff format --check . || rc=1; \
	echo "+ buf lint"; $(BUF) lint || rc=1; \
	echo "+ mypy $(MYPY_ARGS)"; $(MYPY) || rc=1; \
	if [ $$rc -ne 0 ]; then echo "lint FAILED" >&2; fi; \
	exit $$rc

test: lint clients-check clients-build
	$(BIN)/pytest $(PYTEST_ARGS)

# ---------------------------------------------------------------------------------------------
# generated clients (clients/<lang>/: Go, TypeScript, Java; see clients/README.md)

CLIENT_LANGS := go typescript java

# Regenerates every client's code from protos/ (commit the result).
clients: $(BUF_STAMP)
	for lang in $(CLIENT_LANGS); do echo "+ clients/$$lang/generate.sh"; clients/$$lang/generate.sh; done

# Fails when the committed generated code is not what protos/ generates now.
clients-check: $(BUF_STAMP)
	tools/check_clients_fresh.sh $(CLIENT_LANGS)

# Installs each client's dependencies, compiles it, runs its own tests (the compile-level
# API test among them) and builds its example; tests/language_clients/ runs the examples.
clients-build:
	for lang in $(CLIENT_LANGS); do echo "+ clients/$$lang/build.sh"; clients/$$lang/build.sh; done

fmt: $(INSTALLED)
	$(BIN)/ruff check --fix-only .
	$(BIN)/ruff format .

bench: bootstrap
	@if [ -f bench/run_all.py ]; then \
	  echo "+ $(PY) bench/run_all.py $(ARGS)"; $(PY) bench/run_all.py $(ARGS); \
	else \
	  shopt -s nullglob; files=(bench/[!_]*.py); \
	  if [ $${#files[@]} -eq 0 ]; then echo "no benchmarks in bench/" >&2; exit 1; fi; \
	  for f in "$${files[@]}"; do echo "+ $(PY) $$f $(ARGS)"; $(PY) "$$f" $(ARGS); done; \
	fi

clean:
	rm -rf build .mypy_cache .ruff_cache .pytest_cache *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf

FORCE:

distclean: clean
	rm -rf $(VENV) .hypothesis
