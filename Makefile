# callbox: `make run` to try it, `make test` for everything CI checks.
# Every target is safe to repeat: packages already installed are not touched.

SHELL := /bin/bash
.DEFAULT_GOAL := run
.DELETE_ON_ERROR:

# rustup installs cargo here; a shell opened before the install may not have it yet.
export PATH := $(HOME)/.cargo/bin:$(PATH)

CARGO ?= cargo
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
BIN := $(TARGET_DIR)/release/callbox

BUILD_PKGS := libsofia-sip-ua-dev libclang-dev libsystemd-dev pkg-config build-essential
# The web panel (web/) builds with Node.js and npm: Debian's, unless a node and npm are
# on the PATH already (NodeSource's nodejs bundles npm and conflicts with Debian's npm).
WEB_PKGS := $(if $(shell command -v node && command -v npm),,nodejs npm)
BUILD_PKGS += $(WEB_PKGS)
# Real peers the tests run against: sipp, a softphone, audio tools.
TEST_PKGS := sip-tester baresip sox libsox-fmt-all espeak-ng
# tests/web.rs drives the web panel in Debian's Chromium (headless, playwright-core);
# a CJK font, or its screenshots show boxes for every Chinese character.
TEST_PKGS += chromium fonts-wqy-microhei
# Building the .deb (make deb).
DEB_PKGS := dpkg-dev debhelper fakeroot
# tests/package.rs: builds, lints and installs the .deb in a Debian 12 chroot, and
# checks the unit with systemd-analyze; systemd-nspawn boots the root to run the
# service under systemd.
TEST_PKGS += $(DEB_PKGS) lintian debootstrap systemd systemd-container

# apt needs root; use sudo only when we are not root already.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# $(call apt_install,packages): install those not yet installed, quietly when none.
# apt-get update runs only when something is missing.
define apt_install
	@missing=""; \
	for p in $(1); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q ' installed$$' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
endef

.PHONY: deps test-deps cargo web build run test bench clean deb

deps:
	$(call apt_install,$(BUILD_PKGS))

test-deps: deps
	$(call apt_install,$(TEST_PKGS))

cargo:
	@command -v $(CARGO) >/dev/null || { \
	  echo "cargo not found. Install Rust first:"; \
	  echo "  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh"; \
	  echo "then open a new shell (or: source ~/.cargo/env) and run make again."; \
	  exit 1; }

# The web panel: `npm ci` when web/node_modules is missing or older than the lock file,
# `vite build` into web/dist when a source is newer than the last build (the stamp
# web/dist/.built, which vite's build removes and make writes after it). The daemon
# embeds web/dist (src/api/web.rs); until this runs, build.rs leaves a page there
# saying to run it, so cargo alone never fails for want of it.
NPM ?= npm
WEB_SRC := $(shell find web/src web/public -type f 2>/dev/null) \
	web/index.html web/vite.config.js web/package.json web/package-lock.json

# Vite 7 needs Node.js 20.19 or newer; Debian 12's own nodejs is 18. When the node on
# the PATH is older (or missing before `deps` installs Debian's), the web build uses a
# Node 20 installed from the npm registry under $(NODE_DIR) by Debian's npm
# (`npm install node@20`: the registry's own binary package, about 10 s).
NODE_OK ?= $(shell node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null && echo yes)
NODE_DIR := $(abspath $(TARGET_DIR))/node
ifeq ($(NODE_OK),yes)
WEB_NODE :=
WEB_ENV :=
else
WEB_NODE := $(NODE_DIR)/node_modules/.bin/node
WEB_ENV := env PATH="$(NODE_DIR)/node_modules/.bin:$$PATH"
endif

$(NODE_DIR)/node_modules/.bin/node: | deps
	mkdir -p $(NODE_DIR)
	$(NPM) install --no-audit --no-fund --loglevel=error --prefix $(NODE_DIR) node@20
	@$@ --version

web/node_modules/.package-lock.json: web/package-lock.json web/package.json $(WEB_NODE) | deps
	@$(WEB_ENV) node -e 'const [a, b] = process.versions.node.split(".").map(Number); if (a < 20 || (a === 20 && b < 19)) { console.error("Vite 7 needs Node.js 20.19 or newer, not " + process.version); process.exit(1) }'
	cd web && $(WEB_ENV) $(NPM) ci --no-audit --no-fund --loglevel=error
	@touch $@

web/dist/.built: web/node_modules/.package-lock.json $(WEB_SRC)
	cd web && $(WEB_ENV) $(NPM) run --silent build
	@touch $@

web: web/dist/.built

build: deps cargo web
	$(CARGO) build --release

# Built-in defaults: SIP on 5060, HTTP on 8080, data in ./var. The daemon prints the
# demo logins.
run: build
	$(BIN) serve

# One command, failing on the first failure. Tests run in the debug profile.
test: test-deps cargo web
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) test

# The Debian package: $(DEB_OUT)/callbox_<version>_<arch>.deb. dpkg-buildpackage runs
# on a copy of debian/, sounds/ and the docs under $(DEB_OUT)/build, so the tree
# gets no build leftovers. CALLBOX_BIN=path packages that binary instead of the
# release build (tests/package.rs passes its own).
DEB_OUT ?= $(TARGET_DIR)/deb
CALLBOX_BIN ?=
DEB_STAGE = $(DEB_OUT)/build/callbox
deb: deps cargo $(if $(CALLBOX_BIN),,build)
	$(call apt_install,$(DEB_PKGS))
	rm -rf $(DEB_OUT)/build
	mkdir -p $(DEB_STAGE)/docs
	cp -r debian sounds README.md $(DEB_STAGE)/
	cp docs/configuration.md $(DEB_STAGE)/docs/
	cd $(DEB_STAGE) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	  CALLBOX_BIN=$(abspath $(or $(CALLBOX_BIN),$(BIN))) dpkg-buildpackage --no-sign -b
	rm -f $(DEB_OUT)/callbox_*.deb
	mv $(DEB_OUT)/build/callbox_*.deb $(DEB_OUT)/
	rm -rf $(DEB_OUT)/build
	@ls $(DEB_OUT)/callbox_*.deb

bench: test-deps cargo web
	$(CARGO) bench --bench capacity
	$(CARGO) bench --bench export

# Build output only; the data in ./var (database, recordings) is left alone.
clean:
	$(CARGO) clean
	rm -rf web/dist
