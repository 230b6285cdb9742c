#!/usr/bin/env python3
"""A slow telemetry sender beside a real codex run, end to end (docs/unattended.md).

Starts `PHASEBENCH run ARGS… --json OUT -q`, finds the OTLP receiver's port in the first codex
child's config (its CODEX_HOME, read from /proc), and for the whole run keeps N connections to
it (default 4) that each send the head of a `POST /v1/logs` and part of its body, then nothing;
one the receiver drops is opened again at once. Prints the run's exit code, its wall time and
how many partial bodies were sent; OUT is left for inspection (rows, `telemetry`, `warnings`).

    python3 scripts/slow-telemetry-body.py PHASEBENCH OUT.json [--no-attack] -- RUN ARGS...

Environment: SLOWBODY_N (connections held at once, default 4), SLOWBODY_KIND (`small`: a
declared 100 kB body, the receiver's small lane; `large`: a declared 10 MB body; `chunked`: no
declared length).
"""
import os
import re
import socket
import subprocess
import sys
import time

if len(sys.argv) < 4 or "--" not in sys.argv:
    sys.exit(__doc__)
phasebench, out = sys.argv[1], sys.argv[2]
attack = "--no-attack" not in sys.argv[: sys.argv.index("--")]
run_args = sys.argv[sys.argv.index("--") + 1 :]
held_at_once = int(os.environ.get("SLOWBODY_N", "4"))
kind = os.environ.get("SLOWBODY_KIND", "small")
length_header = {
    "small": b"content-length: 100000\r\n",
    "large": b"content-length: 10000000\r\n",
    "chunked": b"transfer-encoding: chunked\r\n",
}
if kind not in length_header:
    sys.exit(f"SLOWBODY_KIND must be one of {', '.join(length_header)}, not {kind!r}")
body_start = (b"11\r\n" if kind == "chunked" else b"") + b'{"resourceLogs":['


def receiver_port():
    """The port in the config of a running codex child (CODEX_HOME in its environment)."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        for entry in env:
            if not entry.startswith(b"CODEX_HOME="):
                continue
            try:
                with open(os.path.join(entry[len(b"CODEX_HOME=") :].decode(), "config.toml")) as f:
                    found = re.search(r"http://127\.0\.0\.1:(\d+)/v1/logs", f.read())
            except OSError:
                continue
            if found:
                return int(found.group(1))
    return None


def open_partial(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(
        b"POST /v1/logs HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        + length_header[kind]
        + b"\r\n"
        + body_start
    )
    s.setblocking(False)
    return s


def dropped(s):
    try:
        s.recv(4096)
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True


started = time.monotonic()
run = subprocess.Popen([phasebench, "run", *run_args, "--json", out, "-q"])
try:
    port = None
    while attack and port is None and run.poll() is None:
        port = receiver_port()
        time.sleep(0.01)
    held, sent = [], 0
    if port is not None:
        print(
            f"slow-telemetry-body: {held_at_once} partial {kind} bodies held on 127.0.0.1:{port} "
            f"from {time.monotonic() - started:.2f} s",
            file=sys.stderr,
        )
    while port is not None and run.poll() is None:
        for s in [s for s in held if dropped(s)]:
            s.close()
            held.remove(s)
        while len(held) < held_at_once:
            try:
                held.append(open_partial(port))
            except OSError:  # the run is ending: its receiver is gone
                break
            sent += 1
        time.sleep(0.05)
    code = run.wait()
finally:
    if run.poll() is None:
        run.terminate()
        run.wait()
print(
    f"slow-telemetry-body: exit {code}, {time.monotonic() - started:.1f} s, "
    f"{sent} partial bodies sent"
)
