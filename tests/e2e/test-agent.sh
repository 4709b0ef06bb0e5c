#!/usr/bin/env bash
# e2e, the guest agent (agent/, issue 4) on real guests:
#  - status checks go initializing -> ok, and the AWS CLI's waiter
#    instance-status-ok succeeds;
#  - user data that exits 1 turns the instance impaired, and
#    `nube wait ID ready` fails with the guest's error text;
#  - a rebooted guest keeps reporting (a new boot id), and so does a guest
#    whose nubed was restarted (heartbeats go on being recorded);
#  - CreateImage NoReboot freezes the guest's file systems through the agent;
#  - an image without cloud-init runs a #! user data script through the
#    agent, with its output on the console and its exit code in the report.
. "$(dirname "$0")/lib.sh"

setup_state "$(e2e_state_dir)" "$(free_port)"
IDS=()
cleanup() {
    if [ "${PASSED:-0}" != 1 ]; then
        for id in "${IDS[@]}"; do log "console of $id:"; console_tail "$id" 30; done
        tail -40 "$STATE/nubed-test.log" >&2 || true
    fi
    for id in "${IDS[@]}"; do nube terminate "$id" >/dev/null 2>&1 || true; done
    [ -n "${IMG:-}" ] && nube image deregister "$IMG" >/dev/null 2>&1 || true
    rm -f "${UD_OK:-}" "${UD_BAD:-}" "${UD_PLAIN:-}"
    stop_nubed
}
trap cleanup EXIT
start_nubed

# ins_status ID: "SYSTEM INSTANCE" status of ID (IncludeAllInstances).
ins_status() {
    aws_nube ec2 describe-instance-status --include-all-instances --instance-ids "$1" \
        --query 'InstanceStatuses[0].[SystemStatus.Status,InstanceStatus.Status]' --output text |
        tr '\t' ' '
}
field() {   # field ID PYTHON-EXPR over the `nube describe --output json` object d
    nube describe "$1" --output json | python3 -c "import json,sys
d=json.load(sys.stdin); print($2)"
}
ud_state() { field "$1" "d.get('NubeUserData',{}).get('State','')"; }
boot_id() { field "$1" "d.get('NubeAgent',{}).get('BootId','')"; }
last_seen() { field "$1" "d.get('NubeAgent',{}).get('LastSeenTime','')"; }
status_is() { [ "$(ins_status "$1")" = "$2" ]; }
ud_is() { [ "$(ud_state "$1")" = "$2" ]; }

# The image without cloud-init is built while the first guests boot.
log "building the default AMI without cloud-init (in the background)"
PLAIN_AMI=$(nube image build-default --no-cloud-init --no-wait 2>/dev/null || true)
AMI=$(default_ami)
log "default AMI $AMI"

UD_OK=$(mktemp)
printf '#!/bin/sh\necho "nube-e2e user data ran on $(hostname)"\n' >"$UD_OK"
UD_BAD=$(mktemp)
printf '#!/bin/sh\necho "nube-e2e-boom: the disk is on fire" >&2\nexit 1\n' >"$UD_BAD"

G=$(nube run "$AMI" --name e2e-agent-good --user-data "$UD_OK" --output json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["InstanceId"])')
IDS+=("$G")
F=$(nube run "$AMI" --name e2e-agent-bad --user-data "$UD_BAD" --output json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["InstanceId"])')
IDS+=("$F")
log "G=$G (good user data), F=$F (user data exits 1)"

# Right after launch nothing has spoken: initializing (pending or running).
first=$(ins_status "$G")
case "$first" in
    "initializing initializing" | "not-applicable not-applicable") log "G at launch: $first" ;;
    *) fail "G's status right after launch is '$first'" ;;
esac
wait_for 300 "G initializing while running" state_is "$G" running
st=$(ins_status "$G")
[ "$st" = "initializing initializing" ] || [ "$st" = "ok ok" ] || fail "G running: status '$st'"

log "aws ec2 wait instance-status-ok on G"
aws_nube ec2 wait instance-status-ok --instance-ids "$G" || fail "waiter instance-status-ok failed"
status_is "$G" "ok ok" || fail "G after the waiter: $(ins_status "$G")"
out=$(nube wait "$G" ready --timeout 300) || fail "nube wait ready on G failed: $out"
log "G: $out"
ud_is "$G" succeeded || fail "G's user data: $(ud_state "$G")"
[ "$(field "$G" "d['NubeUserData'].get('Runner')")" = cloud-init ] || fail "G's runner is not cloud-init"
grep -q "nube-e2e user data ran" <<<"$(field "$G" "d['NubeUserData'].get('LogTail','')")" ||
    fail "G's user data log tail lacks the script's output"

