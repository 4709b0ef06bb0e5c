#!/usr/bin/env bash
# e2e, the instance metadata service (issue 5) on a real guest booted
# WITHOUT a NoCloud seed: its cloud-init recognizes an EC2-style platform
# from the SMBIOS data and takes everything from 169.254.169.254: the user
# data (which then reads its own instance id with IMDSv1 and IMDSv2 and
# prints it on the console) and the key pair's public key (ssh -i logs in).
# Then, over ssh: curl reads the instance id and user data with and without
# a token; after ModifyInstanceMetadataOptions HttpTokens=required a request
# without a token is refused (401) and one with a token still answers.
. "$(dirname "$0")/lib.sh"

setup_state "$(e2e_state_dir)" "$(free_port)"
WORK=$(mktemp -d /tmp/nube-imds-XXXXXX)
IDS=()
KEY=
cleanup() {
    if [ "${PASSED:-0}" != 1 ]; then
        for id in "${IDS[@]}"; do log "console of $id:"; console_tail "$id" 60; done
        tail -30 "$STATE/nubed-test.log" >&2 || true
    fi
    for id in "${IDS[@]}"; do nube terminate "$id" >/dev/null 2>&1 || true; done
    [ -z "$KEY" ] || nube keypair delete "$KEY" >/dev/null 2>&1 || true
    rm -rf "$WORK"
    stop_nubed
}
trap cleanup EXIT
start_nubed

AMI=$(default_ami)
log "default AMI $AMI"
KEY="e2e-imds-$RANDOM"
nube keypair create "$KEY" --type ed25519 -f "$WORK/key" >/dev/null
cat >"$WORK/ud" <<'EOS'
#!/bin/sh
M=http://169.254.169.254/latest
echo "NUBE-IMDS-V1 $(curl -s $M/meta-data/instance-id)" >/dev/console
T=$(curl -s -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' $M/api/token)
echo "NUBE-IMDS-V2 $(curl -s -H "X-aws-ec2-metadata-token: $T" $M/meta-data/instance-id)" >/dev/console
EOS
M=$(nube run "$AMI" --name e2e-imds --no-seed --key "$KEY" --user-data "$WORK/ud" --output json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["InstanceId"])')
IDS+=("$M")
log "M=$M, no NoCloud seed"
wait_for 400 "M's user data (from the metadata service) on its console" console_has "$M" "NUBE-IMDS-V2 i-"
v1=$(nube console "$M" | sed -n 's/.*NUBE-IMDS-V1 \(i-[0-9a-f]*\).*/\1/p' | tail -1)
v2=$(nube console "$M" | sed -n 's/.*NUBE-IMDS-V2 \(i-[0-9a-f]*\).*/\1/p' | tail -1)
[ "$v1" = "$M" ] || fail "IMDSv1 instance-id inside M is '$v1'"
[ "$v2" = "$M" ] || fail "IMDSv2 instance-id inside M is '$v2'"
log "inside M: IMDSv1 and IMDSv2 both say $M"

PORT_SSH=$(nube describe "$M" --output json | python3 -c "import json,sys
d=json.load(sys.stdin); print(next(f['HostPort'] for f in d['NubePortForwards'] if f['GuestPort']==22))")
on_m() {
    ssh -i "$WORK/key" -p "$PORT_SSH" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
        -o BatchMode=yes -o ConnectTimeout=10 -o LogLevel=ERROR debian@127.0.0.1 "$@"
}
wait_for 120 "ssh -i key into M (public key from the metadata service)" on_m true
code() { on_m "curl -s -o /dev/null -w '%{http_code}' $1 http://169.254.169.254/latest/$2"; }
TOKEN_CMD='$(curl -s -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" http://169.254.169.254/latest/api/token)'
[ "$(code '' meta-data/instance-id)" = 200 ] || fail "IMDSv1 GET is not 200"
on_m "curl -s http://169.254.169.254/latest/user-data" | grep -q "NUBE-IMDS-V2" || fail "user-data over IMDSv1"
[ "$(code '' meta-data/no-such-thing)" = 404 ] || fail "a wrong path is not 404"
[ "$(on_m "curl -s http://169.254.169.254/latest/meta-data/public-keys/0/openssh-key" | cut -d' ' -f1)" = ssh-ed25519 ] ||
    fail "public-keys/0/openssh-key"

log "HttpTokens=required on M"
aws_nube ec2 modify-instance-metadata-options --instance-id "$M" --http-tokens required >/dev/null
[ "$(aws_nube ec2 describe-instances --instance-ids "$M" --query 'Reservations[0].Instances[0].MetadataOptions.HttpTokens' --output text)" = required ] ||
    fail "describe-instances does not show HttpTokens required"
[ "$(code '' meta-data/instance-id)" = 401 ] || fail "IMDSv1 GET is not refused after HttpTokens=required"
got=$(on_m "curl -s -H \"X-aws-ec2-metadata-token: $TOKEN_CMD\" http://169.254.169.254/latest/meta-data/instance-id")
[ "$got" = "$M" ] || fail "IMDSv2 GET after HttpTokens=required: '$got'"
on_m "curl -s -H \"X-aws-ec2-metadata-token: $TOKEN_CMD\" http://169.254.169.254/latest/user-data" |
    grep -q "NUBE-IMDS-V2" || fail "user-data over IMDSv2"
# The agent reads user data from the seed only: nube says it cannot tell.
if out=$(nube wait "$M" ready --timeout 60 2>&1); then fail "nube wait ready on M (no seed) succeeded: $out"; fi
grep -q "no guest agent that can report its user data" <<<"$out" || fail "nube wait ready on M: $out"
nube terminate "$M" >/dev/null

PASSED=1
log "PASS"
