#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance, server mode) against
# the fixture server. Builds nothing: pass the built fixture and a Node >= 22 binary.
#
#   tests/conformance/run.sh FIXTURE_BINARY NODE_BINARY [extra conformance args, e.g. --suite all]
#
# CONFORMANCE_CLI picks another build of the suite (default: the one in tests/node), e.g. the 0.2
# of tests/node-modern that takes --requirements 2026-07-28 or 2025-11-25.
#
# Exits non-zero when any scenario has a failed check. Results go to $CONFORMANCE_OUT (default: a
# temporary directory, printed at the end).
set -euo pipefail

fixture=${1:?usage: run.sh FIXTURE_BINARY NODE_BINARY [conformance args]}
node=${2:?usage: run.sh FIXTURE_BINARY NODE_BINARY [conformance args]}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
cli=${CONFORMANCE_CLI:-"$here/../node/node_modules/@modelcontextprotocol/conformance/dist/index.js"}
[[ -x "$fixture" ]] || { echo "run.sh: fixture not found: $fixture" >&2; exit 2; }
[[ -x "$node" ]] || { echo "run.sh: node not found: $node (run npm ci in tests/node)" >&2; exit 2; }
[[ -f "$cli" ]] || { echo "run.sh: conformance CLI not found: $cli (run scripts/bootstrap --test)" >&2; exit 2; }

out=${CONFORMANCE_OUT:-$(mktemp -d -t mcp-conformance.XXXXXX)}
mkdir -p "$out"
fifo="$out/fixture.stdout"
rm -f "$fifo"
mkfifo "$fifo"

"$fixture" >"$fifo" 2>"$out/fixture.stderr" &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
trap cleanup EXIT

# The fixture prints "LISTENING port=N" once it accepts connections; reading the fifo blocks until
# then (no polling), and EOF means it died first.
exec 3<"$fifo"
port=""
while IFS= read -r line <&3; do
  if [[ "$line" =~ ^LISTENING\ port=([0-9]+)$ ]]; then
    port=${BASH_REMATCH[1]}
    break
  fi
done
if [[ -z "$port" ]]; then
  echo "run.sh: the fixture exited before listening:" >&2
  cat "$out/fixture.stderr" >&2
  exit 1
fi
# Keep draining the fixture's stdout so it never blocks on a full pipe.
cat <&3 >/dev/null &

status=0
"$node" "$cli" server --url "http://127.0.0.1:$port/mcp" -o "$out" "$@" | tee "$out/summary.txt" || status=$?
# The CLI's exit status is the verdict (non-zero when any check failed). No "Total:" line (or
# "Passed:" for a single scenario) means it did not run the scenarios at all.
if ! grep -qE "^(Total|Passed): " "$out/summary.txt"; then
  echo "run.sh: the conformance CLI printed no result line" >&2
  [[ $status -ne 0 ]] || status=1
fi
echo "run.sh: results in $out (exit $status)"
exit "$status"
