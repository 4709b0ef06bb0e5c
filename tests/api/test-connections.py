#!/usr/bin/env python3
"""Hostile connections against a live nubed (loopback only).

Usage: test-connections.py ENDPOINT NUBED_PID AWS_COMMAND...

1,100 idle TCP connections (from 127.0.0.2, so the per-address limit is not
what lets the legitimate caller through) must not stop a signed call from
answering at once, nor grow nubed's threads; a request line of garbage and
a chunked body announcing 2^64 bytes are answered (400, 411) at once
instead of being held open; a body announced over 1 MiB is refused (413)
before it is read.  Every check prints what it saw; any failure exits 1.
"""
import os
import socket
import subprocess
import sys
import time
import urllib.parse

endpoint, pid = sys.argv[1], int(sys.argv[2])
aws = sys.argv[3:]
url = urllib.parse.urlsplit(endpoint)
host, port = url.hostname, url.port
failures = 0


def check(ok, what):
    global failures
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures += 1


def threads():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return -1


def signed_call():
    start = time.monotonic()
    r = subprocess.run(aws + ["ec2", "describe-regions", "--query", "Regions[0].RegionName",
                              "--output", "text"],
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout.strip(), time.monotonic() - start


def exchange(head, body=b"", wait=10.0):
    """Sends HEAD on a new connection, then BODY unless the server has
    answered within a second; returns (the answer's first line or '',
    seconds until the server answered or closed)."""
    s = socket.create_connection((host, port), timeout=wait)
    start = time.monotonic()
    got = b""
    try:
        s.sendall(head)
        if body:
            s.settimeout(1.0)
            try:
                got = s.recv(4096)
            except socket.timeout:
                s.settimeout(wait)
                s.sendall(body)
        while b"\r\n" not in got:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    except (socket.timeout, ConnectionError):
        pass
    finally:
        s.close()
    return got.split(b"\r\n", 1)[0].decode("latin-1"), time.monotonic() - start


before = threads()
idle = []
for i in range(1100):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.2", 0))
    s.connect((host, port))
    idle.append(s)
time.sleep(1)
during = threads()
rc, out, secs = signed_call()
check(rc == 0 and out != "" and secs < 15,
      f"signed DescribeRegions with 1100 idle connections open: rc={rc} '{out}' in {secs:.1f} s")
check(during - before < 16, f"nubed's threads: {before} before, {during} with 1100 idle connections")
# Half-sent requests are as idle as silent ones.
for s in idle[:100]:
    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
rc, out, secs = signed_call()
check(rc == 0 and secs < 15, f"signed call with 100 half-sent requests: rc={rc} in {secs:.1f} s")
for s in idle:
    s.close()

line, secs = exchange(b"\x16\x03\x01garbage garbage\r\n\r\n")
check(line.startswith("HTTP/1.1 400") and secs < 5,
      f"garbage request line: '{line}' after {secs:.1f} s")
line, secs = exchange(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
                      b"ffffffffffffffff\r\n" + b"A" * 4096)
check(line.startswith("HTTP/1.1 411") and secs < 5,
      f"chunk of 2^64 bytes announced: '{line}' after {secs:.1f} s")
line, secs = exchange(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n"
                      b"Content-Type: application/x-www-form-urlencoded\r\n\r\n", b"A" * (1 << 21))
check(line.startswith("HTTP/1.1 413") and secs < 5, f"body announced over 1 MiB: '{line}' after {secs:.1f} s")
# A body that grows past 1 MiB without announcing it cannot: HTTP/1.1 needs
# Content-Length or chunks, and chunks are refused.
after = threads()
check(after - before < 16, f"nubed's threads afterwards: {after}")
rc, out, secs = signed_call()
check(rc == 0, f"signed call afterwards: rc={rc} in {secs:.1f} s")
sys.exit(1 if failures else 0)
