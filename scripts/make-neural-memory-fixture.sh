#!/usr/bin/env bash
# Makes tests/fixtures/neural_memory/: a brain of the other product called Neural Memory (PyPI
# `neural-memory`, also a command `nmem`), written by that product's own commands, for the tests of
# `nmem import --from neural-memory`. Run it again to refresh the fixture after a new release:
#   bash scripts/make-neural-memory-fixture.sh [VERSION]
# It installs that product in a throwaway venv with its own HOME, never touching yours.
set -euo pipefail
version="${1:-4.63.0}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
out="$repo/tests/fixtures/neural_memory"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "neural-memory==$version" cryptography
export HOME="$work/home"
mkdir -p "$HOME"
other="$work/venv/bin/nmem"
"$other" init --defaults --skip-mcp --skip-skills --skip-embeddings >/dev/null
"$other" project create falcon >/dev/null
"$other" remember "We chose PostgreSQL for billing because it has JSONB" --type decision --tag billing --tag database -p 7 >/dev/null
"$other" remember "Alice Moreno leads Project Falcon" -P falcon --tag team >/dev/null
"$other" remember "Billing deploys happen on Fridays after the 14:00 freeze" --type workflow --timestamp 2026-03-02T08:00:00 -e 30 >/dev/null
"$other" remember "Never push to main without a review" --type instruction -p 9 >/dev/null
"$other" todo "Rotate the staging TLS certificate" >/dev/null
# An encrypted memory: its CLI has no option for it, its MCP server does (encrypted=true).
"$work/venv/bin/python" - "$work/venv/bin/nmem-mcp" <<'PY'
import json, subprocess, sys
server = subprocess.Popen([sys.argv[1]], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
def call(message):
    server.stdin.write(json.dumps(message) + "\n")
    server.stdin.flush()
    while "id" in message:
        reply = json.loads(server.stdout.readline())
        if reply.get("id") == message["id"]:
            return reply
call({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2024-11-05", "capabilities": {}, "clientInfo": {"name": "fixture", "version": "1"}}})
call({"jsonrpc": "2.0", "method": "notifications/initialized"})
reply = call({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "nmem_remember", "arguments": {"content": "The staging VPN shared secret is kept in the team vault under ops/vpn", "type": "reference", "tags": ["ops"], "encrypted": True}}})
assert '"success": true' in reply["result"]["content"][0]["text"], reply
server.stdin.close()
server.wait(timeout=60)
PY
mkdir -p "$out/brains" "$out/keys"
sqlite3 "$HOME/.neuralmemory/brains/default.db" "VACUUM INTO '$out/brains/default.db.new'"
mv "$out/brains/default.db.new" "$out/brains/default.db"
cp "$HOME/.neuralmemory/keys/default.key" "$out/keys/default.key"  # a throwaway key, for the tests
echo "neural-memory $version" > "$out/VERSION"
echo "wrote $out"
