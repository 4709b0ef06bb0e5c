#!/usr/bin/env python3
"""boto3 against nubed: what the AWS CLI cannot send or show.  Parameters
nube does not support are UnknownParameter (HTTP 400), also one botocore's
model lacks (added to the request before it is signed); DryRun=True is
DryRunOperation (HTTP 412), a DryRun that is not a boolean
InvalidParameterValue; none of them changes anything.

Usage: test-http.py ENDPOINT STATE_DIR AMI_ID INSTANCE_ID
"""
import contextlib
import os
import sys

import boto3
from botocore.exceptions import ClientError


def client(endpoint, state):
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(state, "credentials")
    os.environ["AWS_CONFIG_FILE"] = os.path.join(state, "config")
    session = boto3.session.Session(profile_name="nube")
    return session.client("ec2", endpoint_url=endpoint)


def expect_error(code, status, fn, **kwargs):
    try:
        fn(**kwargs)
    except ClientError as e:
        got = (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"])
        assert got == (code, status), f"expected {code} {status}, got {got}: {e}"
        return e.response["Error"]["Message"]
    raise AssertionError(f"expected {code} from {fn.__name__}({kwargs})")


@contextlib.contextmanager
def extra_params(ec2, operation, extra):
    """Adds EXTRA to the parameters of OPERATION's requests, before they are
    signed (botocore would refuse them as arguments)."""
    event = f"before-sign.ec2.{operation}"

    def add(request, **kwargs):
        request.data.update(extra)

    ec2.meta.events.register(event, add)
    try:
        yield
    finally:
        ec2.meta.events.unregister(event, add)


def live_instances(ec2, ami):
    """The ids of AMI's instances that are not terminating."""
    res = ec2.describe_instances(Filters=[{"Name": "image-id", "Values": [ami]}])
    return sorted(i["InstanceId"] for r in res["Reservations"] for i in r["Instances"]
                  if i["State"]["Name"] not in ("shutting-down", "terminated"))


def main():
    endpoint, state, ami, instance = sys.argv[1:5]
    ec2 = client(endpoint, state)
    assert live_instances(ec2, ami) == [instance], live_instances(ec2, ami)

    with extra_params(ec2, "DescribeInstances", {"Foo": "bar"}):
        message = expect_error("UnknownParameter", 400, ec2.describe_instances)
    assert message == "The parameter Foo is not recognized", message
    run = ec2.run_instances
    launch = {"ImageId": ami, "MinCount": 1, "MaxCount": 1}
    expect_error("UnknownParameter", 400, run, Placement={"Tenancy": "dedicated"}, **launch)
    expect_error("UnknownParameter", 400, run, IamInstanceProfile={"Name": "admin"}, **launch)
    expect_error("UnknownParameter", 400, run, BlockDeviceMappings=[
        {"DeviceName": "/dev/vda", "Ebs": {"VolumeSize": 100}}], **launch)

    expect_error("DryRunOperation", 412, run, DryRun=True, **launch)
    expect_error("DryRunOperation", 412, ec2.terminate_instances, InstanceIds=[instance],
                 DryRun=True)
    with extra_params(ec2, "TerminateInstances", {"DryRun": "maybe"}):
        expect_error("InvalidParameterValue", 400, ec2.terminate_instances,
                     InstanceIds=[instance])
    assert live_instances(ec2, ami) == [instance], live_instances(ec2, ami)
    print("boto3: PASS", file=sys.stderr)


if __name__ == "__main__":
    main()
