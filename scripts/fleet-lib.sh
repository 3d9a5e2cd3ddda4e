# Shared by scripts/fleet.sh and scripts/fleet-test.sh: a redis-server and Arena processes on
# loopback, each on a free port, all stopped on exit. Source it; set $work (a directory) and
# $bin (where arena-server is) first.

fleet_pids=()
fleet_cleanup() {
  for pid in "${fleet_pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap fleet_cleanup EXIT

# A free loopback port.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Starts redis-server without persistence; sets $redis_url.
start_redis() {
  local port
  port=$(free_port)
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no >"$work/redis.log" 2>&1 &
  fleet_pids+=($!)
  redis_pid=$!
  python3 - "$port" <<'PY' || { cat "$work/redis.log"; return 1; }
import socket, sys, time
for _ in range(200):
    try:
        with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1) as s:
            s.sendall(b"PING\r\n")
            if s.recv(7) == b"+PONG\r\n":
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.05)
sys.exit("redis-server never answered PING")
PY
  redis_url="redis://127.0.0.1:$port"
  redis_port=$port
}

# start_member ID [extra flags...]: an Arena process in the fleet; sets pid[ID] and addr[ID].
declare -A pid addr
start_member() {
  local id=$1
  shift
  local out="$work/$id.out"
  : >"$out"
  "$bin/arena-server" --bind 127.0.0.1:0 --config "$work/fleet.toml" --fleet "$redis_url" \
    --server-id "$id" "$@" >"$out" 2>"$work/$id.err" &
  pid[$id]=$!
  fleet_pids+=($!)
  for _ in $(seq 1 300); do
    grep -q '^listening on http://' "$out" && break
    kill -0 "${pid[$id]}" 2>/dev/null || { cat "$work/$id.err"; return 1; }
    sleep 0.1
  done
  addr[$id]=$(sed -n 's|^listening on http://||p' "$out")
  [ -n "${addr[$id]}" ] || { echo "$id never printed its address"; return 1; }
}
