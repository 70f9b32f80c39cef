#!/usr/bin/env bash
# Messages per second through the engine binary end to end, beside `cat` as the ceiling.
#
#   benches/pipeline_throughput.sh [--lines N] [--runs R] [--engine PATH]
#
# Rows: cat FILE > /dev/null (the ceiling for moving the bytes), engine stdin → stdout,
# engine generate → drop (N messages, interval ''), each the median of R runs (hyperfine
# when installed). Prints a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=1000000
RUNS=3
ENGINE=target/release/engine
while [ $# -gt 0 ]; do
  case "$1" in
    --lines) LINES=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --engine) ENGINE=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x "$ENGINE" ] || cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
data="$work/lines.txt"
python3 - "$LINES" > "$data" <<'PY'
import json, sys, random
random.seed(7)
for i in range(int(sys.argv[1])):
    print(json.dumps({"request_id": f"req-{i}", "model": random.choice(["llama-3-8b", "mistral-7b", "gemma-2b"]), "prompt": "x" * random.randint(20, 200)}))
PY
cat > "$work/stdin.yaml" <<'YAML'
http: { enabled: false }
input: { stdin: {} }
output: { stdout: {} }
YAML
cat > "$work/generate.yaml" <<YAML
http: { enabled: false }
input:
  generate:
    count: $LINES
    interval: ""
    batch_size: 1
    mapping: 'root = {"request_id": "req", "model": "llama-3-8b", "prompt": "hello"}'
output: { drop: {} }
YAML

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_cmd() { # command string -> median seconds
  for _ in $(seq "$RUNS"); do
    local s e
    s=$(date +%s.%N); bash -c "$1"; e=$(date +%s.%N)
    echo "$e - $s" | bc -l
  done | median
}
row() { # name seconds
  printf '| %s | %.3f | %s |\n' "$1" "$2" "$(echo "$LINES / $2" | bc | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta')"
}
echo "| pipeline ($LINES messages, median of $RUNS) | seconds | messages/s |"
echo "|---|---:|---:|"
row "cat FILE > /dev/null (ceiling)" "$(time_cmd "cat $data > /dev/null")"
row "engine stdin → stdout" "$(time_cmd "$ENGINE run -c $work/stdin.yaml < $data > /dev/null")"
row "engine generate → drop" "$(time_cmd "$ENGINE run -c $work/generate.yaml > /dev/null")"
