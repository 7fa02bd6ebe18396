#!/usr/bin/env bash
# The load run: "Hello World!" on Kestrel bare, against the same app behind the full Trac pipeline, side by side on
# loopback, driven by wrk in interleaved rounds (bare, pipeline, pipeline without recycling, bare, ...).
#
# Prints per round and as medians:
#   - the throughput ratio pipeline / bare (the pipeline with MaxRequests=500), and the same without recycling;
#   - the p99 latency ratio of the pipeline with MaxRequests=500 to the same pipeline without recycling;
#   - failed requests (socket errors and non-2xx answers) of every run.
#
# Settings (environment variables): ROUNDS (5), DURATION (10s), WARMUP (5s), THREADS (2), CONNECTIONS (32),
# ENVIRONMENTS (1000), MAX_REQUESTS (500), MAX_REQUESTS_JITTER (0), PLUGIN (content: every environment has a plugin of templates and static
# files; assembly: a plugin with an assembly, loaded into every worker; none), SPREAD (0: every request for one
# environment; 1: requests cycle through all the environments, with spread.lua).
set -euo pipefail

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-5s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
ENVIRONMENTS=${ENVIRONMENTS:-1000}
MAX_REQUESTS=${MAX_REQUESTS:-500}
MAX_REQUESTS_JITTER=${MAX_REQUESTS_JITTER:-0}
PLUGIN=${PLUGIN:-content}
SPREAD=${SPREAD:-0}
export ENVIRONMENTS

if ! command -v wrk >/dev/null 2>&1; then
  echo "wrk is not installed. On Debian or Ubuntu: sudo apt-get install wrk (elsewhere: https://github.com/wg/wrk)." >&2
  exit 2
fi

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
project="$here/Trac.Hosting.LoadApp"
work="$(mktemp -d)"
pids=()

cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

echo "Building $project in Release..."
dotnet build -c Release --nologo -v quiet "$project" >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
app="$project/bin/Release/net10.0/Trac.Hosting.LoadApp.dll"

# start NAME ARGS...: runs the app, waits until it listens, and sets the variable NAME to its address.
start() {
  local name=$1
  shift
  dotnet "$app" "$@" >"$work/$name.out" 2>&1 &
  pids+=("$!")
  local pid=$!
  for _ in $(seq 1 600); do
    if grep -qs '^listening ' "$work/$name.out"; then
      printf -v "$name" '%s' "$(sed -n 's/^listening //p' "$work/$name.out")"
      return
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$work/$name.out" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "$name did not start" >&2
  exit 1
}

start bare --mode bare
start recycling --mode trac --environments "$ENVIRONMENTS" --plugin "$PLUGIN" --max-requests "$MAX_REQUESTS" --max-requests-jitter "$MAX_REQUESTS_JITTER"
start steady --mode trac --environments "$ENVIRONMENTS" --plugin "$PLUGIN" --max-requests 0

path=/p$(printf '%04d' $((ENVIRONMENTS / 2)))/wiki/WikiStart
script=()
if [ "$SPREAD" = 1 ]; then
  script=(-s "$here/spread.lua")
fi

# load URL DURATION: runs wrk; prints "requests_per_second p99_ms failures".
load() {
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$2" --latency -H 'X-Remote-User: admin' "${script[@]}" "$1$path" >"$work/wrk.out" 2>&1
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /^ +99%/ { p99 = ms($2) }
    /Socket errors/ { gsub(",", ""); failures += $4 + $6 + $8 + $10 }
    /Non-2xx/ { failures += $NF }
    /^Requests\/sec/ { rps = $2 }
    END { printf "%.0f %.3f %d\n", rps, p99, failures }' "$work/wrk.out"
}

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, path $path$([ "$SPREAD" = 1 ] && echo " cycling through $ENVIRONMENTS environments"), plugin $PLUGIN, $ROUNDS rounds; $(nproc) cores"
echo "warming up ($WARMUP each)..."
load "$bare" "$WARMUP" >/dev/null
load "$recycling" "$WARMUP" >/dev/null
load "$steady" "$WARMUP" >/dev/null

printf '| Round | Bare (req/s) | Pipeline, MaxRequests=%s (req/s) | Ratio | Pipeline, no recycling (req/s) | Ratio | p99 bare (ms) | p99 recycling (ms) | p99 no recycling (ms) | p99 ratio | Failed |\n' "$MAX_REQUESTS"
echo '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
for round in $(seq 1 "$ROUNDS"); do
  read -r bare_rps bare_p99 bare_failed < <(load "$bare" "$DURATION")
  read -r rec_rps rec_p99 rec_failed < <(load "$recycling" "$DURATION")
  read -r steady_rps steady_p99 steady_failed < <(load "$steady" "$DURATION")
  ratio=$(awk -v a="$rec_rps" -v b="$bare_rps" 'BEGIN { printf "%.3f", a / b }')
  steady_ratio=$(awk -v a="$steady_rps" -v b="$bare_rps" 'BEGIN { printf "%.3f", a / b }')
  p99_ratio=$(awk -v a="$rec_p99" -v b="$steady_p99" 'BEGIN { printf "%.2f", a / b }')
  echo "$ratio $p99_ratio $steady_ratio" >>"$work/ratios"
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$round" "$bare_rps" "$rec_rps" "$ratio" "$steady_rps" "$steady_ratio" \
    "$bare_p99" "$rec_p99" "$steady_p99" "$p99_ratio" "$((bare_failed + rec_failed + steady_failed))"
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
echo "median throughput ratio (pipeline with MaxRequests=$MAX_REQUESTS / bare): $(cut -d' ' -f1 "$work/ratios" | median)"
echo "median throughput ratio (pipeline without recycling / bare): $(cut -d' ' -f3 "$work/ratios" | median)"
echo "median p99 ratio (MaxRequests=$MAX_REQUESTS / no recycling): $(cut -d' ' -f2 "$work/ratios" | median)"

# The apps print their own counts when they stop.
for pid in "${pids[@]}"; do
  kill "$pid"
  wait "$pid" || true
done
pids=()
echo "bare: $(sed -n 's/^stopped //p' "$work/bare.out")"
echo "pipeline with MaxRequests=$MAX_REQUESTS: $(sed -n 's/^stopped //p' "$work/recycling.out")"
echo "pipeline without recycling: $(sed -n 's/^stopped //p' "$work/steady.out")"
