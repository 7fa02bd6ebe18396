#!/usr/bin/env bash
# Real Trac, four projects (p1..p4), served four ways on this machine and driven by wrk on loopback:
#
#   limit      direct.py: two processes calling trac.web.main.dispatch_request in a loop, no server at all
#              (and one process, sequentially, for the per-call p50 the FastCGI hop is judged against);
#   mod_wsgi   Apache 2 + mod_wsgi, daemon mode as Trac's mod_wsgi guide sets it up for several projects
#              (WSGIDaemonProcess trac threads=10 maximum-requests=50, TRAC_ENV_PARENT_DIR);
#   hosting    samples/TracFastCgi (Trac.Hosting, Trac as FastCGI worker processes) with
#              Trac:Workers:MaxRequests=500 and with MaxRequests=0 (no recycling), plus a 1-connection run;
#   cold start the sample launched afresh, its four projects' first pages with and without Trac:Workers:Preload.
#
# Every server run: a warm-up of WARMUP, then the measured wrk run of DURATION
# (wrk -t$THREADS -c$CONNECTIONS --latency -s projects.lua, the path rotating over the four projects).
# Prints a summary table and the ratios with their targets at the end.
#
# Settings (environment variables): DURATION (60s), WARMUP (10s), CONNECTIONS (16), THREADS (2),
# SKIP_LIMIT (0), SKIP_MODWSGI (0), SKIP_HOSTING (0), SKIP_LOAD (0: the wrk runs of Trac.Hosting), SKIP_COLDSTART (0),
# COLDSTART_RUNS (3), TRAC_PYTHON (python3), MAX_REQUESTS (500, the recycling run),
# MODWSGI_OPTIONS (extra WSGIDaemonProcess options, e.g. "graceful-timeout=0"), APACHE_USER (www-data, when root),
# HOSTING_ARGS (extra command-line arguments for the sample), WRK_TIMEOUT (wrk's own default: 2s; a request
# slower than that is a socket error "timeout", counted as failed), KEEP_LOGS (0; 1 copies the logs to ./trac-bench-logs).
set -euo pipefail

DURATION=${DURATION:-60s}
WARMUP=${WARMUP:-10s}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
SKIP_LIMIT=${SKIP_LIMIT:-0}
SKIP_MODWSGI=${SKIP_MODWSGI:-0}
SKIP_HOSTING=${SKIP_HOSTING:-0}
SKIP_LOAD=${SKIP_LOAD:-0}
SKIP_COLDSTART=${SKIP_COLDSTART:-0}
COLDSTART_RUNS=${COLDSTART_RUNS:-3}
MAX_REQUESTS=${MAX_REQUESTS:-500}
MODWSGI_OPTIONS=${MODWSGI_OPTIONS:-}
APACHE_USER=${APACHE_USER:-www-data}
HOSTING_ARGS=${HOSTING_ARGS:-}
KEEP_LOGS=${KEEP_LOGS:-0}
PY=${TRAC_PYTHON:-python3}
PROJECTS=(p1 p2 p3 p4)

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here"
while [ ! -e "$root/Trac.Hosting.sln" ]; do
  if [ "$root" = / ]; then
    echo "Trac.Hosting.sln not found above $here" >&2
    exit 2
  fi
  root="$(dirname "$root")"
done

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

# seconds 10s|2m|1h|15 -> whole seconds (wrk's duration syntax, for direct.py and the sleeps).
seconds() {
  case "$1" in
    *s) echo "${1%s}" ;;
    *m) echo $((${1%m} * 60)) ;;
    *h) echo $((${1%h} * 3600)) ;;
    *) echo "$1" ;;
  esac
}

for tool in wrk curl "$PY"; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is not installed (Debian: apt-get install wrk curl python3-jinja2 python3-setuptools)" >&2; exit 2; }
done

# Trac: used as is when importable, otherwise from ../shared/trac next to the repository.
trac_src=""
if "$PY" -c 'import trac.web.main' >/dev/null 2>&1; then
  trac_src="$("$PY" -c 'import os, trac; print(os.path.dirname(os.path.dirname(os.path.abspath(trac.__file__))))')"
  trac_on_path=1
