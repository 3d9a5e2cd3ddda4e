#!/usr/bin/env bash
# A/B of this checkout against an older commit, on one machine in one run (machines here drift
# 2-3x from day to day, so only a comparison within one run means anything):
#   - criterion medians of the tick bench and the room-snapshot bench, each build's own benches;
#   - a BOTS-bot run (each build's own server and bots): bytes per client-second received and
#     server CPU per client-second, server pinned to core 0 and bots to core 1.
# Old and new alternate ROUNDS times; the summary gives the median of each side and new/old.
#
#   scripts/ab.sh OLD_REV [ROUNDS] [BOTS] [SECONDS]      e.g. scripts/ab.sh fd13b19 3 100 20
#
# The old tree is a git worktree in $OUT/old (default target/ab); loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD_REV=$1
ROUNDS=${2:-3}
BOTS=${3:-100}
SECS=${4:-20}
OUT=$(realpath -m "${OUT:-target/ab}")
mkdir -p "$OUT"
OLD_TREE=${OLD_TREE:-$OUT/old}
OLD_TARGET=${OLD_TARGET:-$OUT/old-target}
[ -d "$OLD_TREE" ] || git worktree add --detach "$OLD_TREE" "$OLD_REV"
NEW_TREE=$PWD
NEW_TARGET=${CARGO_TARGET_DIR:-$PWD/target}
for side in old new; do
  tree=$([ $side = old ] && echo "$OLD_TREE" || echo "$NEW_TREE")
  target=$([ $side = old ] && echo "$OLD_TARGET" || echo "$NEW_TARGET")
  (cd "$tree" && CARGO_TARGET_DIR=$target cargo build -q --release -p arena-server -p arena-bot \
    && CARGO_TARGET_DIR=$target cargo bench -q -p arena-benches --no-run)
done
source scripts/bench-lib.sh
ROWS="$OUT/rows.jsonl"
: >"$ROWS"
for round in $(seq "$ROUNDS"); do
  for side in old new; do
    tree=$([ $side = old ] && echo "$OLD_TREE" || echo "$NEW_TREE")
    target=$([ $side = old ] && echo "$OLD_TARGET" || echo "$NEW_TARGET")
    echo "round $round: $side" >&2
    (cd "$tree" && CARGO_TARGET_DIR=$target taskset -c 0 cargo bench -q -p arena-benches --bench tick -- --noplot \
      && CARGO_TARGET_DIR=$target taskset -c 0 cargo bench -q -p arena-benches --bench snapshot -- --noplot room_snapshots) \
      >"$OUT/bench-$side-$round.txt" 2>&1
    python3 - "$target/criterion" "$side" "$round" >>"$ROWS" <<'PY'
import json, pathlib, sys
root, side, rnd = pathlib.Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for est in sorted(root.glob("*/*/new/estimates.json")) + sorted(root.glob("*/*/*/new/estimates.json")):
    bench = "/".join(est.parts[len(root.parts):-2])
    if bench.startswith(("tick/", "room_snapshots/")):
        median = json.load(open(est))["median"]["point_estimate"]
        print(json.dumps({"side": side, "round": rnd, "what": bench, "value": median, "unit": "ns"}))
PY
    start_server "$target/release/arena-server" "$OUT/server-$side-$round"
    C0=$(cpu_ticks "$SERVER")
    taskset -c 1 "$target/release/arena-bot" --url "ws://$ADDR/ws" --bots "$BOTS" --ramp 5 \
      --duration "$SECS" --progress 0 --json "$OUT/bots-$side-$round.json" >"$OUT/bots-$side-$round.txt" 2>&1 || true
    C1=$(cpu_ticks "$SERVER")
    kill -TERM "$SERVER"; wait "$SERVER" || true
    python3 - "$OUT/bots-$side-$round.json" "$side" "$round" "$C0" "$C1" "$(getconf CLK_TCK)" "$BOTS" "$SECS" >>"$ROWS" <<'PY'
import json, sys
j, side, rnd, c0, c1, tck, bots, secs = sys.argv[1:]
d = json.load(open(j)); bots = int(bots); rnd = int(rnd)
client_s = bots * (float(secs) + 2.5)  # play time plus, on average, half the 5 s ramp
cpu = (int(c1) - int(c0)) / int(tck)
row = lambda what, value, unit: print(json.dumps({"side": side, "round": rnd, "what": what, "value": value, "unit": unit}))
row("bots/result_pass", 1.0 if d["result"] == "pass" else 0.0, "")
row("bots/bytes_per_client_s", d["bytes_per_bot_s"], "B")
row("bots/server_cpu_per_client_s", cpu / client_s * 1e6, "µs")
PY
  done
done
python3 - "$ROWS" "$OLD_REV" "$BOTS" "$SECS" <<'PY'
import collections, json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = collections.defaultdict(lambda: collections.defaultdict(list))
for r in rows:
    by[r["what"]][r["side"]].append(r["value"])
print(f"A/B: {sys.argv[2]} (old) against this checkout (new); medians of {max(len(v['old']) for v in by.values())} alternating rounds")
print("| what | old | new | new / old |")
print("| --- | ---: | ---: | ---: |")
for what in sorted(by):
    o, n = statistics.median(by[what]["old"]), statistics.median(by[what]["new"])
    unit = next(r["unit"] for r in rows if r["what"] == what)
    show = (lambda v: f"{v / 1000:.2f} µs") if unit == "ns" else (lambda v: f"{v:.1f} {unit}".strip())
    print(f"| {what} | {show(o)} | {show(n)} | {n / o if o else float('nan'):.3f} |")
PY
