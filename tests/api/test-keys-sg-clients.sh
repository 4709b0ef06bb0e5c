#!/usr/bin/env bash
# Integration, no guest booted: key pairs and security groups through the
# real clients against nubed: the AWS CLI, nube's own commands and a boto3
# script (test-keys-sg-clients.py), with EC2's error codes for bad input.
. "$NUBE_SRCDIR/tests/e2e/lib.sh"

BOTO_PY=$(boto3_python)

WORK=$(mktemp -d /tmp/nube-kpsg-XXXXXX)
setup_state "$WORK/state" "$(free_port)"
cleanup() { stop_nubed; rm -rf "$WORK"; }
trap cleanup EXIT
start_nubed

# expect_code CODE COMMAND...: COMMAND fails and says CODE.
expect_code() {
    local code=$1 out
    shift
    if out=$("$@" 2>&1); then fail "$* succeeded, expected $code"; fi
    grep -q -- "$code" <<<"$out" || fail "$*: expected $code, got: $out"
}

log "AWS CLI: key pairs"
aws_nube ec2 create-key-pair --key-name cli-key --key-type ed25519 \
    --query KeyMaterial --output text >"$WORK/cli-key"
chmod 600 "$WORK/cli-key"
pub=$(aws_nube ec2 describe-key-pairs --key-names cli-key --include-public-key \
    --query 'KeyPairs[0].PublicKey' --output text)
[ "$(ssh-keygen -y -f "$WORK/cli-key")" = "$pub" ] || fail "the private key does not match '$pub'"
ssh-keygen -q -N '' -t ed25519 -f "$WORK/imp"
aws_nube ec2 import-key-pair --key-name cli-imp --public-key-material "fileb://$WORK/imp.pub" >/dev/null
fp=$(aws_nube ec2 describe-key-pairs --key-names cli-imp --query 'KeyPairs[0].KeyFingerprint' --output text)
[ "SHA256:${fp%=}" = "$(ssh-keygen -l -f "$WORK/imp.pub" | cut -d' ' -f2)" ] || fail "fingerprint $fp"
expect_code InvalidKeyPair.Duplicate aws_nube ec2 import-key-pair --key-name cli-imp \
    --public-key-material "fileb://$WORK/imp.pub"
expect_code InvalidKeyPair.NotFound aws_nube ec2 describe-key-pairs --key-names cli-nope
aws_nube ec2 delete-key-pair --key-name cli-imp >/dev/null

log "AWS CLI: security groups"
SG=$(aws_nube ec2 create-security-group --group-name cli-sg --description "cli group" \
    --query GroupId --output text)
aws_nube ec2 authorize-security-group-ingress --group-id "$SG" --protocol tcp --port 8000-8010 \
    --cidr 192.168.0.0/16 >/dev/null
found=$(aws_nube ec2 describe-security-groups \
    --filters Name=ip-permission.from-port,Values=8000 --query 'SecurityGroups[].GroupName' --output text)
[ "$found" = cli-sg ] || fail "filter ip-permission.from-port found '$found'"
expect_code InvalidPermission.Duplicate aws_nube ec2 authorize-security-group-ingress \
    --group-id "$SG" --protocol tcp --port 8000-8010 --cidr 192.168.0.0/16
expect_code InvalidParameterValue aws_nube ec2 authorize-security-group-ingress \
    --group-id "$SG" --protocol udp --port 53 --cidr 0.0.0.0/0
expect_code InvalidParameterValue aws_nube ec2 authorize-security-group-ingress \
    --group-id "$SG" --protocol tcp --port 80 --cidr 300.0.0.0/8
expect_code InvalidPermission.NotFound aws_nube ec2 revoke-security-group-ingress \
    --group-id "$SG" --protocol tcp --port 9 --cidr 0.0.0.0/0
expect_code CannotDelete aws_nube ec2 delete-security-group --group-name default
expect_code InvalidGroup.NotFound aws_nube ec2 delete-security-group --group-id sg-00000000000000000
aws_nube ec2 revoke-security-group-ingress --group-id "$SG" --protocol tcp --port 8000-8010 \
    --cidr 192.168.0.0/16 >/dev/null
[ "$(aws_nube ec2 describe-security-groups --group-ids "$SG" \
    --query 'length(SecurityGroups[0].IpPermissions)' --output text)" = 0 ] || fail "rule left after revoke"
aws_nube ec2 delete-security-group --group-id "$SG"

log "nube: keypair and sg commands"
nube keypair create nube-key --type rsa -f "$WORK/nube-key" >/dev/null
[ "$(stat -c %a "$WORK/nube-key")" = 600 ] || fail "the private key file is not 0600"
head -1 "$WORK/nube-key" | grep -qx -- '-----BEGIN RSA PRIVATE KEY-----' || fail "not a PKCS#1 PEM key"
expect_code "refusing to overwrite" nube keypair create nube-key2 -f "$WORK/nube-key"
nube keypair list | grep -q '^key-[0-9a-f]* *nube-key *rsa' || fail "nube keypair list: $(nube keypair list)"
nube sg create nube-web --description "nube web" >/dev/null
nube sg allow nube-web 8080-8081 --cidr 10.0.0.0/8 >/dev/null
nube sg list | grep -q 'nube-web .*tcp/8080-8081 from 10.0.0.0/8' || fail "nube sg list: $(nube sg list)"
expect_code InvalidParameterValue nube sg allow nube-web 1-1000
nube sg revoke nube-web 8080-8081 --cidr 10.0.0.0/8 >/dev/null
nube sg delete nube-web >/dev/null
nube keypair delete nube-key >/dev/null
expect_code InvalidKeyPair.NotFound nube keypair delete nube-key

log "boto3"
AWS_SHARED_CREDENTIALS_FILE="$STATE/credentials" AWS_CONFIG_FILE="$STATE/config" \
    "$BOTO_PY" "$NUBE_SRCDIR/tests/api/test-keys-sg-clients.py" "$ENDPOINT" || fail "test-keys-sg-clients.py"
log "PASS"
