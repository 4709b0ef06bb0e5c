#!/usr/bin/env bash
# e2e, key pairs and security groups on one real guest:
#  - an Ed25519 key pair made by nubed: `ssh -i key debian@127.0.0.1` logs in
#    through the port its new security group's rule (TCP 22) forwards;
#  - DescribeInstances (AWS CLI) shows the key name and the group;
#  - AuthorizeSecurityGroupIngress for 8080 on the running instance opens a
#    forwarded port that answers the guest's HTTP responder at once, and
#    RevokeSecurityGroupIngress closes it again (connection refused);
#  - the group cannot be deleted while the instance uses it.
. "$(dirname "$0")/lib.sh"

setup_state "$(e2e_state_dir)" "$(free_port)"
WORK=$(mktemp -d /tmp/nube-e2e-keys-XXXXXX)
TAG="$$-$RANDOM"
KEY="e2e-key-$TAG"
GROUP="e2e-sg-$TAG"
ID=
cleanup() {
    if [ "${PASSED:-0}" != 1 ] && [ -n "$ID" ]; then
        log "console of $ID:"
        console_tail "$ID" 40
        tail -40 "$STATE/nubed-test.log" >&2 || true
    fi
    [ -n "$ID" ] && nube terminate "$ID" >/dev/null 2>&1 || true
    if [ -n "$ID" ]; then
        for _ in $(seq 1 30); do state_is "$ID" terminated 2>/dev/null && break; sleep 2; done
    fi
    nube sg delete "$GROUP" >/dev/null 2>&1 || true
    nube keypair delete "$KEY" >/dev/null 2>&1 || true
    rm -rf "$WORK"
    stop_nubed
}
trap cleanup EXIT
start_nubed

AMI=$(default_ami)
log "default AMI $AMI"

# forward ID GUEST_PORT: the 127.0.0.1 port forwarded to GUEST_PORT, or
# nothing.
forward() {
    nube describe "$1" --output json | python3 -c "import json,sys
d=json.load(sys.stdin)
print(next((f['HostPort'] for f in d.get('NubePortForwards',[]) if f['GuestPort']==$2), ''))"
}
ssh_guest() {
    ssh -i "$WORK/key" -p "$SSH_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
        -o BatchMode=yes -o ConnectTimeout=10 -o LogLevel=ERROR debian@127.0.0.1 "$@"
}
ssh_true() { ssh_guest true </dev/null; }
page_is() { [ "$(curl -s -m 5 "http://127.0.0.1:$1/")" = "$2" ]; }
refused() {
    local rc=0
    curl -s -m 5 -o /dev/null "http://127.0.0.1:$1/" || rc=$?
    [ "$rc" = 7 ]
}

nube keypair create "$KEY" --type ed25519 -f "$WORK/key" >/dev/null
nube sg create "$GROUP" --description "e2e keys and groups" >/dev/null
nube sg allow "$GROUP" 22 >/dev/null
ID=$(nube run "$AMI" --name e2e-keys-sg --key "$KEY" --security-group "$GROUP")
log "instance $ID (key $KEY, group $GROUP)"

got=$(aws_nube ec2 describe-instances --instance-ids "$ID" \
    --query 'Reservations[0].Instances[0].[KeyName,SecurityGroups[0].GroupName,length(SecurityGroups)]' \
    --output text | tr '\t' ' ')
[ "$got" = "$KEY $GROUP 1" ] || fail "DescribeInstances shows '$got'"
SSH_PORT=$(forward "$ID" 22)
[ -n "$SSH_PORT" ] || fail "no forward of port 22 although the group opens it"
[ -z "$(forward "$ID" 8080)" ] || fail "port 8080 is forwarded before any rule opens it"

out=$(nube wait "$ID" ready --timeout 400) || fail "nube wait ready: $out"
log "$out"
wait_for 90 "ssh -i key debian@127.0.0.1:$SSH_PORT" ssh_true
[ "$(ssh_guest id -un </dev/null)" = debian ] || fail "ssh did not log in as debian"

log "an HTTP responder on the guest's port 8080"
cat >"$WORK/responder.pl" <<'EOS'
use IO::Socket::INET;
my $s = IO::Socket::INET->new(LocalPort => 8080, Listen => 5, ReuseAddr => 1) or die "listen: $!";
while (my $c = $s->accept) {
    while (my $line = <$c>) { last if $line =~ /^\r?\n$/; }
    print $c "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nnube-sg\n";
    close $c;
}
EOS
ssh_guest 'cat >/tmp/responder.pl && (setsid perl /tmp/responder.pl </dev/null >/tmp/responder.log 2>&1 &)' \
    <"$WORK/responder.pl"
guest_page() { ssh_guest 'curl -s -m 5 http://127.0.0.1:8080/ | grep -qx nube-sg' </dev/null; }
wait_for 30 "the responder inside the guest" guest_page

log "AuthorizeSecurityGroupIngress 8080 on the running instance"
aws_nube ec2 authorize-security-group-ingress --group-name "$GROUP" --protocol tcp --port 8080 \
    --cidr 0.0.0.0/0 >/dev/null
HP=$(forward "$ID" 8080)
[ -n "$HP" ] || fail "no forward of port 8080 after the rule"
wait_for 30 "HTTP 200 on 127.0.0.1:$HP" page_is "$HP" nube-sg
grep -q "$ID: guest port 8080 forwarded from 127.0.0.1:$HP" "$STATE/nubed-test.log" ||
    fail "nubed did not log the new forward"

expect_dependency() {
    local out
    if out=$(nube sg delete "$GROUP" 2>&1); then fail "a group in use was deleted"; fi
    grep -q DependencyViolation <<<"$out" || fail "sg delete: $out"
}
expect_dependency

log "RevokeSecurityGroupIngress 8080"
aws_nube ec2 revoke-security-group-ingress --group-name "$GROUP" --protocol tcp --port 8080 \
    --cidr 0.0.0.0/0 >/dev/null
[ -z "$(forward "$ID" 8080)" ] || fail "port 8080 still listed after the revoke"
wait_for 30 "127.0.0.1:$HP refusing connections" refused "$HP"
ssh_true || fail "ssh stopped working after the revoke of another port"

nube terminate "$ID" >/dev/null
wait_for 120 "$ID terminated" state_is "$ID" terminated
nube sg delete "$GROUP" >/dev/null || fail "the group of a terminated instance cannot be deleted"
nube keypair delete "$KEY" >/dev/null
ID=
PASSED=1
log "PASS"