else
  if [ ! -d "$root/../shared/trac/trac" ]; then
    echo "Trac is not importable by $PY and $root/../shared/trac does not exist" >&2
    exit 2
  fi
  trac_src="$(cd "$root/../shared/trac" && pwd)"
  export PYTHONPATH="$trac_src${PYTHONPATH:+:$PYTHONPATH}"
  trac_on_path=0
  "$PY" -c 'import trac.web.main' || { echo "Trac from $trac_src does not import (jinja2 and setuptools are needed)" >&2; exit 2; }
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/trac-bench.XXXXXX")"
chmod 755 "$work" # Apache's daemon runs as another user when started by root
pids=()          # every background process started here (servers, direct.py, wrk)

# descendants PID: the PIDs of the live processes below PID, deepest last.
descendants() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}

# stop_tree PID: SIGTERM to PID (servers stop their own children on it), then whatever of its tree is left after a
# grace period gets SIGKILL.
stop_tree() {
  local pid=$1 tree left i
  tree="$pid $(descendants "$pid" | tr '\n' ' ')"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do
    left=""
    for p in $tree; do
      if kill -0 "$p" 2>/dev/null && [ "$(ps -o stat= -p "$p" 2>/dev/null | cut -c1)" != Z ]; then left="$left $p"; fi
    done
    [ -z "$left" ] && break
    sleep 0.1
  done
  for p in $left; do kill -KILL "$p" 2>/dev/null || true; done
  wait "$pid" 2>/dev/null || true
}

