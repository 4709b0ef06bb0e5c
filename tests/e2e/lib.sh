# Shared by the e2e and integration shell tests: start and stop nubed, call
# the nube CLI and the real AWS CLI, wait for things.  Traffic goes to
# 127.0.0.1 only.
set -euo pipefail

: "${NUBE_BUILDDIR:?run through meson test}"
: "${NUBE_SRCDIR:?run through meson test}"

NUBED="$NUBE_BUILDDIR/controller/nubed"
NUBE_BIN="$NUBE_BUILDDIR/cli/nube"
AWS_BIN="${NUBE_TEST_AWS:-/usr/bin/aws}"   # Debian's awscli (v2)

# Never let an AWS client look for credentials or a region anywhere else,
# least of all at the EC2 metadata address.
export AWS_EC2_METADATA_DISABLED=true AWS_PAGER="" AWS_RETRY_MODE=standard
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

# A free TCP port on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# setup_state DIR PORT: the state directory and endpoint the test uses.
setup_state() {
    STATE="$1"
    PORT="$2"
    ENDPOINT="http://127.0.0.1:$PORT"
    mkdir -p "$STATE"
    export NUBE_STATE_DIR="$STATE"
}

start_nubed() {
    "$NUBED" --state-dir "$STATE" --listen "127.0.0.1:$PORT" --accelerator auto \
        --import-dir "$(dirname "$STATE")" \
        >>"$STATE/nubed-test.log" 2>&1 &
    NUBED_PID=$!
    for _ in $(seq 1 100); do
        if curl -s -o /dev/null "$ENDPOINT/"; then return 0; fi
        kill -0 "$NUBED_PID" 2>/dev/null || { tail -20 "$STATE/nubed-test.log" >&2; fail "nubed died"; }
        sleep 0.2
    done
    fail "nubed did not answer on $ENDPOINT"
}

stop_nubed() {
    if [ -n "${NUBED_PID:-}" ] && kill -0 "$NUBED_PID" 2>/dev/null; then
        kill -TERM "$NUBED_PID"
        wait "$NUBED_PID" 2>/dev/null || true
    fi
    # A nubed started by the CLI's autostart is not our child.
    pkill -TERM -f -- "nubed --state-dir $STATE " 2>/dev/null || true
    for _ in $(seq 1 50); do
        pgrep -f -- "nubed --state-dir $STATE " >/dev/null || break
        sleep 0.2
    done
    NUBED_PID=
}

nube() {
    "$NUBE_BIN" --endpoint-url "$ENDPOINT" "$@"
}

aws_nube() {
    AWS_SHARED_CREDENTIALS_FILE="$STATE/credentials" AWS_CONFIG_FILE="$STATE/config" \
        "$AWS_BIN" --profile nube --endpoint-url "$ENDPOINT" "$@"
}

# wait_for SECONDS DESCRIPTION COMMAND...: retries COMMAND every 2 s.
wait_for() {
    local limit=$1 what=$2
    shift 2
    local start=$SECONDS
    while ! "$@" >/dev/null 2>&1; do
        if [ $((SECONDS - start)) -ge "$limit" ]; then
            fail "timed out after ${limit}s waiting for $what"
        fi
        sleep 2
    done
    log "$what after $((SECONDS - start))s"
}

# Whether ID's console matches PATTERN.  The console is read whole first:
# with `| grep -q`, grep may exit at the first match and the writer fail
# with EPIPE, which pipefail would turn into "no match".
console_has() {
    local id=$1 pattern=$2 out
    out=$(nube console "$id") || return 1
    grep -Eq -- "$pattern" <<<"$out"
}

console_tail() {
    nube console "$1" 2>/dev/null | tail -n "${2:-40}" >&2 || true
}

instance_state() {
    aws_nube ec2 describe-instances --instance-ids "$1" \
        --query 'Reservations[0].Instances[0].State.Name' --output text
}

state_is() {
    [ "$(instance_state "$1")" = "$2" ]
}

# The default AMI, built (or reused) through the nube CLI.
default_ami() {
    nube image build-default
}

# A python3 that has boto3: Debian's python3-boto3 (scripts/setup-deps) is
# in /usr/bin/python3, which another python3 first on PATH may not see.
boto3_python() {
    local py
    for py in python3 /usr/bin/python3; do
        if "$py" -c 'import boto3' 2>/dev/null; then echo "$py"; return 0; fi
    done
    fail "no python3 with boto3 (scripts/setup-deps installs python3-boto3)"
}

# The e2e tests share one state directory per build tree, so the default
# AMI is built once.  It must be short: libvirt's embedded driver puts
# socket paths under it (at most 42 characters for the state directory).
e2e_state_dir() {
    echo "/var/tmp/nube-e2e-$(printf '%s' "$NUBE_BUILDDIR" | sha256sum | cut -c1-8)"
}
