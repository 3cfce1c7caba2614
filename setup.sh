#!/usr/bin/env bash
# hisn set-up on Debian 12 (or 13): the two commands of the README.
#
#   ./setup.sh          install the dependencies (apt-get), build build/hisn,
#                       and run the main job: the server, in the foreground,
#                       on the embedded default (SQLite under ./hisn-data, the
#                       project's own rules); Ctrl-C stops it cleanly
#   ./setup.sh test     build and run the whole test suite
#
# Other verbs: build (dependencies + build only), demo (parse and hunt a
# generated sample of Linux logs), fuzz [SECONDS] (build and run every fuzz
# target), bench (build and run the benchmarks).
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

server_job() {
	echo "== $BUILD_DIR/hisn server --data hisn-data  (Ctrl-C stops it; settings: $BUILD_DIR/hisn server --help)"
	exec "$BUILD_DIR/hisn" server --data hisn-data
}

demo_job() {
	local sample="$BUILD_DIR/sample/auth.log" out="$BUILD_DIR/sample/auth.jsonl"
	mkdir -p "$BUILD_DIR/sample"
	python3 scripts/gen-sample --lines 2000 --seed 1 > "$sample"
	echo "== $BUILD_DIR/hisn parse $sample > $out"
	"$BUILD_DIR/hisn" parse --stats "$sample" > "$out"
	echo "== events by event.action, and the attack story in them:"
	python3 - "$out" <<'PY'
import collections, json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
acts = collections.Counter(e.get('event', {}).get('action', '-') for e in evs)
print('  ' + ', '.join(f'{a} {n}' for a, n in acts.most_common()))
attacker = '198.51.100.77'
fails = sum(1 for e in evs if e.get('source', {}).get('ip') == attacker and e.get('event', {}).get('outcome') == 'failure')
print(f'  {fails} failed SSH logins from {attacker}, then:')
for e in evs:
    ev = e.get('event', {})
    ok = e.get('source', {}).get('ip') == attacker and ev.get('outcome') == 'success'
    ok = ok or ev.get('action') in ('user_created', 'group_created', 'user_added_to_group', 'crontab_replace')
    ok = ok or (ev.get('action') == 'sudo_command' and e.get('process', {}).get('command_line') == '/bin/bash')
    if ok:
        print(f"  {e['@timestamp']} {ev.get('action'):20} {e.get('message')}")
PY
	echo "== all events: $out"
	# Sigma: hisn's own rules (an SSH guessing-then-login correlation chain),
	# and SigmaHQ's Linux rules when ../shared/data is there.
	local rules=(--rules data/rules)
	[ -d ../shared/data/sigma/rules/rules/linux ] && rules+=(--rules ../shared/data/sigma/rules/rules/linux)
	echo "== $BUILD_DIR/hisn hunt ${rules[*]} $sample"
	"$BUILD_DIR/hisn" hunt "${rules[@]}" "$sample"
}

case "${1:-run}" in
run) deps; build; server_job ;;
demo) deps; build; demo_job ;;
build) deps; build ;;
test) deps; build; meson test -C "$BUILD_DIR" --print-errorlogs --num-processes 2 ;;
fuzz) deps; scripts/fuzz "${2:-60}" ;;
bench) deps; build; scripts/bench "$BUILD_DIR" ;;
*) echo "usage: ./setup.sh [run|test|build|demo|fuzz [SECONDS]|bench]" >&2; exit 2 ;;
esac
