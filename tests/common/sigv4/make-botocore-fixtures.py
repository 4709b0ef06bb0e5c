#!/usr/bin/env python3
"""Regenerates tests/common/sigv4/botocore/: EC2 Query requests signed by
botocore, the signer of the AWS CLI, with fixed credentials and a fixed
clock.  test-sigv4 checks that nube_sigv4_sign() produces the same
Authorization header and that nube_sigv4_verify() accepts the requests.

The POST cases go through a real botocore EC2 client (so the body is
serialized exactly as `aws ec2 ...` does it); the request is captured just
before it would be sent.  The GET case signs a query string directly with
botocore.auth.SigV4Auth, as EC2 also accepts GET.

Usage: tests/common/sigv4/make-botocore-fixtures.py [OUTDIR]
Only needed when the cases change; the generated files are committed.
"""
import datetime
import os
import sys
import uuid
from unittest import mock

import botocore
import botocore.auth
import botocore.session
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCESS_KEY = "NUBEAKIDEXAMPLE00001"
SECRET = "nube/Secret+Key/EXAMPLE0123456789abcdefgh"
REGION = "nube-local-1"
SERVICE = "ec2"
ENDPOINT = "http://127.0.0.1:8773"
WHEN = datetime.datetime(2024, 5, 1, 10, 20, 30)
AMZ_DATE = WHEN.strftime("%Y%m%dT%H%M%SZ")

# (case name, EC2 operation, parameters) sent with POST / and a form body.
POST_CASES = [
    ("describe-instances", "describe_instances", {}),
    ("describe-instances-filters", "describe_instances", {
        "InstanceIds": ["i-0123456789abcdef0", "i-0fedcba9876543210"],
        "Filters": [
            {"Name": "instance-state-name", "Values": ["running", "stopped"]},
            {"Name": "tag:Name", "Values": ["web server *"]},
        ],
    }),
    ("run-instances", "run_instances", {
        "ImageId": "ami-0123456789abcdef0",
        "InstanceType": "t3.micro",
        "MinCount": 1,
        "MaxCount": 2,
        "KeyName": "my key",
        "UserData": "#!/bin/sh\necho 'héllo wörld' > /tmp/x && exit 0\n",
        "TagSpecifications": [{
            "ResourceType": "instance",
            "Tags": [{"Key": "Name", "Value": "a+b=c/d ~%20 ሴ"}],
        }],
    }),
]

# (case name, query parameters) sent with GET /?…
GET_CASES = [
    ("describe-regions-get", [
        ("Action", "DescribeRegions"),
        ("Version", "2016-11-15"),
        ("Filter.1.Name", "region-name"),
        ("Filter.1.Value.1", "nube local*"),
        ("Filter.1.Value.2", "a+b/c~d=é"),
    ]),
]


class Captured(Exception):
    """Raised from before-send to stop botocore after signing."""

    def __init__(self, request):
        super().__init__("captured")
        self.request = request


def fixed_uuid4():
    return uuid.UUID("00000000-0000-4000-8000-000000000000")


def capture(**kwargs):
    raise Captured(kwargs["request"])


def client():
    session = botocore.session.get_session()
    c = session.create_client(
        SERVICE, region_name=REGION, endpoint_url=ENDPOINT,
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET)
    c.meta.events.register("before-send", capture)
    return c


def post_request(ec2, operation, params):
    try:
        getattr(ec2, operation)(**params)
    except Captured as e:
        return e.request
    raise RuntimeError("request of %s was not captured" % operation)


def get_request(params):
    creds = Credentials(ACCESS_KEY, SECRET)
    req = AWSRequest(method="GET", url=ENDPOINT + "/", params=params)
    botocore.auth.SigV4Auth(creds, SERVICE, REGION).add_auth(req)
    return req.prepare()


def write_case(outdir, name, prepared):
    """NAME.req in the layout of AWS's SigV4 test suite, NAME.authz."""
    target = prepared.url[len(ENDPOINT):] or "/"
    lines = ["%s %s HTTP/1.1" % (prepared.method, target)]
    authz = None
    host_seen = False
    for key, value in prepared.headers.items():
        value = value.decode() if isinstance(value, bytes) else value
        if key.lower() == "authorization":
            authz = value
            continue
        host_seen = host_seen or key.lower() == "host"
        if key.lower() == "user-agent":
            # Unsigned, and it names this machine: keep the files stable.
            value = "Botocore/%s (fixed by make-botocore-fixtures.py)" % botocore.__version__
        lines.append("%s:%s" % (key, value))
    if not host_seen:
        # urllib3 adds Host when sending; botocore signed it from the URL.
        lines.insert(1, "Host:%s" % ENDPOINT.split("//", 1)[1])
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    text = "\n".join(lines).encode()
    if body:
        text += b"\n\n" + body

    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name + ".req"), "wb") as f:
        f.write(text)
    with open(os.path.join(d, name + ".authz"), "w") as f:
        f.write(authz)


def write_context(outdir, names):
    with open(os.path.join(outdir, "context.ini"), "w") as f:
        f.write("# Written by make-botocore-fixtures.py; do not edit.\n")
        f.write("[botocore]\n")
        f.write("version=%s\n" % botocore.__version__)
        f.write("access_key=%s\n" % ACCESS_KEY)
        f.write("secret=%s\n" % SECRET)
        f.write("region=%s\n" % REGION)
        f.write("service=%s\n" % SERVICE)
        f.write("amz_date=%s\n" % AMZ_DATE)
        f.write("cases=%s;\n" % ";".join(names))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "botocore")
    os.makedirs(outdir, exist_ok=True)

    names = []
    with mock.patch.object(botocore.auth, "get_current_datetime", lambda: WHEN), \
            mock.patch.object(uuid, "uuid4", fixed_uuid4):
        ec2 = client()
        for name, operation, params in POST_CASES:
            write_case(outdir, name, post_request(ec2, operation, params))
            names.append(name)
        for name, params in GET_CASES:
            write_case(outdir, name, get_request(params))
            names.append(name)
    write_context(outdir, names)
    print("wrote %d cases to %s" % (len(names), outdir))


if __name__ == "__main__":
    main()
