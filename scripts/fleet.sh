#!/usr/bin/env bash
# The fleet on one machine, in one command: a redis-server and N Arena processes on loopback,
# each registered in the directory, any of them answering POST /api/matchmake for all.
#   scripts/fleet.sh [N]        (default 3; Ctrl-C stops everything)
# Then, for example:
#   curl -s http://ADDR/api/fleet
#   curl -s -XPOST http://ADDR/api/matchmake -d '{"name":"ann","room":"duel"}'
#   target/release/arena-bot --matchmaker http://ADDR1,http://ADDR2 --bots 60 --rejoin
# Builds the release binaries first; needs redis-server (scripts/install-redis.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-3}
cargo build --release -q -p arena-server -p arena-bot
bin=target/release
work=$(mktemp -d)
# shellcheck source=scripts/fleet-lib.sh
source scripts/fleet-lib.sh
export ARENA_TICKET_SECRET=${ARENA_TICKET_SECRET:-$(head -c 32 /dev/urandom | base64)}
cat >"$work/fleet.toml" <<TOML
workers = 1
TOML
start_redis
echo "redis      $redis_url"
for i in $(seq 1 "$n"); do
  start_member "arena-$i"
  echo "arena-$i    http://${addr[arena-$i]}   (log: $work/arena-$i.err)"
done
echo "matchmake: curl -s -XPOST http://${addr[arena-1]}/api/matchmake -d '{\"name\":\"ann\"}'"
echo "Ctrl-C stops the fleet."
wait
