#!/usr/bin/env python3
"""Checks that the layers of the source tree point one way.

Each folder below is a layer; a file may include headers of its own layer
and of the layers listed before it, never of a later one.  The agent shares
only its protocol module with the rest.  Prints every offending include and
the include graph's cycles between folders, and fails if there is any.
"""
import os
import re
import sys

LAYERS = [
    "common",
    "agent",  # proto.h only, see AGENT_SHARED
    "imagestore",
    "controller/state",
    "controller/virt",
    "controller/guest",
    "controller/work",
    "controller/api",
    "controller",  # the daemon on top
    "cli",
]
AGENT_SHARED = {"proto.h"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of(path):
    best = None
    for name in LAYERS:
        if os.path.dirname(path) == name:
            best = name
    return best


def main(root):
    headers = {}
    files = []
    for name in LAYERS:
        folder = os.path.join(root, name)
        if not os.path.isdir(folder):
            continue
        for entry in sorted(os.listdir(folder)):
            if entry.endswith((".c", ".h")):
                rel = os.path.join(name, entry)
                files.append(rel)
                if entry.endswith(".h"):
                    headers.setdefault(entry, []).append(name)
    bad = []
    edges = set()
    for rel in files:
        mine = layer_of(rel)
        text = open(os.path.join(root, rel), encoding="utf-8").read()
        for inc in INCLUDE.findall(text):
            owners = headers.get(os.path.basename(inc), [])
            if mine in owners or not owners:
                continue
            if len(owners) > 1:
                # A later layer's folder is never on this file's include
                # path, so only its own and earlier layers can answer.
                seen = [o for o in owners if LAYERS.index(o) <= LAYERS.index(mine)]
                if len(seen) != 1:
                    bad.append(f"{rel}: '{inc}' names headers of {owners}")
                    continue
                owners = seen
            other = owners[0]
            edges.add((mine, other))
            if other == "agent" and os.path.basename(inc) not in AGENT_SHARED:
                bad.append(f"{rel}: includes agent/{inc}, which is not the shared protocol")
            if LAYERS.index(other) > LAYERS.index(mine) and not (
                mine == "agent" or other == "agent"
            ):
                bad.append(f"{rel} ({mine}) includes {other}/{inc}, a later layer")
    cycles = sorted(f"{a} <-> {b}" for (a, b) in edges if (b, a) in edges and a < b)
    for line in bad:
        print("layering:", line)
    for line in cycles:
        print("cycle:", line)
    print(f"{len(files)} files, {len(edges)} folder dependencies, "
          f"{len(bad)} wrong includes, {len(cycles)} cycles")
    return 1 if bad or cycles else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.environ["NUBE_SRCDIR"]))
