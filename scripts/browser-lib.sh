# Sourced by the browser tests (browser-test.sh, report-test.sh): headless Chromium to drive,
# and a debug server to drive it against.

# Where `cargo build` puts the debug binaries: CARGO_TARGET_DIR when set (so a second checkout
# or a second build can keep its own), else target/.
ARENA_BIN=${CARGO_TARGET_DIR:-target}/debug

# ensure_browser: Debian's /usr/bin/chromium, Node.js with npm, and tests/browser's
# playwright-core, installed when absent (nothing downloads a browser build of its own).
ensure_browser() {
  local missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  (cd tests/browser && [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --loglevel=error)
}

# start_debug_server PREFIX ARGS...: $ARENA_BIN/arena-server on 127.0.0.1:0 with the given
# flags, stdout and stderr in PREFIX.out and PREFIX.err; waits (30 s at most) for its
# `listening on` line and sets SERVER (its pid) and ADDR (host:port); fails if it never comes.
start_debug_server() {
  local prefix=$1
  shift
  "$ARENA_BIN/arena-server" --bind 127.0.0.1:0 "$@" >"$prefix.out" 2>"$prefix.err" &
  SERVER=$!
  for _ in $(seq 1 300); do
    grep -q '^listening on http://' "$prefix.out" && break
    kill -0 "$SERVER" 2>/dev/null || break
    sleep 0.1
  done
  ADDR=$(sed -n 's|^listening on http://||p' "$prefix.out")
  [ -n "$ADDR" ] || { cat "$prefix.err"; return 1; }
}
