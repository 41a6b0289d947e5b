#!/usr/bin/env bash
# `make model`: the randomized model test (tests/integration/test-model.c) for a long run, in the
# debugoptimized build/ directory. Environment: MODEL_SECONDS (default 600), and the test's own
# ASYNCD_MODEL_SEED (default: from the time), ASYNCD_MODEL_STEPS (actions per sequence, default
# 60), ASYNCD_MODEL_VERBOSE=1. The seed is printed at the start and with any failure; the last
# lines say how many sequences and actions ran. Exit status: the test's.
set -euo pipefail

cd "$(dirname "$0")/.."

MESON=${MESON:-meson}
BUILD_DIR=${BUILD_DIR:-build}

scripts/deps.sh build
if [[ ! -f $BUILD_DIR/meson-private/coredata.dat ]]; then
	"$MESON" setup "$BUILD_DIR" -Dtests=true
fi
"$MESON" compile -C "$BUILD_DIR"

export ASYNCD_BUILD_DIR=$PWD/$BUILD_DIR
export ASYNCD_MODEL_SECONDS=${MODEL_SECONDS:-600}
exec "$BUILD_DIR/tests/integration/itest-model"
