#!/usr/bin/env bash
# e2e, the tutorial's loop on real guests: instance A installs Apache from
# nube's package repository and answers HTTP 200 through its forwarded port;
# CreateImage bakes it (pending -> available); B and C from the new AMI answer
# with A's page without installing anything, and are new machines (their
# machine-id and SSH host keys differ).  Then the root device types: an
# instance-store AMI (baked from A with NoReboot) cannot be stopped, keeps its
# disk across reboot and loses it when its guest dies while nubed is down;
# an ebs root launched with DeleteOnTermination=false stays as a volume.
. "$(dirname "$0")/lib.sh"

setup_state "$(e2e_state_dir)" "$(free_port)"
IDS=()
cleanup() {
    if [ "${PASSED:-0}" != 1 ]; then
        for id in "${IDS[@]}"; do log "console of $id:"; console_tail "$id" 30; done
    fi
    for id in "${IDS[@]}"; do nube terminate "$id" >/dev/null 2>&1 || true; done
    rm -f "${UD_A:-}" "${UD_B:-}" "${UD_D:-}"
    stop_nubed
}
trap cleanup EXIT
start_nubed

AMI=$(default_ami)
log "default AMI $AMI"
SOURCE=$(nube repo add apache2 | grep '^deb ')
log "package source for guests: $SOURCE"

