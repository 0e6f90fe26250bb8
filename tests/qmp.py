#!/usr/bin/env python3
"""Minimal QMP client for tests.
  qmp.py SOCK CMD [JSON-ARGS]     run one command, print its JSON return value
  qmp.py SOCK wait-migrate [SECS] poll query-migrate until completed (exit 1 on failed or
                                  timeout), print the final query-migrate JSON
"""
import json
import socket
import sys
import time


def connect(path, timeout=15):
    deadline = time.time() + timeout
    while True:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)
    f = s.makefile('rw')
    json.loads(f.readline())  # greeting
    cmd(f, "qmp_capabilities")
    return s, f


def cmd(f, name, args=None):
    msg = {"execute": name}
    if args:
        msg["arguments"] = args
    f.write(json.dumps(msg) + "\n")
    f.flush()
    while True:
        line = f.readline()
        if not line:
            sys.exit("QMP connection closed")
        m = json.loads(line)
        if "return" in m:
            return m["return"]
        if "error" in m:
            sys.exit("QMP error for %s: %s" % (name, m["error"]))


def main():
    s, f = connect(sys.argv[1])
    if sys.argv[2] == "wait-migrate":
        deadline = time.time() + (float(sys.argv[3]) if len(sys.argv) > 3 else 60)
        while time.time() < deadline:
            r = cmd(f, "query-migrate")
            if r.get("status") in ("completed", "failed", "cancelled"):
                print(json.dumps(r))
                sys.exit(0 if r["status"] == "completed" else 1)
            time.sleep(0.1)
        sys.exit("migration did not complete in time: %s" % r)
    args = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
    print(json.dumps(cmd(f, sys.argv[2], args)))


if __name__ == "__main__":
    main()
