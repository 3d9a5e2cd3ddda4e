#!/usr/bin/env bash
# The fleet end to end on one machine (issue 12), run by .ci/run: a real redis-server and three
# Arena processes (the debug binaries; built here when absent), and
#  1. 40 concurrent matchmakes for one named room, spread over the three, all get one server;
#  2. 150 bots through the matchmaker land on all three processes;
#  3. one process SIGKILLed mid-run is gone from /api/fleet within its TTL, no matchmake points
#     at it afterwards, and its bots (--rejoin) play on elsewhere;
#  4. one process SIGTERMed drains: listed as draining, no new seats there, its players play on
#     until drain_timeout_s, then it exits (and its bots rejoin elsewhere);
#  5. the bot run passes.
# Ends with `fleet: N passed, N failed`; exit 1 if anything failed.
#   scripts/fleet-test.sh [OUT_DIR]   (default target/fleet-test)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-target/fleet-test}
rm -rf "$work" && mkdir -p "$work"
bash scripts/install-redis.sh
[ -x target/debug/arena-server ] && [ -x target/debug/arena-bot ] ||
  cargo build -q -p arena-server -p arena-bot
bin=target/debug
# shellcheck source=scripts/fleet-lib.sh
source scripts/fleet-lib.sh

passed=0
failed=0
check() { # check WHAT COMMAND...: runs COMMAND, counts and prints the outcome
  local what=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "ok:   $what"
  else
    failed=$((failed + 1))
    echo "FAIL: $what"
  fi
}

ttl_ms=3000
export ARENA_TICKET_SECRET=fleet-test-secret-of-at-least-32-bytes
cat >"$work/fleet.toml" <<TOML
workers = 1
fleet_ttl_ms = $ttl_ms
drain_timeout_s = 4
# Every bot and call here comes from 127.0.0.1, 150 of them matchmaking at once when a process
# drains out: per-address limits sized for that.
matchmake_per_ip_per_s = 10000
max_held_seats_per_ip = 1000
# The named room's seats are given back before the bots come.
seat_reservation_ms = 2000
TOML
start_redis
for id in a b c; do start_member "$id"; done
echo "fleet: redis $redis_url; a ${addr[a]}, b ${addr[b]}, c ${addr[c]}"

# GET /api/fleet of a node, or "" when it does not answer 200.
fleet_of() { curl -sf "http://$1/api/fleet" || true; }
# Server ids listed by node $1, sorted, space-separated.
listed() { fleet_of "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(sorted(s["id"] for s in d["servers"])))' 2>/dev/null || true; }
# until_true SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds or SECONDS pass.
until_true() {
  local deadline=$((SECONDS + $1))
  shift
  while ! "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}
all_listed() { [ "$(listed "${addr[a]}")" = "$1" ]; }
check "all three processes listed in the directory" until_true 10 all_listed "a b c"

# POST /api/matchmake at node $1 with JSON $2: prints the answer's server (or the error).
matchmake() {
  curl -s -XPOST "http://$1/api/matchmake" -H 'Content-Type: application/json' -d "$2" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("server") or "error: " + d.get("error", "?"))'
}
# 1. 40 concurrent named-room matchmakes, spread over the nodes.
calls=()
for i in $(seq 0 39); do
  case $((i % 3)) in 0) n=${addr[a]} ;; 1) n=${addr[b]} ;; *) n=${addr[c]} ;; esac
  matchmake "$n" "{\"name\":\"p$i\",\"room\":\"final\"}" >"$work/named.$i" &
  calls+=($!)
done
wait "${calls[@]}"
cat "$work"/named.* >"$work/named.txt"
# 16 seats (max_players): 16 answers name one server, 24 say the room is full, none names
# another server (tests/fleet.rs does the same with 40 seats).
one_server() {
  [ "$(grep -vc '^error' "$work/named.txt")" -eq 16 ] &&
    [ "$(grep -v '^error' "$work/named.txt" | sort -u | wc -l)" -eq 1 ] &&
    [ "$(grep -c '^error: room final (16/16) is full' "$work/named.txt")" -eq 24 ]
}
check "40 concurrent matchmakes for one 16-seat named room on three nodes: 16 seats on one server, 24 full ($(sort "$work/named.txt" | uniq -c | tr -s ' ' | tr '\n' ';'))" one_server
# Its seats are released (2 s) and the room closes before the bots come.
no_final() { ! fleet_of "${addr[a]}" | grep -q '"name":"final"'; }
check "the named room's unused seats are released and it closes" until_true 10 no_final

