#!/usr/bin/env python3
"""test-agent.py: the built nube-agent against a fake controller, no VM.

The test listens on a unix socket and plays nubed; the agent connects to
it (--port SOCKET) and reads its seed from a directory.  Checked: hello
first with the guest's facts, boot-complete, a #! user data script that
fails with exit 3 (started, then finished with its output), ping, a
heartbeat within 6 s, malformed controller lines, prepare-image without
freeze or generalize, thaw with nothing frozen, hello and replay after a
reconnect, the stored report replayed (not re-run) by a second run of the
same instance, a new instance running its user data again, user data that
is not a script, a run cut short by a reboot or an agent restart, and
`nube-agent install --root DIR`.

Usage: test-agent.py PATH-TO-nube-agent
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

AGENT = sys.argv[1]
TIMEOUT = 10.0
SCRIPT = b"#!/bin/sh\necho nube-marker-$((40 + 2))\necho on-stderr >&2\nexit 3\n"
NOT_SCRIPT = "user data is not a #! script and this image has no cloud-init"


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


class Controller:
    """The listening socket and one connection at a time, line by line."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.conn = None
        self.buf = b""
        self.connected_at = 0.0

    def accept(self):
        self.sock.settimeout(TIMEOUT)
        self.conn, _ = self.sock.accept()
        self.conn.settimeout(TIMEOUT)
        self.buf = b""
        self.connected_at = time.monotonic()

    def drop(self):
        self.conn.close()
        self.conn = None

    def send(self, data):
        self.conn.sendall(data if isinstance(data, bytes) else data.encode())

    def command(self, obj):
        self.send(json.dumps(obj) + "\n")

    def recv(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            check(left > 0, "no message from the agent in %.0f s" % timeout)
            self.conn.settimeout(left)
            chunk = self.conn.recv(65536)
            check(chunk != b"", "the agent closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        msg = json.loads(line)
        check(msg.get("v") == 1, "message without v 1: %r" % msg)
        return msg

    def expect(self, mtype, skip=("heartbeat",), timeout=TIMEOUT):
        """The next message that is not in SKIP; it must be MTYPE."""
        while True:
            msg = self.recv(timeout)
            if msg["type"] in skip and msg["type"] != mtype:
                continue
            check(msg["type"] == mtype, "expected %s, got %r" % (mtype, msg))
            return msg

    def result(self, cid):
        msg = self.expect("result")
        check(msg["id"] == cid, "result for id %d expected, got %r" % (cid, msg))
        return msg


class Agent:
    def __init__(self, tmp, name):
        self.stderr_path = os.path.join(tmp, name + ".stderr")
        self.stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [AGENT, "--port", os.path.join(tmp, "agent.sock"),
             "--state-dir", os.path.join(tmp, "state"),
             "--seed-dir", os.path.join(tmp, "seed"),
             "--log-file", os.path.join(tmp, "ud.log"),
             "--console", "none", "--no-systemd", "--cloud-init=no"],
            stdin=subprocess.DEVNULL, stdout=self.stderr, stderr=self.stderr)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure("the agent did not stop on SIGTERM")
        self.stderr.close()
        check(code == 0, "the agent exited with %d" % code)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")


def write_seed(tmp, instance_id, user_data):
    seed = os.path.join(tmp, "seed")
    os.makedirs(seed, exist_ok=True)
    with open(os.path.join(seed, "meta-data"), "w") as f:
        f.write('instance-id: "%s"\nlocal-hostname: "test"\n' % instance_id)
    with open(os.path.join(seed, "user-data"), "wb") as f:
        f.write(user_data)


def boot_id():
    with open("/proc/sys/kernel/random/boot_id") as f:
        return f.read().strip()


def expect_hello(ctl):
    msg = ctl.recv()
    check(msg["type"] == "hello", "first message is not hello: %r" % msg)
    version = subprocess.run([AGENT, "--version"], capture_output=True, text=True).stdout
    check(version.split() == ["nube-agent", msg["agent"]], "agent version %r" % msg["agent"])
    check(msg["boot_id"] == boot_id(), "boot_id %r" % msg["boot_id"])
    check(msg["kernel"] == os.uname().release, "kernel %r" % msg["kernel"])
    check(msg["cloud_init"] is False, "cloud_init %r" % msg["cloud_init"])
    check(isinstance(msg["uptime"], (int, float)) and msg["uptime"] > 0, "uptime")
    return msg


def expect_boot_and_userdata(ctl):
    """boot-complete and userdata started then finished, in any order
    between the boot and the user data (a stored report is replayed at
    once, the boot may complete later).  Returns userdata finished."""
    seen = {}
    while "boot-complete" not in seen or "finished" not in seen:
        msg = ctl.recv()
        if msg["type"] == "heartbeat":
            continue
        if msg["type"] == "boot-complete":
            check("boot-complete" not in seen, "boot-complete twice")
            check(msg["state"] == "running", "boot state %r" % msg["state"])
            seen["boot-complete"] = msg
            continue
        check(msg["type"] == "userdata", "unexpected %r" % msg)
        check(msg["runner"] == "agent", "runner %r" % msg["runner"])
        check(msg["phase"] not in seen, "userdata %s twice" % msg["phase"])
        check(msg["phase"] == "started" or "started" in seen, "finished before started")
        seen[msg["phase"]] = msg
    return seen["finished"]


def check_script_failed(fin):
    check(fin["status"] == "failed", "status %r" % fin["status"])
    check(fin["exit_code"] == 3, "exit_code %r" % fin.get("exit_code"))
    check(fin["error"] == "user data script exited with status 3", "error %r" % fin["error"])
    check("nube-marker-42" in fin["log"] and "on-stderr" in fin["log"], "log %r" % fin["log"])
    check(0 <= fin["duration"] < TIMEOUT, "duration %r" % fin["duration"])


def marker_count(tmp):
    with open(os.path.join(tmp, "ud.log")) as f:
        return f.read().count("nube-marker-42")


def first_run(tmp, ctl):
    write_seed(tmp, "i-0123abcd", SCRIPT)
    agent = Agent(tmp, "run1")
    try:
        ctl.accept()
        expect_hello(ctl)
        fin = expect_boot_and_userdata(ctl)
        check_script_failed(fin)
        check(marker_count(tmp) == 1, "the script's output is not in the log file")

        ctl.command({"v": 1, "type": "ping", "id": 7})
        check(ctl.result(7)["ok"] is True, "ping not ok")

        # Nothing malformed gets a reply or stops the agent.
        ctl.send(b"not json\n")
        ctl.send(b'{"v":1,"type":"hello","agent":"x"}\n')
        ctl.send(b'{"v":2,"type":"ping","id":1}\n')
        ctl.send(b"\xff\xfe{}\n")
        ctl.send(b'{"v":1,"type":"ping","id":1,"pad":"' + b"x" * 20000 + b'"}\n')
        ctl.send(b"\n")
        ctl.command({"v": 1, "type": "ping", "id": 8})
        check(ctl.result(8)["ok"] is True, "ping after malformed lines not answered")

        ctl.command({"v": 1, "type": "prepare-image", "id": 9, "freeze": False,
                     "generalize": False})
        res = ctl.result(9)
        check(res["ok"] is True and "frozen" not in res, "prepare-image: %r" % res)
        ctl.command({"v": 1, "type": "thaw", "id": 10})
        res = ctl.result(10)
        check(res["ok"] is True and res.get("thawed", 0) == 0, "thaw: %r" % res)

        hb = ctl.expect("heartbeat", skip=(),
                        timeout=ctl.connected_at + 6.5 - time.monotonic())
        check(hb["uptime"] > 0, "heartbeat uptime")

        # Reconnect: hello again, then the state replayed.
        ctl.drop()
        ctl.accept()
        expect_hello(ctl)
        check_script_failed(expect_boot_and_userdata(ctl))
        agent.stop()
    except BaseException:
        agent.kill()
        sys.stderr.write("agent log:\n" + agent.log())
        raise

    state = os.path.join(tmp, "state")
    with open(os.path.join(state, "instance-id")) as f:
        check(f.read().strip() == "i-0123abcd", "stored instance-id")
    with open(os.path.join(state, "userdata.json")) as f:
        stored = json.load(f)
    check(stored["phase"] == "finished" and stored["boot_id"] == boot_id(), "stored report")
    check(os.stat(os.path.join(state, "user-data")).st_mode & 0o777 == 0o700, "script mode")


def run_once(tmp, ctl, name):
    """One agent run up to its userdata finished; returns that message."""
    agent = Agent(tmp, name)
    try:
        ctl.accept()
        expect_hello(ctl)
        fin = expect_boot_and_userdata(ctl)
        ctl.drop()
        agent.stop()
        return fin
    except BaseException:
        agent.kill()
        sys.stderr.write("agent log:\n" + agent.log())
        raise


def stored_started(tmp, boot):
    """A report stored as started, as if the run had been cut short."""
    with open(os.path.join(tmp, "state", "userdata.json"), "w") as f:
        json.dump({"v": 1, "type": "userdata", "phase": "started", "runner": "agent",
                   "boot_id": boot}, f)


def later_runs(tmp, ctl):
    # The same instance: the report is replayed, the script not run again.
    check_script_failed(run_once(tmp, ctl, "run2"))
    check(marker_count(tmp) == 1, "the script ran again for the same instance")

    # A new instance runs its user data.
    write_seed(tmp, 'i-0000\\"new\\u00e9', SCRIPT)
    check_script_failed(run_once(tmp, ctl, "run3"))
    check(marker_count(tmp) == 2, "the script did not run for a new instance")
    with open(os.path.join(tmp, "state", "instance-id"), encoding="utf-8") as f:
        check(f.read() == 'i-0000"new\u00e9\n', "escaped instance-id")

    # A run cut short by a reboot, then by an agent restart.
    stored_started(tmp, "00000000-0000-4000-8000-000000000000")
    fin = run_once(tmp, ctl, "run4")
    check(fin["status"] == "failed" and fin["error"] ==
          "interrupted: the guest rebooted while the user data ran", "reboot: %r" % fin)
    stored_started(tmp, boot_id())
    fin = run_once(tmp, ctl, "run5")
    check(fin["error"] == "interrupted: the agent restarted while the user data ran",
          "restart: %r" % fin)
    check(marker_count(tmp) == 2, "an interrupted run was run again")

    # User data that is not a script, on an image without cloud-init.
    write_seed(tmp, "i-cloudconfig", b"#cloud-config\n{}\n")
    fin = run_once(tmp, ctl, "run6")
    check(fin["status"] == "failed" and fin["error"] == NOT_SCRIPT, "not a script: %r" % fin)


def install(tmp, _ctl):
    """`nube-agent install --root DIR`: the binary, the unit, the enabling
    symlink; twice; and a symlink in the tree resolved inside it."""
    root = os.path.join(tmp, "root")
    os.mkdir(root)
    for _ in range(2):
        out = subprocess.run([AGENT, "install", "--root", root], capture_output=True, text=True)
        check(out.returncode == 0, "install: %s" % out.stderr)
    binary = os.path.join(root, "usr/sbin/nube-agent")
    with open(binary, "rb") as a, open(AGENT, "rb") as b:
        check(a.read() == b.read(), "installed binary differs")
    check(os.stat(binary).st_mode & 0o777 == 0o755, "binary mode")
    unit = os.path.join(root, "etc/systemd/system/nube-agent.service")
    with open(unit) as f:
        text = f.read()
    for line in ("ExecStart=/usr/sbin/nube-agent", "Restart=always", "DefaultDependencies=no",
                 "WantedBy=multi-user.target", "Conflicts=shutdown.target"):
        check(line + "\n" in text, "unit lacks %s" % line)
    link = os.path.join(root, "etc/systemd/system/multi-user.target.wants/nube-agent.service")
    check(os.readlink(link) == "/etc/systemd/system/nube-agent.service", "enabling link")
    check(sorted(os.listdir(os.path.dirname(binary))) == ["nube-agent"], "leftover files")

    # usr/sbin -> an absolute path outside the tree: resolved in the tree.
    outside = os.path.join(tmp, "outside")
    os.mkdir(outside)
    trap = os.path.join(tmp, "trap")
    os.makedirs(os.path.join(trap, "usr"))
    os.makedirs(trap + outside)
    os.symlink(outside, os.path.join(trap, "usr/sbin"))
    out = subprocess.run([AGENT, "install", "--root", trap], capture_output=True, text=True)
    check(out.returncode == 0, "install through a symlink: %s" % out.stderr)
    check(os.listdir(outside) == [], "install wrote outside its root")
    check(os.path.exists(os.path.join(trap + outside, "nube-agent")), "not installed in root")


def main():
    with tempfile.TemporaryDirectory(prefix="nube-agent-test.") as tmp:
        ctl = Controller(os.path.join(tmp, "agent.sock"))
        steps = [("first run", first_run), ("later runs", later_runs), ("install", install)]
        for name, step in steps:
            try:
                step(tmp, ctl)
            except Failure as e:
                print("not ok - %s: %s" % (name, e))
                return 1
            print("ok - %s" % name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
