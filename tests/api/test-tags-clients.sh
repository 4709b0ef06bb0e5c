#!/usr/bin/env bash
# Integration: tags, filters and instance attributes driven by the real AWS
# CLI and by boto3 (test-tags-clients.py).  The AMI is a raw disk that boots
# nothing, so its instance costs a QEMU process for a few seconds, not a
# guest: it is started, powered off, modified while stopped (type, user
# data), and started again to check that its domain and NoCloud seed follow.
. "$NUBE_SRCDIR/tests/e2e/lib.sh"

BOTO_PY=$(boto3_python)

WORK=$(mktemp -d /tmp/nube-tags-XXXXXX)
setup_state "$WORK/state" "$(free_port)"
cleanup() {
    [ -n "${ID:-}" ] && aws_nube ec2 terminate-instances --instance-ids "$ID" >/dev/null 2>&1 || true
    stop_nubed
    rm -rf "$WORK"
}
trap cleanup EXIT
start_nubed

# expect_error CODE COMMAND...: the command fails naming EC2 error CODE.
expect_error() {
    local code=$1 out
    shift
    if out=$("$@" 2>&1); then fail "expected $code from: $*"; fi
    echo "$out" | grep -q "$code" || fail "expected $code, got: $out"
}

tag_count() {
    aws_nube ec2 describe-tags --filters "Name=resource-id,Values=$1" --query 'length(Tags)' --output text
}

log "an AMI to tag (a raw disk that boots nothing)"
truncate -s 64M "$WORK/disk.raw"
nube image import "$WORK/disk.raw" --format raw --name tags-disk >/dev/null
AMI=$(aws_nube ec2 describe-images --filters Name=name,Values=tags-disk --query 'Images[0].ImageId' --output text)
[[ "$AMI" == ami-* ]] || fail "no AMI: $AMI"

log "AWS CLI: create-tags, describe-tags, filters"
aws_nube ec2 create-tags --resources "$AMI" --tags Key=env,Value=test Key=team,Value=blue Key=empty
[ "$(tag_count "$AMI")" = 3 ] || fail "expected 3 tags on $AMI"
out=$(aws_nube ec2 describe-tags --filters "Name=key,Values=team" \
        --query 'Tags[0].[ResourceId,ResourceType,Key,Value]' --output text)
[ "$out" = "$(printf '%s\timage\tteam\tblue' "$AMI")" ] || fail "describe-tags: $out"
[ "$(aws_nube ec2 describe-images --filters Name=tag:env,Values=test --query 'Images[0].ImageId' --output text)" = "$AMI" ] ||
    fail "describe-images tag:env"
[ "$(aws_nube ec2 describe-images --filters Name=tag-key,Values=nothing --query 'length(Images)' --output text)" = 0 ] ||
    fail "describe-images tag-key matched a key the image lacks"
[ "$(aws_nube ec2 describe-images --filters Name=tag-value,Values=blue --query 'length(Images)' --output text)" = 1 ] ||
    fail "describe-images tag-value"

log "AWS CLI: EC2's errors, nothing half-made"
expect_error InvalidAMIID.NotFound aws_nube ec2 create-tags --resources ami-00000000000000000 --tags Key=a,Value=b
expect_error InvalidID aws_nube ec2 create-tags --resources not-an-id --tags Key=a,Value=b
expect_error InvalidParameterValue aws_nube ec2 create-tags --resources "$AMI" --tags Key=aws:x,Value=b
expect_error InvalidParameterValue aws_nube ec2 create-tags --resources "$AMI" --tags "Key=$(printf 'k%.0s' $(seq 129)),Value=b"
many=()
for i in $(seq 48); do many+=("Key=k$i,Value=v"); done
expect_error TagLimitExceeded aws_nube ec2 create-tags --resources "$AMI" --tags "${many[@]}"
[ "$(tag_count "$AMI")" = 3 ] || fail "a refused create-tags wrote tags"
expect_error InvalidAMIID.NotFound aws_nube ec2 create-tags --resources "$AMI" ami-00000000000000000 --tags Key=half,Value=made
[ "$(tag_count "$AMI")" = 3 ] || fail "create-tags on a known and an unknown resource tagged the known one"
aws_nube ec2 create-tags --resources "$AMI" --tags "${many[@]:0:47}"
[ "$(tag_count "$AMI")" = 50 ] || fail "50 tags expected"

log "AWS CLI: delete-tags"
aws_nube ec2 delete-tags --resources "$AMI" --tags Key=env,Value=prod
[ "$(tag_count "$AMI")" = 50 ] || fail "delete-tags with another value deleted the tag"
aws_nube ec2 delete-tags --resources "$AMI" --tags Key=env,Value=test Key=team
[ "$(tag_count "$AMI")" = 48 ] || fail "delete-tags by key and value"
aws_nube ec2 delete-tags --resources "$AMI"
[ "$(tag_count "$AMI")" = 0 ] || fail "delete-tags without tags did not delete every tag"

log "nube CLI: tag, tags, untag"
nube tag "$AMI" cli=yes "note=a b"
[ "$(nube tags "$AMI" -o json | python3 -c 'import json,sys; print(sorted((t["Key"], t["Value"], t["ResourceType"]) for t in json.load(sys.stdin)))')" = \
  "[('cli', 'yes', 'image'), ('note', 'a b', 'image')]" ] || fail "nube tags -o json: $(nube tags "$AMI" -o json)"
