#!/usr/bin/env bash
# e2e with the nube CLI on a real guest (TCG here, KVM where it works):
# build the default AMI, run an instance, see cloud-init finish on its
# console, stop and start it and find the file its first boot wrote (ebs
# root), restart nubed while it runs, let it die while nubed is down,
# terminate it and check its disk is gone.
. "$(dirname "$0")/lib.sh"

setup_state "$(e2e_state_dir)" "$(free_port)"
cleanup() {
    if [ -n "${ID:-}" ]; then
        [ "${PASSED:-0}" = 1 ] || { log "console of $ID:"; console_tail "$ID" 60; }
        nube terminate "$ID" >/dev/null 2>&1 || true
    fi
    stop_nubed
}
trap cleanup EXIT

log "nube starts a nubed when none answers"
out=$(nube info 2>&1) || fail "nube info: $out"
echo "$out" | grep -q "started one" || fail "nube did not say it started nubed: $out"
echo "$out" | grep -Eiq "accelerator: *(tcg|kvm)" || fail "no accelerator in: $out"
log "$(echo "$out" | grep -i "accelerator reason")"
[ "$(stat -c %a "$STATE/credentials")" = 600 ] || fail "credentials file is not mode 0600"

log "building (or reusing) the default AMI"
AMI=$(default_ami)
[ "$(aws_nube ec2 describe-images --image-ids "$AMI" --query 'Images[0].State' --output text)" = available ] ||
    fail "$AMI is not available"
again=$(default_ami)
[ "$again" = "$AMI" ] || fail "building again gave a new AMI ($again, not $AMI)"

TOKEN=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
USERDATA=$(mktemp)
cat >"$USERDATA" <<EOS
#!/bin/sh
echo "$TOKEN" > /var/lib/nube-e2e-token
mkdir -p /var/lib/cloud/scripts/per-boot
cat > /var/lib/cloud/scripts/per-boot/nube-e2e.sh <<'EOF2'
#!/bin/sh
echo "NUBE-E2E-BOOT-SEES \$(cat /var/lib/nube-e2e-token)" | tee /dev/console
EOF2
chmod +x /var/lib/cloud/scripts/per-boot/nube-e2e.sh
echo "NUBE-E2E-FIRST-BOOT $TOKEN" | tee /dev/console
EOS

log "running an instance of $AMI"
ID=$(nube run "$AMI" --type t3.micro --user-data "$USERDATA" --name e2e-lifecycle)
rm -f "$USERDATA"
log "instance $ID"
[ -n "$ID" ] || fail "no instance id"
nube wait "$ID" running --timeout 120 || fail "$ID did not reach running"
wait_for 400 "cloud-init finished on first boot" console_has "$ID" "Cloud-init v\. .* finished at"
console_has "$ID" "NUBE-E2E-FIRST-BOOT $TOKEN" || fail "user data did not run"

OVERLAY="$STATE/instances/$ID/root.qcow2"
[ -f "$OVERLAY" ] || fail "no overlay at $OVERLAY"
qemu-img info -U --output=json "$OVERLAY" | grep -q '"backing-filename-format": "qcow2"' ||
    fail "overlay has no explicit qcow2 backing format"

log "stopping $ID"
nube stop "$ID"
nube wait "$ID" stopped --timeout 240 || fail "$ID did not stop"
[ -f "$OVERLAY" ] || fail "the overlay did not survive stop"

log "starting $ID again"
nube start "$ID"
nube wait "$ID" running --timeout 120 || fail "$ID did not start"
wait_for 400 "the second boot read the first boot's file" \
    console_has "$ID" "NUBE-E2E-BOOT-SEES $TOKEN"

log "restarting nubed while $ID runs"
stop_nubed
pgrep -f -- "guest=$ID" >/dev/null || fail "the guest died with nubed"
start_nubed
state_is "$ID" running || fail "after nubed restart $ID is $(instance_state "$ID")"

log "killing $ID's QEMU while nubed is down"
stop_nubed
pkill -KILL -f -- "guest=$ID" || fail "no QEMU process for $ID"
sleep 1
start_nubed
wait_for 30 "the dead guest shown stopped" state_is "$ID" stopped

log "terminating $ID"
nube terminate "$ID"
nube wait "$ID" terminated --timeout 120 || fail "$ID did not terminate"
[ ! -e "$STATE/instances/$ID" ] || fail "instance directory still there after terminate"
state_is "$ID" terminated || fail "terminated instance not describable"
PASSED=1
log "PASS"
