#!/usr/bin/env bash
# Integration, no guest booted: hostile connections against a live nubed
# (test-connections.py says which), all on loopback.
. "$NUBE_SRCDIR/tests/e2e/lib.sh"

WORK=$(mktemp -d /tmp/nube-conn-XXXXXX)
setup_state "$WORK/state" "$(free_port)"
cleanup() { stop_nubed; rm -rf "$WORK"; }
trap cleanup EXIT
start_nubed
python3 "$NUBE_SRCDIR/tests/api/test-connections.py" "$ENDPOINT" "$NUBED_PID" \
    env AWS_SHARED_CREDENTIALS_FILE="$STATE/credentials" AWS_CONFIG_FILE="$STATE/config" \
    "$AWS_BIN" --profile nube --endpoint-url "$ENDPOINT" || fail "hostile connections"
log "PASS"
