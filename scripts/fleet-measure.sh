#!/usr/bin/env bash
# Measures the fleet (issue 12), release build, loopback, three processes and one redis-server:
#  1. Redis commands a second per process, idle and with 20 and 60 rooms a process;
#  2. matchmake latency p50 / p99 at RATE requests a second (default 200) over the three
#     processes (half quick-play, half 100 named rooms), and Redis commands a second meanwhile.
#   scripts/fleet-measure.sh [RATE] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-200}
seconds=${2:-30}
cargo build --release -q -p arena-server -p arena-bot
bin=target/release
work=$(mktemp -d)
# shellcheck source=scripts/fleet-lib.sh
source scripts/fleet-lib.sh
export ARENA_TICKET_SECRET=fleet-measure-secret-of-at-least-32-bytes
commands() { redis-cli -p "$redis_port" info stats | sed -n 's/^total_commands_processed:\([0-9]*\).*/\1/p'; }
# per_process_rate SECONDS: Redis commands a second per process over SECONDS, idle.
per_process_rate() {
  local before after
  before=$(commands)
  sleep "$1"
  after=$(commands)
  python3 -c "print(f'{($after - $before - 1) / $1 / 3:.2f}')"
}
fleet() { # fleet SEAT_MS: a fresh redis and three processes a, b, c
  fleet_cleanup
  fleet_pids=()
  cat >"$work/fleet.toml" <<TOML
workers = 1
seat_reservation_ms = $1
matchmake_per_ip_per_s = 100000
max_rooms = 64
max_connections_per_ip = 8000
# Every call here comes from 127.0.0.1.
max_named_rooms_per_ip = 1000
max_held_seats_per_ip = 100000
TOML
  start_redis
  for id in a b c; do start_member "$id"; done
  sleep 3 # every process registered at least once
}

fleet 120000
echo "redis commands/s per process (fleet_ttl_ms 6000: one write every 2 s):"
echo "  0 rooms a process:  $(per_process_rate 20)"
for i in $(seq 1 60); do
  curl -s -XPOST "http://${addr[a]}/api/matchmake" -d "{\"name\":\"p$i\",\"room\":\"n$i\"}" >/dev/null
done
echo "  20 rooms a process: $(per_process_rate 20)   ($(curl -s "http://${addr[a]}/api/fleet" | python3 -c 'import json,sys; print(" ".join("%s=%d" % (s["id"], len(s["rooms"])) for s in json.load(sys.stdin)["servers"]))'))"
for i in $(seq 61 180); do
  curl -s -XPOST "http://${addr[a]}/api/matchmake" -d "{\"name\":\"p$i\",\"room\":\"n$i\"}" >/dev/null
done
echo "  60 rooms a process: $(per_process_rate 20)   ($(curl -s "http://${addr[a]}/api/fleet" | python3 -c 'import json,sys; print(" ".join("%s=%d" % (s["id"], len(s["rooms"])) for s in json.load(sys.stdin)["servers"]))'))"

fleet 1000
before=$(commands)
start=$(date +%s.%N)
python3 scripts/matchmake-load.py "$rate" "$seconds" 100 "http://${addr[a]}" "http://${addr[b]}" "http://${addr[c]}"
after=$(commands)
python3 -c "import time; print(f'redis commands/s during the load: {($after - $before) / (time.time() - $start):.0f} (all three processes)')"
for id in a b c; do
  curl -s "http://${addr[$id]}/metrics" | grep -E '^arena_matchmake_seconds_(sum|count)|^arena_matchmake_total' | tr '\n' ' ' | sed "s/^/  $id: /"
  echo
done