# http_port ID GUEST_PORT: the 127.0.0.1 port forwarded to GUEST_PORT.
http_port() {
    nube describe "$1" --output json | python3 -c "import json,sys
d=json.load(sys.stdin); print(next(f['HostPort'] for f in d['NubePortForwards'] if f['GuestPort']==$2))"
}
page_is() { [ "$(curl -s -m 5 "http://127.0.0.1:$1/")" = "$2" ]; }
machine_id() { nube console "$1" | sed -n 's/.*NUBE-MACHINE-ID \([0-9a-f]\{32\}\).*/\1/p' | tail -1; }
has_machine_id() { [ -n "$(machine_id "$1")" ]; }
host_keys() { nube console "$1" | sed -n '/BEGIN SSH HOST KEY FINGERPRINTS/,/END SSH HOST KEY FINGERPRINTS/p' | { grep -Eo 'SHA256:[A-Za-z0-9+/]+' || true; } | sort; }
has_host_keys() { [ -n "$(host_keys "$1")" ]; }

PAGE="nube e2e page $(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
UD_A=$(mktemp)
cat >"$UD_A" <<EOS
#!/bin/sh
set -e
mkdir -p /etc/apt/sources.list.d.off
mv /etc/apt/sources.list.d/* /etc/apt/sources.list.d.off/ 2>/dev/null || true
mv /etc/apt/sources.list /etc/apt/sources.list.off 2>/dev/null || true
echo "$SOURCE" > /etc/apt/sources.list.d/nube.list
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends apache2
echo "$PAGE" > /var/www/html/index.html
systemctl enable --now apache2
echo "NUBE-MACHINE-ID \$(cat /etc/machine-id)" > /dev/console
EOS
UD_B=$(mktemp)
cat >"$UD_B" <<'EOS'
#!/bin/sh
echo "NUBE-MACHINE-ID $(cat /etc/machine-id)" > /dev/console
EOS

log "A: first boot installs Apache"
A=$(nube run "$AMI" --user-data "$UD_A" --forward-port 80 --name e2e-bake-a)
IDS+=("$A")
nube wait "$A" running --timeout 120
PA=$(http_port "$A" 80)
t0=$SECONDS
wait_for 900 "A answers HTTP 200 with the page" page_is "$PA" "$PAGE"
log "A: first boot until HTTP 200: $((SECONDS - t0))s"
console_has "$A" "Setting up apache2" || fail "A's console shows no apache2 install"
wait_for 120 "A's machine-id on its console" has_machine_id "$A"

log "CreateImage from A (AWS CLI), then the waiter"
NEW=$(aws_nube ec2 create-image --instance-id "$A" --name "e2e-apache-$RANDOM" \
        --description "A with Apache" --query ImageId --output text)
[ "$(aws_nube ec2 describe-images --image-ids "$NEW" --query 'Images[0].State' --output text)" = pending ] ||
    fail "$NEW is not pending at once"
aws_nube ec2 wait image-available --image-ids "$NEW"
log "$NEW available: $(aws_nube ec2 describe-images --image-ids "$NEW" --query 'Images[0].[SourceInstanceId,CreationDate]' --output text)"
nube wait "$A" running --timeout 300 || fail "A was not started again after CreateImage"

log "B and C from $NEW: no package installs"
B=$(nube run "$NEW" --user-data "$UD_B" --forward-port 80 --name e2e-bake-b)
IDS+=("$B")
C=$(nube run "$NEW" --user-data "$UD_B" --forward-port 80 --name e2e-bake-c \
      --delete-on-termination false)
IDS+=("$C")
PB=$(http_port "$B" 80)
PC=$(http_port "$C" 80)
t0=$SECONDS
wait_for 600 "B answers with A's page" page_is "$PB" "$PAGE"
log "B: relaunch until HTTP 200: $((SECONDS - t0))s"
wait_for 300 "C answers with A's page" page_is "$PC" "$PAGE"
both_ids() { has_machine_id "$B" && has_machine_id "$C"; }
wait_for 300 "B's and C's machine-ids on their consoles" both_ids
if console_has "$B" "apt-get|Setting up apache2|Unpacking"; then fail "B ran apt"; fi
MA=$(machine_id "$A"); MB=$(machine_id "$B"); MC=$(machine_id "$C")
log "machine-ids: A $MA B $MB C $MC"
[ "$MB" != "$MC" ] && [ "$MB" != "$MA" ] && [ "$MC" != "$MA" ] || fail "machine-ids are not all different"
# cloud-init prints the host key fingerprints after the user scripts.
both_keys() { has_host_keys "$B" && has_host_keys "$C"; }
wait_for 120 "B's and C's SSH host key fingerprints on their consoles" both_keys
KB=$(host_keys "$B"); KC=$(host_keys "$C")
[ -n "$KB" ] && [ -n "$KC" ] || fail "no SSH host key fingerprints on the consoles"
[ -z "$(comm -12 <(echo "$KB") <(echo "$KC"))" ] || fail "B and C share an SSH host key"

log "ebs with DeleteOnTermination=false: C's root stays as a volume"
VOL=$(aws_nube ec2 describe-volumes --filters "Name=attachment.instance-id,Values=$C" \
        --query 'Volumes[0].[VolumeId,State,Attachments[0].DeleteOnTermination]' --output text)
read -r VID VSTATE VDOT <<<"$VOL"
[ "$VSTATE" = in-use ] && [ "$VDOT" = False ] || fail "volume of C: $VOL"
if out=$(aws_nube ec2 delete-volume --volume-id "$VID" 2>&1); then fail "deleted an in-use volume"; fi
echo "$out" | grep -q VolumeInUse || fail "delete in-use volume: $out"
nube terminate "$C"; nube wait "$C" terminated --timeout 120
[ "$(aws_nube ec2 describe-volumes --volume-ids "$VID" --query 'Volumes[0].State' --output text)" = available ] ||
    fail "C's volume is not available after terminate"
aws_nube ec2 delete-volume --volume-id "$VID"
if aws_nube ec2 describe-volumes --volume-ids "$VID" >/dev/null 2>&1; then fail "volume still there"; fi

log "instance-store: AMI baked from running B with NoReboot"
IS=$(nube image create "$B" --name "e2e-is-$RANDOM" --no-reboot --root-device-type instance-store)
state_is "$B" running || fail "NoReboot disturbed B: $(instance_state "$B")"
[ "$(aws_nube ec2 describe-images --image-ids "$IS" --query 'Images[0].[State,RootDeviceType]' --output text)" = \
  "$(printf 'available\tinstance-store')" ] || fail "$IS is not an available instance-store AMI"
nube terminate "$B" >/dev/null

UD_D=$(mktemp)
cat >"$UD_D" <<'EOS'
#!/bin/sh
echo "disk-survives-reboot" > /var/lib/nube-e2e-reboot
mkdir -p /var/lib/cloud/scripts/per-boot
printf '#!/bin/sh\necho "NUBE-E2E-REBOOT-SEES $(cat /var/lib/nube-e2e-reboot)" > /dev/console\n' \
    > /var/lib/cloud/scripts/per-boot/nube-e2e.sh
chmod +x /var/lib/cloud/scripts/per-boot/nube-e2e.sh
echo "NUBE-E2E-D-FIRST-BOOT" > /dev/console
EOS
D=$(nube run "$IS" --user-data "$UD_D" --name e2e-instance-store)
IDS+=("$D")
nube wait "$D" running --timeout 120
wait_for 600 "D's first boot ran its user data" console_has "$D" "NUBE-E2E-D-FIRST-BOOT"
[ "$(aws_nube ec2 describe-instances --instance-ids "$D" --query 'Reservations[0].Instances[0].RootDeviceType' --output text)" = instance-store ] ||
    fail "D does not inherit instance-store"
expect_unsupported() {
    local out
    if out=$(aws_nube ec2 stop-instances --instance-ids "$D" 2>&1); then fail "stopped an instance-store instance"; fi
    echo "$out" | grep -q UnsupportedOperation || fail "stop instance-store: $out"
}
expect_unsupported
state_is "$D" running || fail "the refused stop changed D"
log "rebooting D: its disk stays"
nube reboot "$D"
wait_for 600 "D's second boot found the file" console_has "$D" "NUBE-E2E-REBOOT-SEES disk-survives-reboot"
DDIR="$STATE/instances/$D"
[ -f "$DDIR/root.qcow2" ] || fail "D has no disk"
log "D's guest dies while nubed is down: the instance and its disk are gone"
stop_nubed
pkill -KILL -f -- "guest=$D" || fail "no QEMU process for $D"
sleep 1
start_nubed
wait_for 60 "D terminated" state_is "$D" terminated
[ ! -e "$DDIR" ] || fail "D's instance-store disk survived"

nube terminate "$A" >/dev/null
nube wait "$A" terminated --timeout 120
aws_nube ec2 deregister-image --image-id "$IS"
aws_nube ec2 deregister-image --image-id "$NEW"
IDS=()
PASSED=1
log "PASS"