nube tags | grep -Eq "^$AMI +image +note +a b\$" || fail "nube tags: $(nube tags)"
nube untag "$AMI" cli=no
[ "$(tag_count "$AMI")" = 2 ] || fail "nube untag KEY=VALUE removed a tag with another value"
nube untag "$AMI" cli note
[ "$(tag_count "$AMI")" = 0 ] || fail "nube untag KEY"
if nube untag "$AMI" 2>/dev/null; then fail "nube untag without keys or --all succeeded"; fi
if out=$(nube tag "$AMI" aws:x=1 2>&1); then fail "nube tag aws:x succeeded"; fi
echo "$out" | grep -q InvalidParameterValue || fail "nube tag aws:x: $out"

log "an instance of it, powered off at once"
ID=$(aws_nube ec2 run-instances --image-id "$AMI" --instance-type t3.micro --count 1 \
       --query 'Instances[0].InstanceId' --output text)
wait_for 120 "$ID running" state_is "$ID" running
aws_nube ec2 stop-instances --instance-ids "$ID" --force >/dev/null
wait_for 120 "$ID stopped" state_is "$ID" stopped
VOL=$(aws_nube ec2 describe-instances --instance-ids "$ID" \
        --query 'Reservations[0].Instances[0].BlockDeviceMappings[0].Ebs.VolumeId' --output text)
[[ "$VOL" == vol-* ]] || fail "no root volume: $VOL"

log "AWS CLI: tags and filters on the instance and its volume"
aws_nube ec2 create-tags --resources "$ID" "$VOL" --tags Key=Name,Value=tagged
[ "$(aws_nube ec2 describe-volumes --filters Name=tag:Name,Values=tagged Name=attachment.instance-id,Values="$ID" \
      --query 'Volumes[0].VolumeId' --output text)" = "$VOL" ] || fail "describe-volumes tag:Name"
[ "$(aws_nube ec2 describe-instances --filters Name=tag:Name,Values=tagged Name=availability-zone,Values=nube-local-1a \
      --query 'Reservations[0].Instances[0].InstanceId' --output text)" = "$ID" ] || fail "describe-instances filters"
[ "$(aws_nube ec2 describe-tags --filters Name=resource-type,Values=volume --query 'Tags[0].ResourceId' --output text)" = "$VOL" ] ||
    fail "describe-tags resource-type volume"

log "nube CLI: modify"
if out=$(nube modify "$ID" --type t9.huge 2>&1); then fail "nube modify --type t9.huge succeeded"; fi
echo "$out" | grep -q InvalidInstanceAttributeValue || fail "nube modify t9.huge: $out"
nube modify "$ID" --type t3.nano --user-data-text 'echo from-nube'
[ "$(aws_nube ec2 describe-instance-attribute --instance-id "$ID" --attribute userData \
      --query UserData.Value --output text | base64 -d)" = "echo from-nube" ] || fail "nube modify --user-data-text"
nube modify "$ID" --type t3.micro

log "AWS CLI: instance attributes"
[ "$(aws_nube ec2 describe-instance-attribute --instance-id "$ID" --attribute instanceType \
      --query InstanceType.Value --output text)" = t3.micro ] || fail "describe-instance-attribute instanceType"
aws_nube ec2 modify-instance-attribute --instance-id "$ID" --instance-type Value=t3.small
[ "$(aws_nube ec2 describe-instance-attribute --instance-id "$ID" --attribute instanceType \
      --query InstanceType.Value --output text)" = t3.small ] || fail "modify-instance-attribute instanceType"
expect_error InvalidInstanceAttributeValue aws_nube ec2 modify-instance-attribute --instance-id "$ID" --instance-type Value=t9.huge
UD=$(printf '#!/bin/sh\necho from-awscli\n' | base64 -w0)
aws_nube ec2 modify-instance-attribute --instance-id "$ID" --attribute userData --value "$UD"
[ "$(aws_nube ec2 describe-instance-attribute --instance-id "$ID" --attribute userData \
      --query UserData.Value --output text)" = "$UD" ] || fail "modify-instance-attribute userData"

log "boto3"
"$BOTO_PY" "$NUBE_SRCDIR/tests/api/test-tags-clients.py" "$ENDPOINT" "$STATE" "$AMI" "$ID" ||
    fail "the boto3 script failed"

log "the next start uses the new type and user data"
[ "$(aws_nube ec2 describe-instance-attribute --instance-id "$ID" --attribute instanceType \
      --query InstanceType.Value --output text)" = t3.medium ] || fail "boto3 did not set t3.medium"
aws_nube ec2 start-instances --instance-ids "$ID" >/dev/null
wait_for 120 "$ID running" state_is "$ID" running
xml=$(find "$STATE/libvirt" -name "$ID.xml" | head -1)
[ -n "$xml" ] || fail "no domain XML for $ID under $STATE/libvirt"
grep -q "<memory unit='KiB'>4194304</memory>" "$xml" || fail "domain memory is not t3.medium's: $(grep memory "$xml")"
isoinfo -R -i "$STATE/instances/$ID/seed.iso" -x /user-data >"$WORK/user-data"
grep -qx 'echo from-boto3' "$WORK/user-data" || fail "the seed has not the new user data: $(cat "$WORK/user-data")"
expect_error IncorrectInstanceState aws_nube ec2 modify-instance-attribute --instance-id "$ID" --instance-type Value=t3.nano

aws_nube ec2 terminate-instances --instance-ids "$ID" >/dev/null
wait_for 120 "$ID terminated" state_is "$ID" terminated
ID=
log "PASS"
