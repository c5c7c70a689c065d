# latency-run: sourced by the probes in this folder (server-waits.sh, switches.sh). Starts `multicast bench` in the
# background and waits until its latency run sends, so a probe can watch that run's processes.
#
#   latency_run_start NAME BIN BENCH_ARGS...   makes $work (removed on exit), starts the bench with --out $work/bench and
#                                              its log in $work/bench.log, and sets $bench_pid
#   latency_run_wait                            waits up to 120 s for the latency run; sets $sender and $server (the
#                                              process started as multis_admin -R, empty for native and kernel)
#   latency_run_finish                          waits for the bench to end
# The latency run is the one whose sender logs its lateness (`tool send --lateness-log`).

latency_run_cleanup() {
  [ -n "${bench_pid:-}" ] && kill "$bench_pid" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$work"
}

latency_run_start() {
  local name=$1 bin=$2
  shift 2
  work=$(mktemp -d "/tmp/$name.XXXXXX")
  bench_pid=
  trap latency_run_cleanup EXIT
  "$bin" bench "$@" --out "$work/bench" > "$work/bench.log" 2>&1 &
  bench_pid=$!
}

latency_run_wait() {
  sender=
  for _ in $(seq 1 1200); do
    sender=$(pgrep -f -- 'tool send .*--lateness-log' | head -1 || true)
    [ -n "$sender" ] && break
    kill -0 "$bench_pid" 2>/dev/null || { echo "error: the bench ended before its latency run:" >&2; tail -5 "$work/bench.log" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$sender" ] || { echo "error: no latency run within 120 s" >&2; exit 1; }
  server=$(pgrep -f -- '--as multis_admin -R' | head -1 || true)
}

latency_run_finish() {
  wait "$bench_pid" || true
  bench_pid=
}