server_log="" # the log of the server running now, shown when the script fails

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ "$status" != 0 ] && [ -n "$server_log" ] && [ -e "$server_log" ]; then
    echo "--- the last lines of $server_log:" >&2
    tail -n 40 "$server_log" >&2
  fi
  local pid
  for pid in "${pids[@]}"; do
    stop_tree "$pid"
  done
  if [ "$KEEP_LOGS" = 1 ]; then
    mkdir -p trac-bench-logs && cp "$work"/*.out "$work"/*.log trac-bench-logs/ 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

forget() { # forget PID: drop a stopped process from the list
  local keep=() p
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  pids=("${keep[@]+"${keep[@]}"}")
}

# foreground CMD...: runs CMD in the background and waits for it, so that the traps can stop it.
foreground() {
  "$@" &
  local pid=$!
  pids+=("$pid")
  local status=0
  wait "$pid" || status=$?
  forget "$pid"
  return "$status"
}

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_ready URL PID SECONDS: until URL answers 200 (false when PID died or the time ran out).
wait_ready() {
  local url=$1 pid=$2 limit=$3 code i
  for i in $(seq 1 $((limit * 5))); do
    code=$(curl -s -o /dev/null -m 30 -w '%{http_code}' "$url" || true)
    [ "$code" = 200 ] && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

# prime URL: one request for every project's page, one after the other, so that the warm-up does not begin with
# every project's first request (environment opened, worker started) at once.
prime() {
  local p
  for p in "${PROJECTS[@]}"; do
    curl -s -o /dev/null -m 60 "$1/$p/wiki/WikiStart" || true
  done
}

# cpu_ticks PID: utime+stime+cutime+cstime of PID plus the same of every live process below it, in clock ticks.
cpu_ticks() {
  local total=0 p stat f
  for p in "$1" $(descendants "$1"); do
    stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    read -r -a f <<<"${stat##*) }" # f[0] is the state: utime, stime, cutime, cstime are f[11..14]
    total=$((total + f[11] + f[12] + f[13] + f[14]))
  done
  echo "$total"
}
clk_tck=$(getconf CLK_TCK)

# The machine may be shared: what else ran during a measured window is the CPU the whole machine used (/proc/stat)
# less the server's tree and this script's children (wrk, direct.py), in cores.
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
reaped_ticks() { # the CPU of this shell's ended children; `times` must run in this shell, not in a subshell
  times >"$work/times"
  awk -v hz="$clk_tck" 'END { s = 0; for (i = 1; i <= 2; i++) { split($i, m, "m"); s += m[1] * 60 + m[2] }; printf "%d", s * hz }' "$work/times"
}
window_start() {
  w_busy=$(busy_ticks)
  reaped_ticks >"$work/reaped"
  w_reaped=$(cat "$work/reaped")
  w_start=$(date +%s.%N)
}
window_end() { # window_end NAME SERVER_TICKS: sets OTHER[NAME]
  local busy reaped now
  busy=$(busy_ticks)
  reaped_ticks >"$work/reaped"
  reaped=$(cat "$work/reaped")
  now=$(date +%s.%N)
  OTHER[$1]=$(awk -v b="$((busy - w_busy))" -v r="$((reaped - w_reaped))" -v s="$2" -v hz="$clk_tck" -v t="$(awk -v a="$w_start" -v b="$now" 'BEGIN { print b - a }')" \
    'BEGIN { o = (b - r - s) / hz / t; printf "%.2f", (o < 0 ? 0 : o) }')
}

# Results, by run name.
declare -A RPS P50 P99 FAILED RECYCLES CPU REQS LABEL OTHER COLD
order=()

# wrk_run NAME URL THREADS CONNECTIONS DURATION: runs wrk and records requests/s, p50, p99, failures, requests.
wrk_run() {
  local name=$1 url=$2 t=$3 c=$4 d=$5 out="$work/$1.wrk.out"
  foreground wrk -t"$t" -c"$c" -d"$d" ${WRK_TIMEOUT:+--timeout "$WRK_TIMEOUT"} --latency -s "$here/projects.lua" "$url" >"$out" 2>&1 \
    || { cat "$out" >&2; return 1; }
  read -r RPS[$name] P50[$name] P99[$name] FAILED[$name] REQS[$name] < <(awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /m$/) return v * 60000; if (v ~ /s$/) return v * 1000; return v }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /requests in/ { requests = $1 }
    /Socket errors/ { gsub(",", ""); failed += $4 + $6 + $8 + $10 }
    /^Non-2xx responses:/ { failed += $3 }
    /^Requests\/sec/ { rps = $2 }
    END { printf "%.1f %.2f %.2f %d %d\n", rps, p50, p99, failed, requests }' "$out")
  log "$name: ${RPS[$name]} requests/s, p50 ${P50[$name]} ms, p99 ${P99[$name]} ms, ${FAILED[$name]} failed ($(grep -E '^Non-2xx|Socket errors' "$out" | tr '\n' ' '))"
}

envs="$work/envs"
mkdir -p "$envs"
log "creating ${#PROJECTS[@]} Trac environments in $envs (Trac from $trac_src)"
for p in "${PROJECTS[@]}"; do
  "$PY" -m trac.admin.console "$envs/$p" initenv "$p" sqlite:db/trac.db >"$work/initenv-$p.log" 2>&1 \
    || { cat "$work/initenv-$p.log" >&2; exit 1; }
done
project_list="$(IFS=,; echo "${PROJECTS[*]}")"
export WRK_PROJECTS="$project_list" # read by projects.lua

# --- limit: dispatch_request called directly -----------------------------------------------------------------------
direct_run() { # direct_run NAME PROCESSES
  local out="$work/$1.out"
  log "$1: direct.py, $2 process(es), warm-up $WARMUP, measuring $DURATION"
  window_start
  foreground "$PY" "$here/direct.py" --parent "$envs" --projects "$project_list" --processes "$2" \
    --duration "$(seconds "$DURATION")" --warmup "$(seconds "$WARMUP")" >"$out" 2>&1 || { cat "$out" >&2; return 1; }
  window_end "$1" 0
  grep -v '^RESULT' "$out" >&2
  local line
  line=$(grep '^RESULT' "$out")
  RPS[$1]=$(printf '%.1f' "$(sed -n 's/.* rps=\([^ ]*\).*/\1/p' <<<"$line")")
  P50[$1]=$(printf '%.2f' "$(sed -n 's/.* p50_ms=\([^ ]*\).*/\1/p' <<<"$line")")
  P99[$1]=$(printf '%.2f' "$(sed -n 's/.* p99_ms=\([^ ]*\).*/\1/p' <<<"$line")")
  FAILED[$1]=$(sed -n 's/.* failed=\([^ ]*\).*/\1/p' <<<"$line")
  REQS[$1]=$(sed -n 's/.* requests=\([^ ]*\).*/\1/p' <<<"$line")
  RECYCLES[$1]=0
}

