#!/usr/bin/env bash
# `engine run` stdin → mapping → stdout beside `engine blobl` on the same program and lines: how
# much of the language's speed the pipeline keeps. The program is the peers' enrichment
# (../shared/peers/programs/b_enrich.blobl), the lines their generator's.
#
#   benches/mapping_vs_blobl.sh [--lines N] [--rounds R] [--engine PATH] [--before PATH] [--peers DIR]
#
# Each round runs `engine blobl`, then `engine run` (and the --before binary's `engine run`), on
# the same file from the page cache, output to /dev/null; the table gives the median wall and
# user CPU seconds of R rounds and the median of blobl's wall time over the pipeline's in the
# same round (≥ 0.9 is issue 9's target): pairing within a round keeps a drifting shared
# machine fair to both.
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=200000
ROUNDS=5
ENGINE=target/release/engine
BEFORE=""
PEERS=../shared/peers
while [ $# -gt 0 ]; do
  case "$1" in
    --lines) LINES=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --engine) ENGINE=$2; shift 2 ;;
    --before) BEFORE=$2; shift 2 ;;
    --peers) PEERS=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x "$ENGINE" ] || cargo build --release --quiet --bin engine
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
data=$work/lines.jsonl
python3 "$PEERS/gen_data.py" -n "$LINES" --seed 42 -o "$data" >/dev/null
program=$PEERS/programs/b_enrich.blobl
{
  printf 'http: { enabled: false }\nlogger: { level: NONE }\ninput: { stdin: {} }\n'
  printf 'pipeline:\n  processors:\n    - mapping: |\n'
  sed 's/^/        /' "$program"
  printf 'output: { stdout: {} }\n'
} > "$work/map.yaml"

# name command... -> appends "wall user" to $work/name
timed() {
  local name=$1
  shift
  # This machine's kernel reclaims idle page cache within seconds (DAMON): read the lines and
  # the binary back in first, or a run may time the disk.
  cat "$data" "$1" > /dev/null
  /usr/bin/time -f '%e %U' -o "$work/t" "$@" < "$data" > /dev/null
  cat "$work/t" >> "$work/$name"
}
for _ in $(seq "$ROUNDS"); do
  timed blobl "$ENGINE" blobl -f "$program"
  timed run "$ENGINE" run -c "$work/map.yaml"
  if [ -n "$BEFORE" ]; then timed before "$BEFORE" run -c "$work/map.yaml"; fi
done

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
col() { awk -v c="$2" '{print $c}' "$work/$1" | median; }
# The median over rounds of blobl's wall time over this one's in the same round.
ratio() { paste "$work/blobl" "$work/$1" | awk '{print $1 / $3}' | median; }
echo "| $LINES lines, median of $ROUNDS | wall s | user CPU s | blobl wall / this wall, per round |"
echo "|---|---:|---:|---:|"
row() { # label file
  printf '| %s | %s | %s | %.2f |\n' "$1" "$(col "$2" 1)" "$(col "$2" 2)" "$(ratio "$2")"
}
row "engine blobl" blobl
row "engine run stdin → mapping → stdout" run
if [ -n "$BEFORE" ]; then row "same, --before binary" before; fi
