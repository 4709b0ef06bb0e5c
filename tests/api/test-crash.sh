#!/usr/bin/env bash
# Integration, no guest booted (the AMI is a raw disk that boots nothing, so
# an instance is a QEMU process): nubed is killed with SIGKILL at chosen
# points (NUBE_FAULT, common/fault.h) inside RunInstances, the launch,
# TerminateInstances, NubeImportImage and CreateImage; after each restart
# every request either completed or left nothing behind.  Then 30 cycles
# of RunInstances followed at once by TerminateInstances leave no QEMU,
# domain or instance directory behind.
. "$NUBE_SRCDIR/tests/e2e/lib.sh"

WORK=$(mktemp -d /tmp/nube-crash-XXXXXX)
setup_state "$WORK/state" "$(free_port)"
cleanup() { stop_nubed; pkill -KILL -f "guest=i-.*$WORK" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# crash_at POINT COMMAND...: runs COMMAND against a nubed that dies at POINT;
# the command may fail (its connection dies).  nubed must be dead after it.
crash_at() {
    local point=$1
    shift
    stop_nubed
    export NUBE_FAULT=$point
    start_nubed
    unset NUBE_FAULT
    "$@" >"$WORK/crash.out" 2>&1 || true
    for _ in $(seq 1 150); do kill -0 "$NUBED_PID" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$NUBED_PID" 2>/dev/null && fail "nubed did not die at $point"
    grep -q "fault injection: dying at '$point'" "$STATE/nubed-test.log" || fail "no fault at $point"
    NUBED_PID=
    start_nubed
}

state_of() {
    aws_nube ec2 describe-instances --instance-ids "$1" --query 'Reservations[0].Instances[0].State.Name' --output text
}
image_state() {
    aws_nube ec2 describe-images --image-ids "$1" --query 'Images[0].State' --output text
}
ids_in() { aws_nube ec2 describe-instances --query 'Reservations[].Instances[].InstanceId' --output text; }
qemus() { pgrep -f "guest=i-[0-9a-f]*.*$STATE" | wc -l; }
bases() { ls "$STATE/images/bases" | wc -l; }

start_nubed
truncate -s 64M "$WORK/disk.raw"
nube image import "$WORK/disk.raw" --format raw --name crash-disk >/dev/null
AMI=$(aws_nube ec2 describe-images --filters Name=name,Values=crash-disk --query 'Images[0].ImageId' --output text)
[[ "$AMI" == ami-* ]] || fail "no AMI: $AMI"

log "killed after RunInstances recorded its instance: the launch completes after the restart"
crash_at run.recorded aws_nube ec2 run-instances --image-id "$AMI" --instance-type t3.micro
ID=$(ids_in)
[[ "$ID" == i-* ]] || fail "no instance after the crash: '$ID'"
wait_for 60 "$ID running" state_is "$ID" running
[ "$(qemus)" = 1 ] || fail "expected one QEMU, found $(qemus)"

log "killed in the launch job: the launch completes after the restart"
crash_at launch.begin aws_nube ec2 run-instances --image-id "$AMI" --instance-type t3.micro
ID2=$(ids_in | tr '\t' '\n' | grep -v "$ID")
[[ "$ID2" == i-* ]] || fail "no second instance: '$ID2'"
wait_for 60 "$ID2 running" state_is "$ID2" running

log "killed in TerminateInstances after the domain went: terminated, no files"
crash_at terminate.undefined aws_nube ec2 terminate-instances --instance-ids "$ID2"
wait_for 60 "$ID2 terminated" state_is "$ID2" terminated
[ ! -e "$STATE/instances/$ID2" ] || fail "the directory of $ID2 was left"
[ "$(qemus)" = 1 ] || fail "expected one QEMU ($ID), found $(qemus)"

log "killed in NubeImportImage after the base was stored: failed, no base left"
before=$(bases)
cp "$WORK/disk.raw" "$WORK/disk2.raw"
printf 'another disk' | dd of="$WORK/disk2.raw" conv=notrunc status=none
crash_at import.stored nube image import "$WORK/disk2.raw" --format raw --name crash-import
IMP=$(aws_nube ec2 describe-images --filters Name=name,Values=crash-import --query 'Images[0].ImageId' --output text)
[ "$(image_state "$IMP")" = failed ] || fail "interrupted import is $(image_state "$IMP")"
aws_nube ec2 describe-images --image-ids "$IMP" --query 'Images[0].StateReason.Message' --output text |
    grep -q "nubed stopped while the image was being made" || fail "no state reason on $IMP"
[ "$(bases)" = "$before" ] || fail "the interrupted import left a base ($(bases), was $before)"
out=$(nube image import "$WORK/disk2.raw" --format raw --name crash-import-2 2>&1) || fail "import after the crash: $out"

log "killed in CreateImage: the image fails, the same name can be used again"
aws_nube ec2 stop-instances --force --instance-ids "$ID" >/dev/null
wait_for 60 "$ID stopped" state_is "$ID" stopped
crash_at bake.copied aws_nube ec2 create-image --instance-id "$ID" --name crash-bake
BAKE=$(aws_nube ec2 describe-images --filters Name=name,Values=crash-bake --query 'Images[0].ImageId' --output text)
[ "$(image_state "$BAKE")" = failed ] || fail "interrupted bake is $(image_state "$BAKE")"
[ "$(state_of "$ID")" = stopped ] || fail "the stopped instance is $(state_of "$ID")"
[ -z "$(ls -A "$STATE/images/tmp")" ] || fail "work files left in images/tmp: $(ls "$STATE/images/tmp")"
aws_nube ec2 deregister-image --image-id "$BAKE"
aws_nube ec2 terminate-instances --instance-ids "$ID" >/dev/null
wait_for 60 "$ID terminated" state_is "$ID" terminated

log "30 cycles of run-instances then terminate-instances at once"
for i in $(seq 30); do
    id=$(aws_nube ec2 run-instances --image-id "$AMI" --instance-type t3.micro \
        --query 'Instances[0].InstanceId' --output text)
    aws_nube ec2 terminate-instances --instance-ids "$id" >/dev/null
done
live() {
    [ "$(aws_nube ec2 describe-instances --filters Name=instance-state-name,Values=pending,running,stopping,stopped,shutting-down \
        --query 'length(Reservations)' --output text)" = 0 ]
}
wait_for 120 "every instance terminated" live
wait_for 30 "no QEMU left" test "$(qemus)" = 0
[ -z "$(ls -A "$STATE/instances")" ] || fail "instance directories left: $(ls "$STATE/instances")"
stop_nubed
doms=$(virsh -q -c "qemu:///embed?root=$STATE/libvirt" list --all --name 2>&1 | grep -c '^i-' || true)
[ "$doms" = 0 ] || fail "$doms domain definitions left"
log "PASS"
