#!/usr/bin/env bash
# e2e driven by the real AWS CLI (Debian's awscli) against nubed, with its
# own waiters: describe-images, run-instances, wait instance-running,
# describe-instances, get-console-output, terminate-instances, wait
# instance-terminated; and EC2's errors for bad input.
. "$(dirname "$0")/lib.sh"

setup_state "$(e2e_state_dir)" "$(free_port)"
cleanup() {
    [ -n "${ID:-}" ] && aws_nube ec2 terminate-instances --instance-ids "$ID" ${ID2:-} >/dev/null 2>&1 || true
    stop_nubed
}
trap cleanup EXIT
start_nubed
"$AWS_BIN" --version >&2

AMI=$(default_ami)
log "default AMI $AMI"

# expect_error CODE COMMAND...: the AWS CLI fails with EC2 error CODE.
expect_error() {
    local code=$1 out
    shift
    if out=$("$@" 2>&1); then fail "expected $code from: $*"; fi
    echo "$out" | grep -q "($code)" || fail "expected $code, got: $out"
    log "refused as expected: $code"
}

[ "$(aws_nube ec2 describe-images --owners self --filters "Name=image-id,Values=$AMI" \
      --query 'Images[0].[State,RootDeviceType,Architecture]' --output text)" = \
  "$(printf 'available\tebs\tx86_64')" ] || fail "describe-images does not show $AMI available"
aws_nube ec2 describe-regions --query 'Regions[0].RegionName' --output text | grep -q . ||
    fail "describe-regions"
aws_nube ec2 describe-availability-zones --query 'AvailabilityZones[0].State' --output text |
    grep -qx available || fail "describe-availability-zones"
[ "$(aws_nube ec2 describe-instance-types --instance-types t3.small \
      --query 'InstanceTypes[0].MemoryInfo.SizeInMiB' --output text)" = 2048 ] ||
    fail "describe-instance-types t3.small"

expect_error InvalidAMIID.NotFound aws_nube ec2 run-instances --image-id ami-00000000000000000 --count 1
expect_error InvalidParameterValue aws_nube ec2 run-instances --image-id "$AMI" --instance-type t9.huge
expect_error InvalidInstanceID.NotFound aws_nube ec2 terminate-instances --instance-ids i-00000000000000000
expect_error InvalidInstanceID.Malformed aws_nube ec2 describe-instances --instance-ids i-bogus
expect_error AuthFailure env AWS_ACCESS_KEY_ID=AKIANOTAKEY000000000 AWS_SECRET_ACCESS_KEY=x \
    "$AWS_BIN" --region nube-local-1 --endpoint-url "$ENDPOINT" ec2 describe-instances
key=$(sed -n 's/^aws_access_key_id = //p' "$STATE/credentials")
expect_error SignatureDoesNotMatch env AWS_ACCESS_KEY_ID="$key" AWS_SECRET_ACCESS_KEY=wrongwrongwrong \
    "$AWS_BIN" --region nube-local-1 --endpoint-url "$ENDPOINT" ec2 describe-instances
curl -s -d 'Action=DescribeInstances&Version=2016-11-15' "$ENDPOINT/" | grep -q '<Code>AuthFailure</Code>' ||
    fail "an unsigned request was not refused with AuthFailure"

UD=$(mktemp)
printf '#!/bin/sh\necho "nube awscli e2e" > /var/lib/nube-awscli\necho NUBE-AWSCLI-USERDATA > /dev/console\n' >"$UD"
ID=$(aws_nube ec2 run-instances --image-id "$AMI" --instance-type t3.micro --count 1 \
       --user-data "file://$UD" \
       --tag-specifications 'ResourceType=instance,Tags=[{Key=Name,Value=e2e-awscli}]' \
       --query 'Instances[0].InstanceId' --output text)
rm -f "$UD"
log "instance $ID"
aws_nube ec2 wait instance-running --instance-ids "$ID"
out=$(aws_nube ec2 describe-instances --filters "Name=tag:Name,Values=e2e-awscli" \
        "Name=instance-state-name,Values=running" \
        --query 'Reservations[0].Instances[0].[InstanceId,ImageId,InstanceType,State.Code,PrivateIpAddress]' \
        --output text)
[ "$out" = "$(printf '%s\t%s\tt3.micro\t16\t169.254.169.15' "$ID" "$AMI")" ] || fail "describe-instances: $out"
console_text() { aws_nube ec2 get-console-output --instance-id "$1" --query Output --output text; }
userdata_ran() { console_text "$ID" | grep -q NUBE-AWSCLI-USERDATA && console_text "$ID" | grep -q 'Cloud-init v. .* finished'; }
wait_for 600 "the user data ran (get-console-output)" userdata_ran

NEW=$(aws_nube ec2 create-image --instance-id "$ID" --name "e2e-awscli-$RANDOM" --query ImageId --output text)
log "create-image: $NEW"
aws_nube ec2 wait image-available --image-ids "$NEW"
ID2=$(aws_nube ec2 run-instances --image-id "$NEW" --count 1 --query 'Instances[0].InstanceId' --output text)
log "instance $ID2 from $NEW"
aws_nube ec2 wait instance-running --instance-ids "$ID2"
aws_nube ec2 wait instance-running --instance-ids "$ID"

aws_nube ec2 terminate-instances --instance-ids "$ID" "$ID2" >/dev/null
aws_nube ec2 wait instance-terminated --instance-ids "$ID" "$ID2"
[ "$(instance_state "$ID")" = terminated ] || fail "not terminated"
aws_nube ec2 deregister-image --image-id "$NEW"
if aws_nube ec2 describe-images --image-ids "$NEW" >/dev/null 2>&1; then fail "deregistered image still described"; fi
ID=
log "PASS"