# 2. 150 bots through the matchmaker, rejoining when their server vanishes.
"$bin/arena-bot" --matchmaker "http://${addr[a]},http://${addr[b]},http://${addr[c]}" --rejoin \
  --bots 150 --ramp 6 --duration 24 --threads 2 --progress 0 --metrics-url off \
  --json "$work/bots.json" >"$work/bots.out" 2>"$work/bots.err" &
bots=$!
fleet_pids+=($bots)
# Players per server, as node $1 lists them: "a=N b=N c=N".
players_by_server() { fleet_of "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join("%s=%d" % (s["id"], s["players"]) for s in d["servers"]))' 2>/dev/null || true; }
on_all_three() {
  local p
  p=$(players_by_server "${addr[a]}")
  echo "$p" >"$work/spread.txt"
  python3 -c 'import sys; d=dict(x.split("=") for x in sys.argv[1].split()); sys.exit(0 if len(d) == 3 and all(int(v) > 0 for v in d.values()) and sum(map(int, d.values())) >= 150 else 1)' "$p"
}
check "150 matchmade bots landed on all three processes" until_true 30 on_all_three
echo "      players by server: $(cat "$work/spread.txt")"

# 3. SIGKILL c: gone within the TTL, never matchmade to afterwards.
kill -KILL "${pid[c]}"
wait "${pid[c]}" 2>/dev/null || true
killed_at=$(date +%s%N)
check "the SIGKILLed process is gone from /api/fleet within its TTL (${ttl_ms} ms, +1 s to notice)" \
  until_true $((ttl_ms / 1000 + 2)) all_listed "a b"
gone_ms=$((($(date +%s%N) - killed_at) / 1000000))
echo "      gone after ${gone_ms} ms"
never_c() {
  local i out
  for i in $(seq 1 20); do
    out=$(matchmake "${addr[a]}" "{\"name\":\"q$i\"}")
    [ "$out" != c ] || return 1
    out=$(matchmake "${addr[b]}" "{\"name\":\"n$i\",\"room\":\"after-$i\"}")
    [ "$out" != c ] || return 1
  done
}
check "40 matchmakes after the kill point at a or b, never at c" never_c

# 4. SIGTERM b: it drains (listed as draining, no new seats), then exits.
kill -TERM "${pid[b]}"
draining() { fleet_of "${addr[a]}" | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if any(s["id"] == "b" and s["draining"] for s in d["servers"]) else 1)' 2>/dev/null; }
check "the SIGTERMed process is listed as draining" until_true 5 draining
refuses() {
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://${addr[b]}/readyz")" = 503 ] &&
    [ "$(matchmake "${addr[b]}" '{"name":"z"}')" = a ]
}
check "it takes no new seats: readyz 503, and a matchmake asked at it seats the player on a" refuses
not_b() { for i in $(seq 1 10); do [ "$(matchmake "${addr[a]}" "{\"name\":\"d$i\"}")" = a ] || return 1; done; }
check "quick-play on a stays on a while b drains" not_b
still_playing() { fleet_of "${addr[a]}" | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if any(s["id"] == "b" and s["players"] > 0 for s in d["servers"]) else 1)' 2>/dev/null; }
check "its players play on while it drains" still_playing
exited() { ! kill -0 "${pid[b]}" 2>/dev/null; }
check "it exits after drain_timeout_s (4 s) and leaves the directory" \
  bash -c "$(declare -f until_true exited all_listed listed fleet_of); declare -A pid=([b]=${pid[b]}); declare -A addr=([a]=${addr[a]}); until_true 15 exited && until_true 5 all_listed a"

# 5. The bot run passes: every bot played to the end, rejoining where its server vanished.
wait "$bots" && bots_rc=0 || bots_rc=$?
tail -n 25 "$work/bots.out" || true
summary() {
  python3 - "$work/bots.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("      bots %d, completed %d, rejoins %d, unexpected disconnects %d, servers %s" % (
    d["bots"], d.get("completed", -1), d.get("rejoins", 0), d.get("unexpected_disconnects", -1), d.get("servers")))
PY
}
summary || true
check "the 150-bot run passed (exit 0)" test "$bots_rc" -eq 0
rejoined() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d.get("rejoins", 0) > 0 else 1)' "$work/bots.json"; }
check "bots of the killed and drained processes rejoined and played on" rejoined

echo "fleet: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
