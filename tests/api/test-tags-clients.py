#!/usr/bin/env python3
"""boto3 against nubed: tags (with DescribeTags pagination and EC2's
errors), Describe filters, and the attributes of a stopped instance.

Usage: test-tags-clients.py ENDPOINT STATE_DIR AMI_ID STOPPED_INSTANCE_ID
Leaves the instance with type t3.medium and user data "echo from-boto3".
"""
import base64
import os
import sys

import boto3
from botocore.exceptions import ClientError


def client(endpoint, state):
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(state, "credentials")
    os.environ["AWS_CONFIG_FILE"] = os.path.join(state, "config")
    session = boto3.session.Session(profile_name="nube")
    return session.client("ec2", endpoint_url=endpoint)


def expect_error(code, fn, **kwargs):
    try:
        fn(**kwargs)
    except ClientError as e:
        got = e.response["Error"]["Code"]
        assert got == code, f"expected {code}, got {got}: {e}"
        return
    raise AssertionError(f"expected {code} from {fn.__name__}({kwargs})")


def tags_of(ec2, resource_id):
    pages = ec2.get_paginator("describe_tags").paginate(
        Filters=[{"Name": "resource-id", "Values": [resource_id]}],
        PaginationConfig={"PageSize": 5})
    return {t["Key"]: t["Value"] for page in pages for t in page["Tags"]}


def check_tags(ec2, ami, instance):
    ec2.create_tags(Resources=[ami, instance],
                    Tags=[{"Key": f"b{i}", "Value": str(i)} for i in range(12)])
    got = tags_of(ec2, ami)
    assert got == {f"b{i}": str(i) for i in range(12)}, got
    seen = ec2.describe_tags(Filters=[{"Name": "tag:b3", "Values": ["3"]}])["Tags"]
    assert sorted(t["ResourceType"] for t in seen) == ["image", "instance"], seen

    images = ec2.describe_images(Filters=[{"Name": "tag:b7", "Values": ["7"]}])["Images"]
    assert [i["ImageId"] for i in images] == [ami], images
    res = ec2.describe_instances(Filters=[{"Name": "tag-key", "Values": ["b11"]},
                                          {"Name": "instance-state-name", "Values": ["stopped"]}])
    ids = [i["InstanceId"] for r in res["Reservations"] for i in r["Instances"]]
    assert ids == [instance], ids

    expect_error("TagLimitExceeded", ec2.create_tags, Resources=[ami],
                 Tags=[{"Key": f"x{i}", "Value": ""} for i in range(39)])
    expect_error("InvalidInstanceID.NotFound", ec2.create_tags,
                 Resources=[ami, "i-00000000000000000"], Tags=[{"Key": "half", "Value": "made"}])
    expect_error("InvalidParameterValue", ec2.create_tags, Resources=[ami],
                 Tags=[{"Key": "v", "Value": "x" * 257}])
    assert len(tags_of(ec2, ami)) == 12

    ec2.delete_tags(Resources=[ami], Tags=[{"Key": "b0", "Value": "wrong"}, {"Key": "b1"}])
    got = tags_of(ec2, ami)
    assert "b0" in got and "b1" not in got, got
    ec2.delete_tags(Resources=[ami, instance])
    assert tags_of(ec2, ami) == {} and tags_of(ec2, instance) == {}


def check_attributes(ec2, instance):
    ec2.modify_instance_attribute(InstanceId=instance, InstanceType={"Value": "t3.medium"})
    got = ec2.describe_instance_attribute(InstanceId=instance, Attribute="instanceType")
    assert got["InstanceType"]["Value"] == "t3.medium", got

    script = b"#!/bin/sh\necho from-boto3\n"
    ec2.modify_instance_attribute(InstanceId=instance, UserData={"Value": script})
    got = ec2.describe_instance_attribute(InstanceId=instance, Attribute="userData")
    assert base64.b64decode(got["UserData"]["Value"]) == script, got

    expect_error("InvalidParameterValue", ec2.describe_instance_attribute,
                 InstanceId=instance, Attribute="colour")
    expect_error("InvalidInstanceAttributeValue", ec2.modify_instance_attribute,
                 InstanceId=instance, InstanceType={"Value": "t9.huge"})
    expect_error("InvalidParameterValue", ec2.modify_instance_attribute,
                 InstanceId=instance, UserData={"Value": b"a" * 16385})
    types = ec2.describe_instance_types(
        Filters=[{"Name": "memory-info.size-in-mib", "Values": ["4096"]},
                 {"Name": "vcpu-info.default-vcpus", "Values": ["2"]}])["InstanceTypes"]
    assert "t3.medium" in [t["InstanceType"] for t in types], types


def main():
    endpoint, state, ami, instance = sys.argv[1:5]
    ec2 = client(endpoint, state)
    check_tags(ec2, ami, instance)
    check_attributes(ec2, instance)
    print("boto3: PASS", file=sys.stderr)


if __name__ == "__main__":
    main()
