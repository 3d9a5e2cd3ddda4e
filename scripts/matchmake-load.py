#!/usr/bin/env python3
"""Matchmaking load: RATE POST /api/matchmake a second for SECONDS, round robin over the given
nodes, half quick-play and half named rooms (ROOMS names); prints the latency p50 / p99 / max
and the answers by status. Each call is a fresh connection, as a game client's would be.
   matchmake-load.py RATE SECONDS ROOMS http://NODE [http://NODE ...]"""
import http.client
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

rate, seconds, rooms = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
nodes = [urlsplit(u).netloc for u in sys.argv[4:]]
lock = threading.Lock()
latencies, statuses, late = [], {}, [0]


def call(i):
    node = nodes[i % len(nodes)]
    body = {"name": f"m{i}", "room": None if i % 2 == 0 else f"r{i % rooms}"}
    start = time.perf_counter()
    try:
        conn = http.client.HTTPConnection(node, timeout=10)
        conn.request("POST", "/api/matchmake", json.dumps(body), {"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        status = response.status
        conn.close()
    except OSError as e:
        status = f"error {e.__class__.__name__}"
    elapsed = time.perf_counter() - start
    with lock:
        latencies.append(elapsed)
        statuses[status] = statuses.get(status, 0) + 1


t0 = time.perf_counter()
total = int(rate * seconds)
with ThreadPoolExecutor(max_workers=64) as pool:
    for i in range(total):
        due = t0 + i / rate
        now = time.perf_counter()
        if due > now:
            time.sleep(due - now)
        elif now - due > 0.01:
            late[0] += 1
        pool.submit(call, i)
span = time.perf_counter() - t0
latencies.sort()
q = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000
print(f"matchmake: {len(latencies)} calls in {span:.1f} s ({len(latencies) / span:.0f}/s) over "
      f"{len(nodes)} nodes; latency ms p50 {q(0.5):.2f} p99 {q(0.99):.2f} max {latencies[-1] * 1000:.2f}; "
      f"answers {dict(sorted((str(k), v) for k, v in statuses.items()))}; sent late {late[0]}")