if [ "$SKIP_LIMIT" != 1 ]; then
  direct_run limit 2
  LABEL[limit]="limit: dispatch_request, 2 processes"
  direct_run direct1 1
  LABEL[direct1]="dispatch_request, 1 process, sequential"
  order+=(limit direct1)
fi

# --- mod_wsgi -------------------------------------------------------------------------------------------------------
if [ "$SKIP_MODWSGI" != 1 ]; then
  apache=$(command -v apache2 || echo /usr/sbin/apache2)
  modules=${APACHE_MODULES:-/usr/lib/apache2/modules}
  if [ ! -x "$apache" ] || [ ! -e "$modules/mod_wsgi.so" ]; then
    echo "apache2 or mod_wsgi is missing (Debian: apt-get install apache2 libapache2-mod-wsgi-py3); SKIP_MODWSGI=1 skips this run" >&2
    exit 2
  fi
  a="$work/apache"
  mkdir -p "$a/run" "$a/eggs"
  port=$(free_port)
  user_lines=""
  wsgi_path="$trac_src"
  if [ "$(id -u)" = 0 ]; then
    # Apache does not run its children as root: the environments (SQLite databases) must be theirs.
    group=$(id -gn "$APACHE_USER")
    user_lines="User $APACHE_USER"$'\n'"Group $group"
    chown -R "$APACHE_USER:$group" "$envs" "$a/eggs"
    if ! runuser -u "$APACHE_USER" -- test -r "$trac_src/trac/web/main.py" 2>/dev/null; then
      cp -r "$trac_src" "$work/trac-src" && chmod -R a+rX "$work/trac-src"
      wsgi_path="$work/trac-src"
    fi
  fi
  cat >"$work/trac.wsgi" <<EOF
import os

os.environ['TRAC_ENV_PARENT_DIR'] = '$envs'
os.environ['PYTHON_EGG_CACHE'] = '$a/eggs'

import trac.web.main

application = trac.web.main.dispatch_request
EOF
  cat >"$a/httpd.conf" <<EOF
LoadModule mpm_event_module $modules/mod_mpm_event.so
LoadModule authz_core_module $modules/mod_authz_core.so
LoadModule wsgi_module $modules/mod_wsgi.so

ServerRoot $a
ServerName 127.0.0.1
Listen 127.0.0.1:$port
$user_lines
PidFile $a/run/httpd.pid
DefaultRuntimeDir $a/run
ErrorLog $a/error.log
LogLevel warn wsgi:info

WSGISocketPrefix $a/run/wsgi
WSGIDaemonProcess trac processes=1 threads=10 maximum-requests=50 python-path=$wsgi_path $MODWSGI_OPTIONS
WSGIProcessGroup trac
WSGIApplicationGroup %{GLOBAL}
WSGIScriptAlias / $work/trac.wsgi

<Directory $work>
    Require all granted
