#!/usr/bin/env bash
# Integration, no guest booted: nubed's HTTP API with real clients.  The AWS
# CLI works with the files nubed writes; unsigned and wrongly signed
# requests are refused; one nubed per state directory; keys survive a
# restart; image import refuses a missing file at once, and a qcow2 with a
# backing file by a failed image with the reason, leaving no file behind;
# an imported AMI's base is removed when it is deregistered; run-instances
# retried with the same client token makes one instance (its AMI is a raw
# disk that boots nothing: a QEMU process for a few seconds); --dry-run
# changes nothing; unknown parameters are refused (boto3, test-http.py).
. "$NUBE_SRCDIR/tests/e2e/lib.sh"

BOTO_PY=$(boto3_python)

WORK=$(mktemp -d /tmp/nube-http-XXXXXX)
setup_state "$WORK/state" "$(free_port)"
cleanup() {
    [ -n "${ID:-}" ] && aws_nube ec2 terminate-instances --instance-ids "$ID" >/dev/null 2>&1 || true
    stop_nubed
    rm -rf "$WORK"
}
trap cleanup EXIT
start_nubed

[ "$(stat -c %a "$STATE/credentials")" = 600 ] || fail "credentials not 0600"
grep -q '^\[nube\]' "$STATE/credentials" || fail "no [nube] profile in credentials"
grep -q '^\[profile nube\]' "$STATE/config" || fail "no [profile nube] in config"
key=$(sed -n 's/^aws_access_key_id = //p' "$STATE/credentials")

aws_nube ec2 describe-regions --query 'Regions[0].RegionName' --output text | grep -qx nube-local-1 ||
    fail "describe-regions through the AWS CLI"
[ "$(aws_nube ec2 describe-instances --query 'length(Reservations)' --output text)" = 0 ] ||
    fail "a new nubed has instances"

code=$(curl -s -o "$WORK/out" -w '%{http_code}' -d 'Action=DescribeRegions&Version=2016-11-15' "$ENDPOINT/")
[ "$code" = 401 ] && grep -q '<Code>AuthFailure</Code>' "$WORK/out" || fail "unsigned request: $code $(cat "$WORK/out")"

if "$NUBED" --state-dir "$STATE" --listen "127.0.0.1:$(free_port)" >"$WORK/second.log" 2>&1; then
    fail "a second nubed started on the same state directory"
fi
grep -q "another nubed" "$WORK/second.log" || fail "second nubed: $(cat "$WORK/second.log")"

stop_nubed
start_nubed
[ "$(sed -n 's/^aws_access_key_id = //p' "$STATE/credentials")" = "$key" ] || fail "keys changed on restart"
aws_nube ec2 describe-availability-zones --query 'AvailabilityZones[0].ZoneName' --output text |
    grep -qx nube-local-1a || fail "describe-availability-zones after restart"

log "import refuses a file that does not exist at once, with no record"
if out=$(nube image import "$WORK/missing.qcow2" --name missing-image 2>&1); then fail "missing file imported"; fi
echo "$out" | grep -q "InvalidParameterValue: Path '$WORK/missing.qcow2' is not an absolute path to a regular file" ||
    fail "missing file: $out"
[ "$(aws_nube ec2 describe-images --query 'length(Images)' --output text)" = 0 ] || fail "a record was left"

log "import refuses a qcow2 whose backing file is a host file: the image fails"
qemu-img create -q -f qcow2 -F raw -b /etc/passwd "$WORK/evil.qcow2"
refusal="image file '$WORK/evil.qcow2' has a backing file; only standalone images can be imported"
if out=$(nube image import "$WORK/evil.qcow2" --name evil-image 2>&1); then fail "evil image imported"; fi
echo "$out" | grep -qF "failed: $refusal" || fail "evil import: $out"
[ "$(aws_nube ec2 describe-images --query 'length(Images)' --output text)" = 1 ] || fail "not one record"
EVIL=$(aws_nube ec2 describe-images --filters Name=name,Values=evil-image --query 'Images[0].ImageId' --output text)
[ "$(aws_nube ec2 describe-images --image-ids "$EVIL" --query 'Images[0].State' --output text)" = failed ] ||
    fail "evil image not failed"
reason=$(aws_nube ec2 describe-images --image-ids "$EVIL" --query 'Images[0].StateReason.Message' --output text)
[ "$reason" = "$refusal" ] || fail "evil image's reason: $reason"
[ -z "$(ls -A "$STATE/images/bases" 2>/dev/null)" ] || fail "a base file was left"
aws_nube ec2 deregister-image --image-id "$EVIL"

