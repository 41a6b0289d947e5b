# A thin front end to Meson; the real build description is meson.build.
#   make / make build    check dependencies, configure build/ once, compile
#   make run             build, then start asyncd on 127.0.0.1:8470 with state in ./var
#   make test            unit + integration tests, plain, ASan/UBSan and TSan builds, format check
#   make test-tsan       the ThreadSanitizer build's tests alone (build-tsan/)
#   make install PREFIX=/abs/dir   release build in build-install/, installed under PREFIX
#   make fuzz            libFuzzer targets built with clang in build-fuzz/, each run FUZZ_SECONDS
#                        (default 600; docs/testing.md)
#   make model           the randomized model test for MODEL_SECONDS (default 600) in build/
#                        (scripts/model.sh; docs/testing.md)
#   make bench           the benchmark (scripts/bench.sh)
#   make bench-peers     the no-op burn-down on asyncd and its peers (scripts/bench-peers.sh)
#   make cluster         a private PostgreSQL and three asyncd hosts sharing it (scripts/cluster.sh);
#                        make cluster-stop ends them
#   make deb             the Debian package asyncd_VERSION_ARCH.deb in build-deb/, checked by lintian
#                        (scripts/deb.sh; debian/)
#   make deb-test        install that package with dpkg -i, start asyncd as its unit would, check
#                        /healthz, purge it (scripts/deb-test.sh; root only)
#   make clean           remove the build directories (not ./var)
#   make format          clang-format -i every C file under src/ include/ plugins/ tests/

PREFIX ?= /usr/local
MESON ?= meson
BUILD_DIR := build
INSTALL_DIR := build-install
FORMAT_DIRS := src include plugins tests bench examples

.PHONY: all build run cluster cluster-stop test test-tsan model fuzz install bench bench-peers deb deb-test clean format

all: build

build:
	@scripts/deps.sh build
	@if [ ! -f $(BUILD_DIR)/meson-private/coredata.dat ]; then \
		echo "$(MESON) setup $(BUILD_DIR)"; \
		$(MESON) setup $(BUILD_DIR); \
	fi
	$(MESON) compile -C $(BUILD_DIR)

run: build
	@scripts/run.sh

cluster: build
	@scripts/cluster.sh start

cluster-stop:
	@scripts/cluster.sh stop

test:
	@scripts/test.sh

test-tsan:
	@scripts/test.sh tsan

model:
	@scripts/model.sh

fuzz:
	@scripts/fuzz.sh

install:
	@case "$(PREFIX)" in \
	/*) ;; \
	*) echo "make install: PREFIX must be an absolute path (got '$(PREFIX)')" >&2; exit 2 ;; \
	esac
	@scripts/deps.sh build
	@if [ -f $(INSTALL_DIR)/meson-private/coredata.dat ]; then \
		echo "$(MESON) configure $(INSTALL_DIR) --prefix=$(PREFIX)"; \
		$(MESON) configure $(INSTALL_DIR) --prefix="$(PREFIX)" --libdir=lib \
			--libexecdir=libexec -Dtests=false --buildtype=release; \
	else \
		echo "$(MESON) setup $(INSTALL_DIR) --prefix=$(PREFIX)"; \
		$(MESON) setup $(INSTALL_DIR) --prefix="$(PREFIX)" --libdir=lib \
			--libexecdir=libexec -Dtests=false --buildtype=release; \
	fi
	$(MESON) compile -C $(INSTALL_DIR)
	$(MESON) install -C $(INSTALL_DIR)

bench:
	@if [ -x scripts/bench.sh ]; then \
		scripts/bench.sh; \
	else \
		echo "make bench: the benchmark is not there yet (no scripts/bench.sh)" >&2; \
		exit 1; \
	fi

bench-peers:
	@scripts/bench-peers.sh

deb:
	@scripts/deb.sh

deb-test: deb
	@scripts/deb-test.sh

clean:
	rm -rf $(BUILD_DIR) build-asan build-tsan build-bench build-fuzz build-deb $(INSTALL_DIR)

format:
	find $(FORMAT_DIRS) -type f \( -name '*.c' -o -name '*.h' \) -print0 | \
		xargs -0 -r clang-format -i