</Directory>
EOF
  "$apache" -f "$a/httpd.conf" -t >"$work/apache-configtest.log" 2>&1 || { cat "$work/apache-configtest.log" >&2; exit 1; }
  log "mod_wsgi: apache on 127.0.0.1:$port"
  "$apache" -f "$a/httpd.conf" -DFOREGROUND >"$work/apache.out" 2>&1 &
  apache_pid=$!
  pids+=("$apache_pid")
  server_log="$a/error.log"
  url="http://127.0.0.1:$port"
  wait_ready "$url/p1/wiki/WikiStart" "$apache_pid" 120 || { echo "apache did not answer 200:" >&2; cat "$work/apache.out" "$a/error.log" >&2; exit 1; }
  prime "$url"
  wrk_run modwsgi-warmup "$url" "$THREADS" "$CONNECTIONS" "$WARMUP"
  start_offset=$(stat -c %s "$a/error.log")
  cpu0=$(cpu_ticks "$apache_pid")
  window_start
  wrk_run modwsgi "$url" "$THREADS" "$CONNECTIONS" "$DURATION"
  cpu1=$(cpu_ticks "$apache_pid")
  window_end modwsgi $((cpu1 - cpu0))
  CPU[modwsgi]=$(awk -v a="$cpu0" -v b="$cpu1" -v t="$clk_tck" -v n="${REQS[modwsgi]}" 'BEGIN { printf "%.3f", (n > 0 ? (b - a) / t / n * 1000 : 0) }')
  window=$(tail -c +$((start_offset + 1)) "$a/error.log")
  RECYCLES[modwsgi]=$(grep -c "Starting process 'trac'" <<<"$window" || true)
  past_limit=$(grep -c "Maximum requests reached" <<<"$window" || true)
  daemon_pids=$(grep -o "mod_wsgi (pid=[0-9]*): Starting process 'trac'" <<<"$window" | grep -o '[0-9]*' | tr '\n' ' ' || true)
  log "modwsgi: ${RECYCLES[modwsgi]} daemon restarts in the window (new daemons: ${daemon_pids:-none}); $past_limit requests ended after the daemon had reached maximum-requests"
  LABEL[modwsgi]="mod_wsgi, maximum-requests=50${MODWSGI_OPTIONS:+ $MODWSGI_OPTIONS}"
  order+=(modwsgi)
  stop_tree "$apache_pid"
  forget "$apache_pid"
  server_log=""
  if [ "$(id -u)" = 0 ]; then
    chown -R "$(id -u):$(id -g)" "$envs" # back to the user of the other runs
  fi
  if [ "$KEEP_LOGS" = 1 ]; then
    cp "$a/error.log" "$work/apache-error.log"
  fi
fi

# --- Trac.Hosting: samples/TracFastCgi ------------------------------------------------------------------------------
sample="$root/samples/TracFastCgi"
if [ "$SKIP_HOSTING" != 1 ] && [ ! -e "$sample/TracFastCgi.csproj" ]; then
  log "samples/TracFastCgi does not exist (yet): the Trac.Hosting runs are skipped"
  SKIP_HOSTING=1