log "import is confined to the import directories, and checks what it reads"
if out=$(nube image import /etc/shadow --format raw --name shadow 2>&1); then fail "/etc/shadow imported"; fi
echo "$out" | grep -q "not in an import directory" || fail "/etc/shadow: $out"
ln -s /etc/passwd "$WORK/passwd.raw"
if out=$(nube image import "$WORK/passwd.raw" --format raw --name passwd 2>&1); then fail "a link to /etc/passwd imported"; fi
echo "$out" | grep -q "not in an import directory" || fail "link to /etc/passwd: $out"
qemu-img create -q -f qcow2 "$WORK/huge.qcow2" 100T
if out=$(nube image import "$WORK/huge.qcow2" --name huge 2>&1); then fail "a 100 TiB disk imported"; fi
echo "$out" | grep -q "larger than the 2048 GiB" || fail "100 TiB disk: $out"
truncate -s 16M "$WORK/small.raw"
echo "not a kernel" > "$WORK/vmlinuz"
if out=$(nube image import "$WORK/small.raw" --format raw --kernel "$WORK/vmlinuz" --name fake-kernel 2>&1); then
    fail "a text file imported as a kernel"
fi
echo "$out" | grep -q "is not a Linux kernel" || fail "fake kernel: $out"
[ "$(aws_nube ec2 describe-images --query 'length(Images)' --output text)" = 0 ] || fail "a refused import left a record"

log "import of a raw disk, then deregister"
truncate -s 64M "$WORK/disk.raw"
printf 'nube test disk' | dd of="$WORK/disk.raw" conv=notrunc status=none
AMI=$(aws_nube ec2 describe-images --query 'Images[0].ImageId' --output text)
out=$(nube image import "$WORK/disk.raw" --format raw --name test-disk-1 2>&1) || fail "import: $out"
AMI=$(aws_nube ec2 describe-images --filters Name=name,Values=test-disk-1 --query 'Images[0].ImageId' --output text)
[ "$(aws_nube ec2 describe-images --image-ids "$AMI" --query 'Images[0].State' --output text)" = available ] ||
    fail "imported AMI not available"
[ "$(ls "$STATE/images/bases" | wc -l)" = 1 ] || fail "expected one base file"
if out=$(nube image import "$WORK/disk.raw" --format raw --name test-disk-1 2>&1); then fail "duplicate name accepted"; fi
echo "$out" | grep -q InvalidAMIName.Duplicate || fail "duplicate name: $out"
aws_nube ec2 deregister-image --image-id "$AMI"
[ -z "$(ls -A "$STATE/images/bases")" ] || fail "base not removed after deregister"

log "run-instances retried with the same client token"
nube image import "$WORK/disk.raw" --format raw --name test-disk-2 >/dev/null
AMI=$(aws_nube ec2 describe-images --filters Name=name,Values=test-disk-2 --query 'Images[0].ImageId' --output text)
TOKEN="http-test-$RANDOM-$RANDOM"
run_once() {
    aws_nube ec2 run-instances --image-id "$AMI" --instance-type t3.nano --count 1 \
        --client-token "$TOKEN" --query '[ReservationId,Instances[0].InstanceId]' --output text
}
first=$(run_once) || fail "run-instances: $first"
ID=$(cut -f2 <<<"$first")
[[ "$ID" == i-* ]] || fail "no instance: $first"
again=$(run_once) || fail "run-instances again: $again"
[ "$again" = "$first" ] || fail "the retry answered $again, the first call $first"
[ "$(aws_nube ec2 describe-instances --filters "Name=image-id,Values=$AMI" \
      --query 'length(Reservations[].Instances[])' --output text)" = 1 ] || fail "more than one instance of $AMI"
[ "$(aws_nube ec2 describe-instances --instance-ids "$ID" \
      --query 'Reservations[0].Instances[0].ClientToken' --output text)" = "$TOKEN" ] || fail "no ClientToken in describe-instances"
if out=$(aws_nube ec2 run-instances --image-id "$AMI" --instance-type t3.micro --count 1 \
        --client-token "$TOKEN" 2>&1); then fail "the same token with another type launched: $out"; fi
echo "$out" | grep -q IdempotentParameterMismatch || fail "mismatch: $out"

log "dry runs change nothing"
if out=$(aws_nube ec2 terminate-instances --instance-ids "$ID" --dry-run 2>&1); then
    fail "terminate-instances --dry-run succeeded: $out"
fi
echo "$out" | grep -q DryRunOperation || fail "terminate-instances --dry-run: $out"
if out=$(aws_nube ec2 run-instances --image-id "$AMI" --count 1 --dry-run 2>&1); then
    fail "run-instances --dry-run succeeded: $out"
fi
echo "$out" | grep -q DryRunOperation || fail "run-instances --dry-run: $out"
state=$(instance_state "$ID")
[ "$state" = pending ] || [ "$state" = running ] || fail "$ID is $state after a dry run"
[ "$(aws_nube ec2 describe-instances --filters "Name=image-id,Values=$AMI" \
      --query 'length(Reservations[].Instances[])' --output text)" = 1 ] || fail "a dry run launched"
"$BOTO_PY" "$NUBE_SRCDIR/tests/api/test-http.py" "$ENDPOINT" "$STATE" "$AMI" "$ID" ||
    fail "the boto3 script failed"

aws_nube ec2 terminate-instances --instance-ids "$ID" >/dev/null
wait_for 120 "$ID terminated" state_is "$ID" terminated
ID=
log "PASS"
