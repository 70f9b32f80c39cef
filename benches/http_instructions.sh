#!/usr/bin/env bash
# Instructions per HTTP request of `http_server → drop` beside the hyper baseline: the one
# figure about that row that does not drift with a shared machine's speed.
#
#   benches/http_instructions.sh [--requests N] [--engine PATH] [--baselines DIR]
#
# Each server runs under `valgrind --tool=callgrind` and answers N keep-alive POSTs (the body of
# benches/connectors.sh) from one Python client, then a second time none; the difference over N
# is the cost of a request, start-up and shutdown left out. The last column is the part spent
# on the connections' task (see `connection_task`), the steadier of the two. Both run on one tokio worker thread
# (TOKIO_WORKER_THREADS=1): with two, how often the workers park and steal changes the count by
# a few thousand from run to run. Needs valgrind and python3. With --engine and --baselines (the
# directory holding a built bench_http_baseline) nothing is built.
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS=2000
ENGINE=
BASELINES=
while [ $# -gt 0 ]; do
  case "$1" in
    --requests) REQUESTS=$2; shift 2 ;;
    --engine) ENGINE=$2; shift 2 ;;
    --baselines) BASELINES=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
BIN=${CARGO_TARGET_DIR:-target}/release
if [ -z "$ENGINE" ] || [ -z "$BASELINES" ]; then
  cargo build --release --quiet --features bench-baselines --bin engine --example bench_http_baseline
fi
ENGINE=${ENGINE:-$BIN/engine}
BASELINE=${BASELINES:-$BIN/examples}/bench_http_baseline
PORT=18611
work=$(mktemp -d)
trap 'pkill -KILL -f "callgrind-out-file=$work" 2>/dev/null || true; rm -rf "$work"' EXIT

cat > "$work/http.yaml" <<YAML
http: { enabled: false }
logger: { level: WARN }
input:
  http_server:
    address: 127.0.0.1:$PORT
    path: /post
output: { drop: {} }
YAML
cat > "$work/client.py" <<'PY'
import http.client, socket, sys, time
n, port = int(sys.argv[1]), int(sys.argv[2])
for _ in range(300):  # valgrind starts slowly
    try:
        socket.create_connection(("127.0.0.1", port)).close()
        break
    except OSError:
        time.sleep(0.1)
c = http.client.HTTPConnection("127.0.0.1", port)
for _ in range(n):
    c.request("POST", "/post", '{"id":1,"prompt":"hello world"}', {"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit(f"status {r.status}")
PY

run() { # tag requests command... -> total instructions
  local out="$work/$1.$2.out" n=$2
  shift 2
  TOKIO_WORKER_THREADS=1 valgrind --tool=callgrind --callgrind-out-file="$out" "$@" > /dev/null 2>&1 &
  local pid=$!
  python3 "$work/client.py" "$n" "$PORT"
  # The engine writes its profile when it exits on SIGINT; the baseline never exits, so its
  # profile is dumped on request first (a part file of its own: the parts add up).
  callgrind_control -d "$pid" > /dev/null 2>&1 || true
  kill -INT "$pid" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  # Less the metrics recorder's build (the largest `OnceCell` initialisation), which calibrates
  # quanta's clock at start: a loop that runs for a time rather than a number of rounds, whose
  # count moves the difference by some ±200 instructions a request from run to run.
  local total calibration=0 part
  total=$(awk '/^summary:/ {t += $2} END {print t}' "$out"*)
  for part in "$out"*; do
    calibration=$(( calibration + $(callgrind_annotate --inclusive=yes "$part" 2>/dev/null |
      awk '/once_cell::imp::OnceCell<T>::initialize \[/ {gsub(",", "", $1); if ($1 + 0 > m) m = $1 + 0} END {print m + 0}') ))
  done
  echo $(( total - calibration ))
}

# The inclusive cost of the connections' task (named by its function) in the full run: the
# whole way of the requests, without start-up or the metrics thread, whose drains of the
# latency summaries every 5 s fall inside the run or not and so move the other figure.
# The requests are in the part dumped on request once the client is done (the largest).
connection_task() { # tag function
  callgrind_annotate --inclusive=yes "$(ls -S "$work/$1.$REQUESTS.out"* | head -1)" 2>/dev/null |
    awk -v f="$2" '{
      line = $0; sub(/ \[[^]]*\]$/, "", line)
      if (substr(line, length(line) - length(f) + 1) == f) { gsub(",", "", $1); if ($1 + 0 > t) t = $1 + 0 }
    } END {print t + 0}'
}

row() { # name tag function command...
  local name=$1 tag=$2 task=$3
  shift 3
  local none full
  none=$(run "$tag" 0 "$@")
  full=$(run "$tag" "$REQUESTS" "$@")
  printf '| %s | %s | %s |\n' "$name" "$(( (full - none) / REQUESTS ))" \
    "$(( $(connection_task "$tag" "$task") / REQUESTS ))"
}

echo "| server ($REQUESTS keep-alive POSTs, callgrind) | instructions per request | of which the connection's task |"
echo "|---|---:|---:|"
row "engine http_server → drop" engine "engine::http::accept::{{closure}}::{{closure}}" \
  "$ENGINE" run -c "$work/http.yaml"
row "hyper baseline" baseline "bench_http_baseline::main::{{closure}}::{{closure}}" \
  "$BASELINE" "127.0.0.1:$PORT"
