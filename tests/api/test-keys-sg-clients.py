#!/usr/bin/env python3
"""boto3 against nubed: key pairs and security groups end to end, with
EC2's error codes.  Usage: test-keys-sg-clients.py ENDPOINT (credentials from the
profile "nube" of $AWS_SHARED_CREDENTIALS_FILE / $AWS_CONFIG_FILE)."""
import os
import subprocess
import sys
import tempfile

import boto3
from botocore.exceptions import ClientError

ec2 = boto3.Session(profile_name="nube").client("ec2", endpoint_url=sys.argv[1])


def log(msg):
    print(f"boto3: {msg}", file=sys.stderr, flush=True)


def expect_error(code, call, **kwargs):
    """CALL(**KWARGS) must fail with the EC2 error CODE."""
    try:
        call(**kwargs)
    except ClientError as e:
        got = e.response["Error"]["Code"]
        assert got == code, f"{call.__name__}{kwargs}: expected {code}, got {got} ({e})"
        return
    raise AssertionError(f"{call.__name__}{kwargs} succeeded; expected {code}")


def sh(cmd):
    return subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True).stdout.strip()


def key_names():
    return sorted(k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"])


def key_pairs(work):
    log("key pairs")
    made = ec2.create_key_pair(
        KeyName="b3-ed", KeyType="ed25519",
        TagSpecifications=[{"ResourceType": "key-pair", "Tags": [{"Key": "team", "Value": "qa"}]}])
    assert made["KeyMaterial"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----\n"), made
    assert made["KeyPairId"].startswith("key-"), made
    path = os.path.join(work, "b3-ed")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, made["KeyMaterial"].encode())
    os.close(fd)
    ec2.get_waiter("key_pair_exists").wait(KeyNames=["b3-ed"])
    desc = ec2.describe_key_pairs(KeyNames=["b3-ed"], IncludePublicKey=True)["KeyPairs"][0]
    assert desc["PublicKey"] == sh(f"ssh-keygen -y -f {path}"), desc
    assert desc["KeyFingerprint"] == made["KeyFingerprint"], desc
    assert desc["KeyType"] == "ed25519" and desc["Tags"] == [{"Key": "team", "Value": "qa"}], desc
    # ssh-keygen -l shows the same SHA-256, without EC2's padding.
    assert sh(f"ssh-keygen -l -f {path}").split()[1] == "SHA256:" + made["KeyFingerprint"].rstrip("=")

    rsa = ec2.create_key_pair(KeyName="b3-rsa-made")
    assert rsa["KeyMaterial"].startswith("-----BEGIN RSA PRIVATE KEY-----\n"), rsa
    rsa_path = os.path.join(work, "b3-rsa-made.pem")
    with open(rsa_path, "w") as f:
        f.write(rsa["KeyMaterial"])
    # AWS's recipe for the fingerprint of an RSA key it made.
    want = sh(f"openssl pkcs8 -in {rsa_path} -inform PEM -outform DER -topk8 -nocrypt "
              "| openssl sha1 -c | sed 's/^.*= //'")
    assert rsa["KeyFingerprint"] == want, (rsa["KeyFingerprint"], want)

    sh(f"ssh-keygen -q -N '' -t rsa -b 2048 -C b3 -f {work}/imp")
    with open(f"{work}/imp.pub", "rb") as f:
        imported = ec2.import_key_pair(KeyName="b3-imp", PublicKeyMaterial=f.read())
    want = sh(f"ssh-keygen -e -m PKCS8 -f {work}/imp.pub | openssl pkey -pubin -outform DER "
              "| openssl md5 -c | sed 's/^.*= //'")
    assert imported["KeyFingerprint"] == want, (imported, want)
    assert "KeyMaterial" not in imported

    found = ec2.describe_key_pairs(Filters=[{"Name": "key-type", "Values": ["rsa"]}])["KeyPairs"]
    assert sorted(k["KeyName"] for k in found) == ["b3-imp", "b3-rsa-made"], found
    found = ec2.describe_key_pairs(Filters=[{"Name": "tag:team", "Values": ["qa"]}])["KeyPairs"]
    assert [k["KeyName"] for k in found] == ["b3-ed"], found

    expect_error("InvalidKeyPair.Duplicate", ec2.create_key_pair, KeyName="b3-ed")
    expect_error("InvalidKeyPair.Duplicate", ec2.import_key_pair, KeyName="b3-ed",
                 PublicKeyMaterial=open(f"{work}/imp.pub", "rb").read())
    expect_error("InvalidKeyPair.NotFound", ec2.describe_key_pairs, KeyNames=["b3-nope"])
    expect_error("InvalidKey.Format", ec2.import_key_pair, KeyName="b3-bad",
                 PublicKeyMaterial=b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 x\n")
    expect_error("InvalidParameterValue", ec2.create_key_pair, KeyName="b3-ppk", KeyFormat="ppk")
    expect_error("InvalidParameterValue", ec2.create_key_pair, KeyName="x" * 256)
    expect_error("InvalidKeyPair.NotFound", ec2.delete_key_pair, KeyPairId="key-00000000000000000")
    ec2.delete_key_pair(KeyName="b3-nope")  # EC2 answers true for an unknown name
    assert "b3-bad" not in key_names() and "b3-ppk" not in key_names()

    ec2.delete_key_pair(KeyName="b3-imp")
    ec2.delete_key_pair(KeyName="b3-rsa-made")
    ec2.delete_key_pair(KeyPairId=made["KeyPairId"])
    assert not [n for n in key_names() if n.startswith("b3-")], key_names()


def rule(port_from, port_to, *cidrs, proto="tcp"):
    return {"IpProtocol": proto, "FromPort": port_from, "ToPort": port_to,
            "IpRanges": [{"CidrIp": c} for c in cidrs]}


def group(group_id):
    return ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]


def security_groups():
    log("security groups")
    default = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]
    assert [(p["IpProtocol"], p["FromPort"], p["ToPort"], p["IpRanges"][0]["CidrIp"])
            for p in default["IpPermissions"]] == [("tcp", 22, 22, "0.0.0.0/0")], default

    sg = ec2.create_security_group(
        GroupName="b3-web", Description="boto3 web servers",
        TagSpecifications=[{"ResourceType": "security-group",
                            "Tags": [{"Key": "Name", "Value": "b3"}]}])["GroupId"]
    ec2.get_waiter("security_group_exists").wait(GroupIds=[sg])
    answer = ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8081,
         "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "lan"}, {"CidrIp": "0.0.0.0/0"}]}])
    assert answer["Return"] and len(answer["SecurityGroupRules"]) == 2, answer
    # The legacy flat form.
    ec2.authorize_security_group_ingress(GroupName="b3-web", IpProtocol="tcp", FromPort=443,
                                         ToPort=443, CidrIp="0.0.0.0/0")
    perms = sorted((p["FromPort"], p["ToPort"], sorted(r["CidrIp"] for r in p["IpRanges"]))
                   for p in group(sg)["IpPermissions"])
    assert perms == [(443, 443, ["0.0.0.0/0"]), (8080, 8081, ["0.0.0.0/0", "10.0.0.0/8"])], perms
    assert group(sg)["Tags"] == [{"Key": "Name", "Value": "b3"}]

    found = ec2.describe_security_groups(
        Filters=[{"Name": "ip-permission.from-port", "Values": ["8080"]}])["SecurityGroups"]
    assert [g["GroupId"] for g in found] == [sg], found
    found = ec2.describe_security_groups(
        Filters=[{"Name": "tag-key", "Values": ["Name"]}])["SecurityGroups"]
    assert [g["GroupId"] for g in found] == [sg], found

    before = group(sg)["IpPermissions"]
    auth = ec2.authorize_security_group_ingress
    expect_error("InvalidPermission.Duplicate", auth, GroupId=sg,
                 IpPermissions=[rule(1, 1, "0.0.0.0/0"), rule(8080, 8081, "10.0.0.0/8")])
    expect_error("InvalidParameterValue", auth, GroupId=sg,
                 IpPermissions=[rule(53, 53, "0.0.0.0/0", proto="udp")])
    expect_error("InvalidParameterValue", auth, GroupId=sg,
                 IpPermissions=[rule(-1, -1, "0.0.0.0/0", proto="-1")])
    expect_error("InvalidParameterValue", auth, GroupId=sg, IpPermissions=[rule(80, 80, "10.0.0.1/8")])
    expect_error("InvalidParameterValue", auth, GroupId=sg, IpPermissions=[rule(80, 80, "10.0.0.0/40")])
    expect_error("InvalidParameterValue", auth, GroupId=sg, IpPermissions=[rule(90, 80, "0.0.0.0/0")])
    expect_error("InvalidParameterValue", auth, GroupId=sg, IpPermissions=[rule(0, 0, "0.0.0.0/0")])
    expect_error("InvalidParameterValue", auth, GroupId=sg, IpPermissions=[rule(1000, 2000, "0.0.0.0/0")])
    expect_error("InvalidGroup.NotFound", auth, GroupId="sg-00000000000000000",
                 IpPermissions=[rule(80, 80, "0.0.0.0/0")])
    expect_error("InvalidGroupId.Malformed", auth, GroupId="sg-nope",
                 IpPermissions=[rule(80, 80, "0.0.0.0/0")])
    expect_error("InvalidGroup.NotFound", auth, GroupName="b3-nope",
                 IpPermissions=[rule(80, 80, "0.0.0.0/0")])
    assert group(sg)["IpPermissions"] == before, "a refused request changed the group"

    expect_error("InvalidPermission.NotFound", ec2.revoke_security_group_ingress, GroupId=sg,
                 IpPermissions=[rule(8080, 8081, "0.0.0.0/0"), rule(9, 9, "0.0.0.0/0")])
    ec2.revoke_security_group_ingress(GroupId=sg, IpPermissions=[rule(8080, 8081, "0.0.0.0/0")])
    perms = sorted((p["FromPort"], [r["CidrIp"] for r in p["IpRanges"]])
                   for p in group(sg)["IpPermissions"])
    assert perms == [(443, ["0.0.0.0/0"]), (8080, ["10.0.0.0/8"])], perms

    expect_error("InvalidGroup.Duplicate", ec2.create_security_group, GroupName="b3-web",
                 Description="again")
    expect_error("InvalidParameterValue", ec2.create_security_group, GroupName="sg-b3",
                 Description="reserved prefix")
    expect_error("CannotDelete", ec2.delete_security_group, GroupName="default")
    expect_error("InvalidGroup.NotFound", ec2.delete_security_group, GroupName="b3-nope")
    ec2.delete_security_group(GroupId=sg)
    expect_error("InvalidGroup.NotFound", ec2.describe_security_groups, GroupIds=[sg])
    names = [g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]]
    assert not [n for n in names if n.startswith("b3-")], names


with tempfile.TemporaryDirectory() as work:
    key_pairs(work)
security_groups()
log("PASS")
