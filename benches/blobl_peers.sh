#!/usr/bin/env bash
# `engine blobl` beside VRL (the peers' vrl-lines) and the serde_json round-trip ceiling on every
# program of ../shared/peers, with the runs interleaved: on a shared 2-vCPU machine the speed
# drifts by tens of percent over a minute, so running one tool's repetitions back to back (as
# bench.sh does) can hand one side a faster machine than the other.
#
#   benches/blobl_peers.sh [--lines N] [--rounds R] [--engine PATH] [--before PATH] [--peers DIR] [--bin DIR]
#
# Each round runs, per program, vrl-lines then engine (and the round-trip ceiling once), on the
# same file from the page cache, output to /dev/null; the table gives medians of R rounds, the
# engine/VRL ratio and the engine's share of the ceiling. --bin is where ../shared/peers's
# install.sh put vrl-lines and json-roundtrip (its PEERS_WORK/bin). --before adds an older engine
# binary to every round, for a before/after column measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=200000
ROUNDS=5
ENGINE=target/release/engine
PEERS=../shared/peers
BIN=""
BEFORE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --lines) LINES=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --engine) ENGINE=$2; shift 2 ;;
    --peers) PEERS=$2; shift 2 ;;
    --bin) BIN=$2; shift 2 ;;
    --before) BEFORE=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
BIN=${BIN:-$PEERS/bin}
for tool in vrl-lines json-roundtrip; do
  [ -x "$BIN/$tool" ] || { echo "no $BIN/$tool: run $PEERS/install.sh (PEERS_WORK sets where)" >&2; exit 2; }
done
[ -x "$ENGINE" ] || cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
data="$work/lines.jsonl"
python3 "$PEERS/gen_data.py" -n "$LINES" --seed 42 -o "$data"

programs="a_identity b_enrich c_reshape d_tier e_tags"
seconds() { # command... < data: wall seconds
  local t0 t1
  t0=$(date +%s.%N)
  "$@" < "$data" > /dev/null
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}
# Both sides must agree on the output before their speed means anything.
for p in $programs; do
  "$BIN/vrl-lines" "$(cat "$PEERS/programs/$p.vrl")" < <(head -n 1000 "$data") > "$work/vrl.out"
  "$ENGINE" blobl -f "$PEERS/programs/$p.blobl" < <(head -n 1000 "$data") > "$work/engine.out"
  [ "$(wc -l < "$work/vrl.out")" = 1000 ] && [ "$(wc -l < "$work/engine.out")" = 1000 ] ||
    { echo "$p: a tool did not write 1000 lines" >&2; exit 1; }
done
for r in $(seq 1 "$ROUNDS"); do
  echo "ceiling $(seconds "$BIN/json-roundtrip")" >> "$work/times"
  for p in $programs; do
    echo "vrl:$p $(seconds "$BIN/vrl-lines" "$(cat "$PEERS/programs/$p.vrl")")" >> "$work/times"
    echo "engine:$p $(seconds "$ENGINE" blobl -f "$PEERS/programs/$p.blobl")" >> "$work/times"
    if [ -n "$BEFORE" ]; then
      echo "before:$p $(seconds "$BEFORE" blobl -f "$PEERS/programs/$p.blobl")" >> "$work/times"
    fi
  done
done
median() { grep "^$1 " "$work/times" | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ceiling=$(median ceiling)
echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs; $LINES lines; median of $ROUNDS interleaved rounds"
echo
echo "| program | VRL s | engine s | engine/VRL (speed) | engine lines/s | of the serde_json ceiling | before s | before/VRL |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for p in $programs; do
  v=$(median "vrl:$p")
  e=$(median "engine:$p")
  b=$( [ -n "$BEFORE" ] && median "before:$p" || echo 0)
  awk -v p="$p" -v v="$v" -v e="$e" -v b="$b" -v c="$ceiling" -v n="$LINES" 'BEGIN {
    printf "| %s | %.3f | %.3f | %.2f | %d | %.2f |", p, v, e, v / e, n / e, c / e
    if (b > 0) printf " %.3f | %.2f |\n", b, v / b; else printf " | |\n" }'
done
awk -v c="$ceiling" -v n="$LINES" 'BEGIN { printf "| ceiling (json-roundtrip) | | %.3f | | %d | 1 | | |\n", c, n / c }'
