#!/usr/bin/env bash
# hisn set-up on Debian 12 (or 13): the two commands of the README.
#
#   ./setup.sh          install the dependencies (apt-get), build build/hisn,
#                       and run the main job
#   ./setup.sh test     build and run the whole test suite
#
# Other verbs: build (dependencies + build only), fuzz [SECONDS] (build and run
# every fuzz target), bench (build and run the benchmarks).
# BUILD_DIR and MESON_ARGS may be set to build another configuration, e.g.
#   BUILD_DIR=build-asan MESON_ARGS="-Dbuildtype=debug -Db_sanitize=address,undefined" ./setup.sh test
set -euo pipefail
cd "$(dirname "$0")"

BUILD_DIR=${BUILD_DIR:-build}
MESON_ARGS=${MESON_ARGS:-}

deps() { scripts/setup-deps; }

build() {
	if [ ! -f "$BUILD_DIR/build.ninja" ]; then
		# shellcheck disable=SC2086
		meson setup "$BUILD_DIR" $MESON_ARGS
	fi
	ninja -C "$BUILD_DIR"
}

main_job() {
	local sample="$BUILD_DIR/sample/auth.log"
	mkdir -p "$BUILD_DIR/sample"
	python3 scripts/gen-sample --lines 2000 --seed 1 > "$sample"
	echo "== hisn parse $sample (first 5 of $(wc -l < "$sample") events)"
	"$BUILD_DIR/hisn" parse --stats "$sample" > "$BUILD_DIR/sample/auth.jsonl"
	head -n 5 "$BUILD_DIR/sample/auth.jsonl"
	echo "== all events: $BUILD_DIR/sample/auth.jsonl"
}

case "${1:-run}" in
run) deps; build; main_job ;;
build) deps; build ;;
test) deps; build; meson test -C "$BUILD_DIR" --print-errorlogs --num-processes 2 ;;
fuzz) deps; scripts/fuzz "${2:-60}" ;;
bench) deps; build; scripts/bench "$BUILD_DIR" ;;
*) echo "usage: ./setup.sh [run|test|build|fuzz [SECONDS]|bench]" >&2; exit 2 ;;
esac