fi
if [ "$SKIP_HOSTING" != 1 ]; then
  log "building samples/TracFastCgi (Release)"
  # (once more after a failure: another build of the repository at the same moment can hold its files)
  dotnet build -c Release --nologo -v quiet "$sample" >"$work/build.log" 2>&1 \
    || { sleep 10; dotnet build -c Release --nologo -v quiet "$sample" >"$work/build.log" 2>&1; } \
    || { cat "$work/build.log" >&2; exit 1; }
  [ -e "$sample/bin/Release/net10.0/TracFastCgi.dll" ] || { echo "$sample/bin/Release/net10.0/TracFastCgi.dll was not built" >&2; exit 1; }
  # Run a copy: a build of the repository during the runs (Release output overwritten) does not reach the host.
  cp -r "$sample/bin/Release/net10.0" "$work/app"
  dll="$work/app/TracFastCgi.dll"

  # host_start NAME MAXREQUESTS: starts the sample, sets host_pid and host_url, waits until it serves p1.
  host_start() {
    local port python_args=()
    port=$(free_port)
    if [ "$trac_on_path" = 0 ]; then
      python_args=("--Trac:Python:PythonPath:0=$trac_src")
    fi
    # shellcheck disable=SC2086 # HOSTING_ARGS is a list of arguments
    dotnet "$dll" --urls "http://127.0.0.1:$port" \
      --Trac:Environment:ParentDirectory="$envs" \
      --Trac:Workers:MaxRequests="$2" \
      --Trac:Python:Python="$PY" \
      "${python_args[@]}" \
      --Logging:LogLevel:Default=Warning \
      --Logging:LogLevel:Trac.Hosting.Workers=Information \
      $HOSTING_ARGS >"$work/$1.out" 2>&1 &
    host_pid=$!
    host_log="$work/$1.out"
    server_log="$host_log"
    pids+=("$host_pid")
    host_url="http://127.0.0.1:$port"
    log "$1: TracFastCgi (MaxRequests=$2) on $host_url, pid $host_pid"
    wait_ready "$host_url/p1/wiki/WikiStart" "$host_pid" 120 || { echo "TracFastCgi did not answer 200:" >&2; cat "$host_log" >&2; exit 1; }
    prime "$host_url"
  }

  # host_measure NAME THREADS CONNECTIONS: the measured run with the CPU time and the recycles of its window.
  host_measure() {
    local name=$1 lines0 cpu0 cpu1 window
    lines0=$(wc -l <"$host_log")
    cpu0=$(cpu_ticks "$host_pid")
    window_start
    wrk_run "$name" "$host_url" "$2" "$3" "$DURATION"
    cpu1=$(cpu_ticks "$host_pid")
    window_end "$name" $((cpu1 - cpu0))
    kill -0 "$host_pid" 2>/dev/null || { echo "TracFastCgi (pid $host_pid) exited during the run" >&2; exit 1; }
    sleep 1 # the console logger writes from a queue
    window=$(tail -n +$((lines0 + 1)) "$host_log")
    RECYCLES[$name]=$(grep -c "Recycling worker" <<<"$window" || true)
    CPU[$name]=$(awk -v a="$cpu0" -v b="$cpu1" -v t="$clk_tck" -v n="${REQS[$name]}" 'BEGIN { printf "%.3f", (n > 0 ? (b - a) / t / n * 1000 : 0) }')
    log "$name: ${RECYCLES[$name]} worker recycles in the window ($(grep -c 'Started worker' <<<"$window" || true) workers started), CPU $(awk -v a="$cpu0" -v b="$cpu1" -v t="$clk_tck" 'BEGIN { printf "%.1f", (b - a) / t }') s = ${CPU[$name]} s per 1000 requests"
  }

  if [ "$SKIP_LOAD" != 1 ]; then
    host_start recycling "$MAX_REQUESTS"
    wrk_run recycling-warmup "$host_url" "$THREADS" "$CONNECTIONS" "$WARMUP"
    host_measure recycling "$THREADS" "$CONNECTIONS"
    LABEL[recycling]="Trac.Hosting, MaxRequests=$MAX_REQUESTS"
    stop_tree "$host_pid"
    forget "$host_pid"
    server_log=""

    host_start steady 0
    wrk_run steady-warmup "$host_url" "$THREADS" "$CONNECTIONS" "$WARMUP"
    host_measure steady "$THREADS" "$CONNECTIONS"
    LABEL[steady]="Trac.Hosting, no recycling"
    wrk_run single-warmup "$host_url" 1 1 "$WARMUP"
    host_measure single 1 1
    LABEL[single]="Trac.Hosting, no recycling, 1 connection"
    stop_tree "$host_pid"
    forget "$host_pid"
    server_log=""
    order+=(recycling steady single)
  fi

  # --- cold start: a fresh host, its four projects' first pages, with and without Trac:Workers:Preload -------------
  # cold_run MODE: MODE is cold (the sample without Preload: each project's first request starts its Trac process),
  # at-once (Preload, the requests sent as soon as the host answers) or healthy (Preload, the requests sent once
  # /healthz says Healthy). Appends "ready_s healthy_s first_max_s all_s" to $work/coldstart-MODE: seconds from launch
  # until the host answered /healthz at all, until it said Healthy, the slowest of the four first pages (from when
  # they were sent), and from launch until all four had answered.
  cold_run() {
    local mode=$1 app="$work/app" port t0 t_ready t_healthy t_sent t_all p body python_args=()
    if [ "$mode" = cold ]; then
      app="$work/app-nopreload"
    fi
    if [ "$trac_on_path" = 0 ]; then
      python_args=("--Trac:Python:PythonPath:0=$trac_src")
    fi
    port=$(free_port)
    t0=$(date +%s.%N)
    dotnet "$app/TracFastCgi.dll" --urls "http://127.0.0.1:$port" --Trac:Environment:ParentDirectory="$envs" \
      --Trac:Python:Python="$PY" "${python_args[@]}" --Logging:LogLevel:Default=Warning >"$work/cold-$mode.out" 2>&1 &
    host_pid=$!
    pids+=("$host_pid")
    server_log="$work/cold-$mode.out"
    until body=$(curl -s -m 30 "http://127.0.0.1:$port/healthz"); do
      kill -0 "$host_pid" 2>/dev/null || { echo "TracFastCgi exited:" >&2; cat "$server_log" >&2; exit 1; }
      sleep 0.02
    done
    t_ready=$(date +%s.%N)
    t_healthy=""
    if [ "$mode" = healthy ]; then
      local polls=0
      while [ "$body" != Healthy ]; do
        kill -0 "$host_pid" 2>/dev/null || { echo "TracFastCgi exited before it was healthy:" >&2; cat "$server_log" >&2; exit 1; }
        polls=$((polls + 1))
        [ "$polls" -lt 6000 ] || { echo "TracFastCgi was not healthy within 2 minutes: $body" >&2; exit 1; }
        sleep 0.02
        body=$(curl -s -m 30 "http://127.0.0.1:$port/healthz" || true)
      done
      t_healthy=$(date +%s.%N)
    elif [ "$mode" = cold ] && [ "$body" = Healthy ]; then
      t_healthy=$t_ready
    fi
    t_sent=$(date +%s.%N)
    for p in "${PROJECTS[@]}"; do
      curl -s -o /dev/null -m 60 -w '%{http_code} %{time_total}\n' "http://127.0.0.1:$port/$p/wiki/WikiStart" >"$work/cold-$mode-$p" &
    done
    wait_curls
    t_all=$(date +%s.%N)
    for p in "${PROJECTS[@]}"; do
      [ "$(cut -d' ' -f1 <"$work/cold-$mode-$p")" = 200 ] || { echo "cold start ($mode): /$p answered $(cat "$work/cold-$mode-$p")" >&2; exit 1; }
    done
    awk -v t0="$t0" -v r="$t_ready" -v h="$t_healthy" -v s="$t_sent" -v a="$t_all" -v first="$(cat "$work"/cold-"$mode"-p* | sort -k2 -n | tail -1 | cut -d' ' -f2)" \
      'BEGIN { printf "%.3f %s %.3f %.3f\n", r - t0, (h == "" ? "-" : sprintf("%.3f", h - t0)), first, a - t0 }' >>"$work/coldstart-$mode"
    stop_tree "$host_pid"
    forget "$host_pid"
    server_log=""
  }
  wait_curls() { # waits for the background curls of cold_run (not for the host)
    local job
    for job in $(jobs -p); do
      [ "$job" = "$host_pid" ] || in_pids "$job" || wait "$job" || true
    done
  }
  in_pids() { local p; for p in "${pids[@]}"; do [ "$p" = "$1" ] && return 0; done; return 1; }

  if [ "$SKIP_COLDSTART" != 1 ]; then
    cp -r "$work/app" "$work/app-nopreload"
    sed -i '/"Preload"/d' "$work/app-nopreload/appsettings.json"
    log "cold start: $COLDSTART_RUNS launches each without Preload, with Preload (requests at once), with Preload (requests once healthy)"
    for i in $(seq 1 "$COLDSTART_RUNS"); do
      for mode in cold at-once healthy; do
        cold_run "$mode"
      done
    done
    for mode in cold at-once healthy; do
      COLD[$mode]=$(awk '{ r += $1; if ($2 != "-") { h += $2; nh++ }; f += $3; a += $4; n++ }
        END { printf "%.2f %s %.2f %.2f", r / n, (nh ? sprintf("%.2f", h / nh) : "-"), f / n, a / n }' "$work/coldstart-$mode")
      log "cold start ($mode): $(cat "$work/coldstart-$mode" | tr '\n' ';')"
    done
  fi
fi

# --- summary --------------------------------------------------------------------------------------------------------
echo
echo "Trac ${PROJECTS[*]}, GET /pN/wiki/WikiStart; wrk -t$THREADS -c$CONNECTIONS -d$DURATION (warm-up $WARMUP); $(nproc) cores"
printf '%-44s %10s %9s %9s %7s %9s %14s %12s\n' "configuration" "requests/s" "p50 ms" "p99 ms" "failed" "recycles" "CPU s/1000 req" "other CPU"
for name in "${order[@]}"; do
  printf '%-44s %10s %9s %9s %7s %9s %14s %12s\n' "${LABEL[$name]}" "${RPS[$name]}" "${P50[$name]}" "${P99[$name]}" \
    "${FAILED[$name]}" "${RECYCLES[$name]:--}" "${CPU[$name]:--}" "${OTHER[$name]:--}"
done
echo "(direct rows: latency per dispatch_request call; other rows: per HTTP request. other CPU: cores used during the"
echo " window by processes that are not part of the run - another job on this machine makes the run's numbers unreliable)"
echo

if [ -n "${COLD[cold]:-}" ]; then
  echo "Cold start, ${#PROJECTS[@]} projects requested at once, mean of $COLDSTART_RUNS launches (seconds from launch; first page: from when it was sent)"
  printf '%-44s %14s %10s %16s %14s\n' "configuration" "host answers" "healthy" "slowest 1st page" "all 4 served"
  for mode in cold at-once healthy; do
    read -r c_ready c_healthy c_first c_all <<<"${COLD[$mode]}"
    case $mode in
      cold) c_label="no Preload" ;;
      at-once) c_label="Preload *, requests when the host answers" ;;
      healthy) c_label="Preload *, requests once /healthz is Healthy" ;;
    esac
    printf '%-44s %14s %10s %16s %14s\n' "$c_label" "$c_ready" "$c_healthy" "$c_first" "$c_all"
  done
  echo
