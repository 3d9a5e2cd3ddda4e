# Sourced by the benchmark scripts (capacity.sh, netcode.sh, polling.sh): one way to start a
# pinned server and read what it cost.

# start_server BIN PREFIX ARGS...: runs BIN on core 0, bound to 127.0.0.1:0, with stdout and
# stderr in PREFIX.out and PREFIX.err; waits (5 s at most) for its `listening on` line and sets
# SERVER (its pid) and ADDR (host:port).
start_server() {
  local bin=$1 prefix=$2
  shift 2
  taskset -c 0 "$bin" --bind 127.0.0.1:0 "$@" >"$prefix.out" 2>"$prefix.err" &
  SERVER=$!
  for _ in $(seq 100); do grep -q '^listening on' "$prefix.out" && break; sleep 0.05; done
  ADDR=$(sed -n 's|^listening on http://||p' "$prefix.out")
}

# cpu_ticks PID: the process's user plus system CPU so far, in clock ticks (getconf CLK_TCK).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# metric ADDR NAME: one unlabelled series of the server's /metrics.
metric() { curl -s "http://$1/metrics" | awk -v m="$2" '$1 == m { print $2 }'; }
