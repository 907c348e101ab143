#!/usr/bin/env bash
# Runs the conformance 0.2 requirement set of one MCP revision against the real `taskman serve`
# (a fresh SQLite file), with the baseline of the scenarios that need the conformance fixture's
# own tools (taskman_baseline_<revision>.yml): every other scenario must pass.
#
#   tests/conformance/run_taskman.sh TASKMAN_BINARY NODE_BINARY REVISION
#
# CONFORMANCE_CLI: the conformance CLI (default: the one in tests/node-modern).
set -euo pipefail

taskman=${1:?usage: run_taskman.sh TASKMAN_BINARY NODE_BINARY REVISION}
node=${2:?usage: run_taskman.sh TASKMAN_BINARY NODE_BINARY REVISION}
revision=${3:?usage: run_taskman.sh TASKMAN_BINARY NODE_BINARY REVISION}
here=$(cd "$(dirname "$0")" && pwd)
cli=${CONFORMANCE_CLI:-"$here/../node-modern/node_modules/@modelcontextprotocol/conformance/dist/index.js"}
baseline="$here/taskman_baseline_$revision.yml"
[[ -x "$taskman" ]] || { echo "run_taskman.sh: taskman not found: $taskman" >&2; exit 2; }
[[ -x "$node" ]] || { echo "run_taskman.sh: node not found: $node" >&2; exit 2; }
[[ -f "$cli" ]] || { echo "run_taskman.sh: conformance CLI not found: $cli (run scripts/bootstrap --test)" >&2; exit 2; }
[[ -f "$baseline" ]] || { echo "run_taskman.sh: no baseline for $revision: $baseline" >&2; exit 2; }

out=$(mktemp -d -t taskman-conformance.XXXXXX)
fifo="$out/serve.stderr"
mkfifo "$fifo"
"$taskman" serve --port 0 --api-port 0 --database-url "sqlite:$out/t.db" >/dev/null 2>"$fifo" &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
trap cleanup EXIT

# The MCP listener logs {"service":"taskman-mcp","msg":"listening",...,"port":N}; reading the fifo
# blocks until then, and EOF means taskman exited first.
exec 3<"$fifo"
port=""
while IFS= read -r line <&3; do
  if [[ "$line" == *'"service":"taskman-mcp"'* && "$line" == *'"msg":"listening"'* &&
        "$line" =~ \"port\":([0-9]+) ]]; then
    port=${BASH_REMATCH[1]}
    break
  fi
done
[[ -n "$port" ]] || { echo "run_taskman.sh: taskman serve exited before listening" >&2; exit 1; }
cat <&3 >"$out/serve.log" &

status=0
"$node" "$cli" server --url "http://127.0.0.1:$port/mcp" --requirements "$revision" \
  --expected-failures "$baseline" -o "$out" | tee "$out/summary.txt" || status=$?
grep -qE "^Total: " "$out/summary.txt" || { echo "run_taskman.sh: no result line" >&2; [[ $status -ne 0 ]] || status=1; }
echo "run_taskman.sh: results in $out (exit $status)"
exit "$status"
