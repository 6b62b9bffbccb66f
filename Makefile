# linuxwasm: two commands on a fresh Debian 12 machine.
#   make run    install what is missing, build, boot in this terminal
#   make test   install what is missing, build, run every test
# Everything is cached: a second run rebuilds only what changed.

APT_PACKAGES := clang-19 lld-19 llvm-19 libclang-rt-19-dev-wasm32 ccache wabt \
                cpio bc flex bison make patch xz-utils python3-venv nodejs
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: all deps build run test clean

all: build

# Debian packages: installed only if one is missing, so that a machine
# with everything in place needs neither root nor the network.
deps: $(STAMP)
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

build: deps
	$(VENV)/bin/linuxwasm build

run: build
	$(VENV)/bin/linuxwasm run

test: build
	$(VENV)/bin/pytest

clean:
	rm -rf build