log "F: nube wait ready must fail with the guest's error"
if out=$(nube wait "$F" ready --timeout 400 2>&1); then fail "nube wait ready on F succeeded: $out"; fi
grep -q "nube-e2e-boom: the disk is on fire" <<<"$out" || fail "nube wait ready on F: no guest error text in: $out"
grep -q "failed" <<<"$out" || fail "nube wait ready on F does not say failed: $out"
log "F: wait ready failed as it should: ${out%%$'\n'*}"
wait_for 60 "F impaired" status_is "$F" "ok impaired"
nube terminate "$F" >/dev/null

log "reboot G: the agent reports a new boot"
boot1=$(boot_id "$G")
[ -n "$boot1" ] || fail "G has no boot id"
nube reboot "$G" >/dev/null
boot_changed() { b=$(boot_id "$G"); [ -n "$b" ] && [ "$b" != "$boot1" ]; }
wait_for 240 "G's agent hello from a new boot" boot_changed
wait_for 240 "G ok after reboot" status_is "$G" "ok ok"
ud_is "$G" succeeded || fail "G's user data result was lost over the reboot: $(ud_state "$G")"

log "restart nubed: G's agent keeps reporting"
stop_nubed
sleep 3
start_nubed
seen1=$(last_seen "$G")
sleep 12
seen2=$(last_seen "$G")
[ -n "$seen2" ] && [ "$seen2" != "$seen1" ] || fail "no message from G's agent after nubed restarted ($seen1 -> $seen2)"
status_is "$G" "ok ok" || fail "G after nubed restart: $(ins_status "$G")"
log "G heard at $seen1, then $seen2"

log "CreateImage NoReboot from G: file systems frozen by the agent"
IMG=$(nube image create "$G" --name "e2e-agent-$RANDOM" --no-reboot)
grep -q "$G: guest agent froze [1-9]" "$STATE/nubed-test.log" || fail "nubed did not freeze G's file systems"
grep -q "$G: guest agent thawed [1-9]" "$STATE/nubed-test.log" || fail "nubed did not thaw G's file systems"
state_is "$G" running || fail "NoReboot disturbed G"
[ "$(field "$G" "d['State']['Name']")" = running ] || fail "G not running"
nube image deregister "$IMG" >/dev/null
IMG=
nube terminate "$G" >/dev/null

log "image without cloud-init: the agent runs the #! user data"
[ -n "$PLAIN_AMI" ] || PLAIN_AMI=$(nube image build-default --no-cloud-init)
wait_for 900 "the AMI without cloud-init" sh -c "'$NUBE_BIN' --endpoint-url '$ENDPOINT' describe '$PLAIN_AMI' --output json | grep -q '\"available\"'"
UD_PLAIN=$(mktemp)
printf '#!/bin/sh\necho "NUBE-AGENT-USERDATA $(id -u) $(cat /etc/hostname)"\nexit 0\n' >"$UD_PLAIN"
H=$(nube run "$PLAIN_AMI" --name e2e-agent-plain --user-data "$UD_PLAIN" --output json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["InstanceId"])')
IDS+=("$H")
out=$(nube wait "$H" ready --timeout 400) || fail "nube wait ready on H failed: $out"
[ "$(field "$H" "d['NubeUserData'].get('Runner')")" = agent ] || fail "H's user data was not run by the agent"
[ "$(field "$H" "d['NubeUserData'].get('ExitCode')")" = 0 ] || fail "H's exit code is not 0"
[ "$(field "$H" "d['NubeAgent'].get('CloudInit')")" = False ] || fail "H's agent says cloud-init is there"
wait_for 30 "the script's output on H's console" console_has "$H" "NUBE-AGENT-USERDATA 0 "
grep -q "NUBE-AGENT-USERDATA 0" <<<"$(field "$H" "d['NubeUserData'].get('LogTail','')")" || fail "H's log tail lacks the output"
status_is "$H" "ok ok" || fail "H: $(ins_status "$H")"
nube terminate "$H" >/dev/null

PASSED=1
log "PASS"