fi

# ratio LABEL A B TARGET: prints A/B against the target (">=0.92", "<=1.3").
ratio() {
  local label=$1 a=$2 b=$3 target=$4
  if [ -z "$a" ] || [ -z "$b" ]; then return; fi
  awk -v l="$label" -v a="$a" -v b="$b" -v t="$target" 'BEGIN {
    r = b > 0 ? a / b : 0; op = substr(t, 1, 2); v = substr(t, 3) + 0
    ok = (op == ">=") ? r >= v : r <= v
    printf "%-58s %8.3f   (target %s: %s)\n", l, r, t, ok ? "met" : "NOT met" }'
}
ratio "throughput recycling / no recycling" "${RPS[recycling]:-}" "${RPS[steady]:-}" ">=0.92"
ratio "p99 recycling / no recycling" "${P99[recycling]:-}" "${P99[steady]:-}" "<=1.3"
ratio "throughput Trac.Hosting no recycling / limit" "${RPS[steady]:-}" "${RPS[limit]:-}" ">=0.9"
ratio "throughput Trac.Hosting MaxRequests=$MAX_REQUESTS / limit" "${RPS[recycling]:-}" "${RPS[limit]:-}" ">=0.9"
if [ -n "${RPS[modwsgi]:-}" ] && [ -n "${RPS[recycling]:-}" ]; then
  awk -v a="${RPS[recycling]}" -v b="${RPS[steady]}" -v m="${RPS[modwsgi]}" -v pa="${P99[recycling]}" -v pm="${P99[modwsgi]}" 'BEGIN {
    printf "%-58s %8.3f\n", "throughput Trac.Hosting MaxRequests='"$MAX_REQUESTS"' / mod_wsgi", a / m
    printf "%-58s %8.3f\n", "throughput Trac.Hosting no recycling / mod_wsgi", b / m
    printf "%-58s %8.3f\n", "p99 Trac.Hosting MaxRequests='"$MAX_REQUESTS"' / mod_wsgi", pa / pm }'
fi
if [ -n "${P50[single]:-}" ] && [ -n "${P50[direct1]:-}" ]; then
  awk -v h="${P50[single]}" -v d="${P50[direct1]}" 'BEGIN {
    x = h - d; printf "%-58s %8.2f ms (%.2f - %.2f; target < 1 ms: %s)\n", "p50 hop: Trac.Hosting 1 connection - direct 1 process", x, h, d, x < 1 ? "met" : "NOT met" }'
fi
if [ -n "${CPU[recycling]:-}" ] && [ -n "${CPU[steady]:-}" ]; then
  awk -v w="${CPU[recycling]}" -v o="${CPU[steady]}" -v n="${REQS[recycling]}" -v r="${RECYCLES[recycling]}" 'BEGIN {
    if (r > 0) printf "%-58s %8.3f s (%d recycles)\n", "CPU per recycle", (w - o) / 1000 * n / r, r
    else printf "%-58s        - (no recycles in the window)\n", "CPU per recycle" }'
fi
