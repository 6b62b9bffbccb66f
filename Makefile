# linuxwasm: two commands on a fresh Debian 12 machine.
#   make run    install what is missing, build, serve the page (Linux in a browser tab)
#   make test   install what is missing, build, run every test
#   make shell  the same system in this terminal
# Everything is cached: a second run rebuilds only what changed.

# What the build runs: LLVM 19 for Wasm; gcc for the kernel's and BusyBox's
# host tools and the native BusyBox the benchmarks compare against; rsync
# for the kernel's headers_install; bzip2 for BusyBox's source tarball;
# e2fsprogs and fakeroot to make disk images owned by root (mkdisk); passt,
# the NAT behind a machine's network card (run --net, serve --net).
APT_PACKAGES := clang-19 lld-19 llvm-19 libclang-rt-19-dev-wasm32 ccache wabt \
                gcc libc6-dev rsync bzip2 cpio bc flex bison make patch xz-utils python3-venv \
                e2fsprogs fakeroot passt
# The browser tests drive Debian's Chromium; the shared folder tests
# compare our 9p server with Debian's diod.
APT_TEST_PACKAGES := chromium diod
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# make run PORT=8080 serves the page on another port.
PORT := 8000
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: all deps test-deps build run shell test clean

all: build

# Debian packages: installed only if one is missing, so that a machine
# with everything in place needs neither root nor the network.
define apt_install
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
endef

deps: $(STAMP)
	$(call apt_install,$(APT_PACKAGES))

test-deps: deps
	$(call apt_install,$(APT_TEST_PACKAGES))

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

build: deps
	$(VENV)/bin/linuxwasm build

run: build
	$(VENV)/bin/linuxwasm serve --port $(PORT)

shell: build
	$(VENV)/bin/linuxwasm run

test: build test-deps
	$(VENV)/bin/pytest

clean:
	rm -rf build
