#!/usr/bin/env bash
# Start-up and idle memory of `engine run` with an `http_server` input (issue 9's targets:
# process start to `/ready` 200 in at most 50 ms, idle RSS at most 15 MiB).
#
#   benches/startup.sh [--engine target/release/engine] [--runs 10]
#
# Each run starts the engine, polls `/ready` on the management port every millisecond until it
# answers 200 (the time from spawn to that answer is the start-up figure), waits two seconds
# with no traffic, reads VmRSS from /proc, and stops the engine. Prints every run and the
# medians. Needs curl; all traffic stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

ENGINE=target/release/engine
RUNS=10
while [ $# -gt 0 ]; do
  case "$1" in
    --engine) ENGINE=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x "$ENGINE" ] || cargo build --release

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
api=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/idle.yaml" <<EOF
http:
  address: 127.0.0.1:$api
input:
  http_server:
    address: 127.0.0.1:$port
    path: /post
pipeline:
  processors:
    - mapping: 'root = this'
output:
  sync_response: {}
EOF

echo "| run | start → /ready 200 (ms) | idle RSS (MiB) |"
echo "|---|---|---|"
starts=()
rss=()
for i in $(seq 1 "$RUNS"); do
  t0=$(date +%s%N)
  "$ENGINE" run -c "$work/idle.yaml" > "$work/log" 2>&1 &
  pid=$!
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$api/ready" || true)" = 200 ]; do
    sleep 0.001
  done
  t1=$(date +%s%N)
  sleep 2
  kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  kill -TERM "$pid"
  wait "$pid" || true
  ms=$(( (t1 - t0) / 1000000 ))
  mib=$(awk -v k="$kb" 'BEGIN { printf "%.1f", k / 1024 }')
  starts+=("$ms")
  rss+=("$mib")
  echo "| $i | $ms | $mib |"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
echo "| median | $(median "${starts[@]}") | $(median "${rss[@]}") |"
