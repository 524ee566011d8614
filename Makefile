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
# Real peers the tests run against: sipp, a softphone, audio tools.
TEST_PKGS := sip-tester baresip sox libsox-fmt-all espeak-ng
# Building the .deb (make deb).
DEB_PKGS := dpkg-dev debhelper fakeroot
# tests/package.rs: builds, lints and installs the .deb in a Debian 12 chroot, and
# checks the unit with systemd-analyze.
TEST_PKGS += $(DEB_PKGS) lintian debootstrap systemd

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

.PHONY: deps test-deps cargo build run test bench clean deb

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

build: deps cargo
	$(CARGO) build --release

# Built-in defaults: SIP on 5060, HTTP on 8080, data in ./var. The daemon prints the
# demo logins.
run: build
	$(BIN) serve

# One command, failing on the first failure. Tests run in the debug profile.
test: test-deps cargo
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

bench: test-deps cargo
	$(CARGO) bench --bench capacity

# Build output only; the data in ./var (database, recordings) is left alone.
clean:
	$(CARGO) clean
