#!/usr/bin/env python3
"""A distarch worker in Python.

The master writes one JSON line (the worker context) to stdin. Plain output
lines are `info` logs; lines starting with "@distarch/1 " are protocol
messages (levels, ping, ended). SIGTERM asks the worker to stop.
"""
import json
import os
import signal
import sys
import threading

PREFIX = "@distarch/1 "
stop = threading.Event()


def send(message):
    """Writes one protocol line (a dict is sent in JSON form)."""
    body = json.dumps(message, ensure_ascii=False) if isinstance(message, dict) else message
    sys.stdout.write(PREFIX + body + "\n")
    sys.stdout.flush()


def log(level, msg, ctx=None):
    if ctx is None and "\n" not in msg:
        send(f"{level} {msg}")
    else:
        send({"t": "log", "level": level, "msg": msg, **({"ctx": ctx} if ctx is not None else {})})


def main():
    line = "" if sys.stdin.isatty() else sys.stdin.readline()
    try:
        ctx = json.loads(line)
        if ctx.get("v") != 1:
            raise ValueError("unsupported protocol version")
    except ValueError:
        print("distarch: this is a distarch worker; start it with a distarch master, not by hand",
              file=sys.stderr)
        return 2

    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    # stdin closing means the master is gone: stop too
    def watch_stdin():
        while sys.stdin.read(65536):
            pass
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()

    group = ctx["group"]
    print(f"My ID : {ctx['id']} (DISTARCH_ID={os.environ.get('DISTARCH_ID', '?')})")
    print(f"My Group ID : {ctx['groupId']}")
    print(f'There are a total of {ctx["groupCount"]} processes in my group named "{group["name"]}"')
    log("info", "params", {"params": group["params"]})
    sys.stdout.flush()

    iterations = group["params"].get("iterations", 5)
    step = 0
    while step < iterations and not stop.wait(1):
        send("ping")
        step += 1
    log("notice", f"done after {step} steps")
    send("ended")
    return 0


if __name__ == "__main__":
    sys.exit(main())
