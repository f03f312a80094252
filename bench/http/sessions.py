#!/usr/bin/env python3
"""bench/http/sessions.py: memory per legacy session with an open GET stream.

    sessions.py --port PORT --pid SERVER_PID --sessions N [--procs P]

Opens N legacy (2025-11-25) sessions on the Streamable HTTP endpoint
http://127.0.0.1:PORT/mcp, each over its own connection: POST initialize
(the Mcp-Session-Id comes back), POST notifications/initialized (202), then
GET /mcp with the session id, which the server answers with an SSE stream
that stays open. With every stream open it reads the server's VmRSS from
/proc/SERVER_PID/status, then closes all connections and reads it again.
With --no-get each session closes its connection once initialized instead,
which leaves the server holding the sessions alone.
Prints one line

    RESULT sessions target=N opened=K failed=F dropped=D rss_before_kb=..
        rss_open_kb=.. rss_closed_kb=.. kb_per_session=.. open_seconds=..

(one line; wrapped here) where dropped counts streams the server ended
while they were held. The sessions are spread over P child processes (each
holds N/P connections, under the open-files limit of a process); setups run
with a bounded concurrency. Python 3 standard library only; every wait is
bounded in time.
"""
import argparse
import asyncio
import json
import os
import subprocess
import sys
import time

PROTOCOL = "2025-11-25"
IO_TIMEOUT = 30.0


def rss_kb(pid):
    """The VmRSS of process pid in KB, or -1 if it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def request(method, headers, body=b""):
    """The bytes of one HTTP/1.1 request to /mcp."""
    lines = [f"{method} /mcp HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body


async def read_head(reader):
    """(status, {lower-case header: value}) of one HTTP response."""
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, sep, v = line.partition(":")
        if sep:
            headers[k.strip().lower()] = v.strip()
    return status, headers


async def read_body(reader, headers):
    """The whole body of a response with a length or chunked encoding."""
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() != "chunked":
        return b""
    out = b""
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return out
        out += chunk[:-2]


async def exchange(reader, writer, method, headers, body=b""):
    writer.write(request(method, headers, body))
    await writer.drain()
    status, rh = await read_head(reader)
    data = b"" if status == 202 and "content-length" not in rh and \
        "transfer-encoding" not in rh else await read_body(reader, rh)
    return status, rh, data


class Session:
    def __init__(self):
        self.writer = None
        self.held = None
        self.dropped = False


async def hold(reader, sess):
    """Reads the GET stream until the server ends it (a drop); cancelling
    the task is the client's own close, not a drop."""
    try:
        while await reader.read(65536):
            pass
    except ConnectionError:
        pass
    sess.dropped = True


async def open_session(port, sess, get):
    """initialize, initialized, GET: True once the stream is open (without
    get: True once initialized, with the connection closed)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sess.writer = writer
    base = {"Content-Type": "application/json",
            "Accept": "application/json, text/event-stream"}
    init = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                       "params": {"protocolVersion": PROTOCOL,
                                  "capabilities": {},
                                  "clientInfo": {"name": "sessions.py",
                                                 "version": "1"}}}).encode()
    status, rh, _ = await exchange(reader, writer, "POST", base, init)
    sid = rh.get("mcp-session-id")
    if status != 200 or not sid:
        return False
    h = dict(base, **{"Mcp-Session-Id": sid, "MCP-Protocol-Version": PROTOCOL})
    note = b'{"jsonrpc":"2.0","method":"notifications/initialized"}'
    status, _, _ = await exchange(reader, writer, "POST", h, note)
    if status != 202:
        return False
    if not get:
        writer.close()
        sess.writer = None
        return True
    writer.write(request("GET", {"Accept": "text/event-stream",
                                 "Mcp-Session-Id": sid,
                                 "MCP-Protocol-Version": PROTOCOL}))
    await writer.drain()
    status, rh = await read_head(reader)
    if status != 200 or "text/event-stream" not in rh.get("content-type", ""):
        return False
    sess.held = asyncio.ensure_future(hold(reader, sess))
    return True


async def child_main(port, count, concurrency, get):
    """Opens count sessions, reports, waits for a line on stdin, closes."""
    gate = asyncio.Semaphore(concurrency)
    sessions = [Session() for _ in range(count)]

    async def one(sess):
        async with gate:
            try:
                return await asyncio.wait_for(open_session(port, sess, get),
                                              IO_TIMEOUT)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                    asyncio.LimitOverrunError, ValueError, IndexError):
                return False

    oks = await asyncio.gather(*(one(s) for s in sessions))
    opened = sum(1 for ok in oks if ok)
    print(f"READY {opened} {count - opened}", flush=True)
    loop = asyncio.get_running_loop()
    await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.readline),
                           3600)
    dropped = sum(1 for s in sessions if s.dropped)
    for s in sessions:
        if s.held is not None:
            s.held.cancel()
        if s.writer is not None:
            s.writer.close()
    await asyncio.sleep(0.2)
    print(f"DONE {dropped}", flush=True)


def parent_main(args):
    before = rss_kb(args.pid)
    per = [args.sessions // args.procs + (1 if i < args.sessions % args.procs
                                         else 0) for i in range(args.procs)]
    start = time.monotonic()
    kids = [subprocess.Popen([sys.executable, os.path.abspath(__file__),
                              "--child", "--port", str(args.port),
                              "--sessions", str(n),
                              "--concurrency", str(args.concurrency)]
                             + (["--no-get"] if args.no_get else []),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True) for n in per]
    opened = failed = 0
    for k in kids:
        line = k.stdout.readline().split()
        if len(line) == 3 and line[0] == "READY":
            opened += int(line[1])
            failed += int(line[2])
        else:
            failed += per[kids.index(k)]
    open_seconds = time.monotonic() - start
    time.sleep(args.settle)
    rss_open = rss_kb(args.pid)
    dropped = 0
    for k in kids:
        try:
            k.stdin.write("\n")
            k.stdin.flush()
        except OSError:
            pass
    for k in kids:
        line = k.stdout.readline().split()
        if len(line) == 2 and line[0] == "DONE":
            dropped += int(line[1])
        try:
            k.wait(timeout=60)
        except subprocess.TimeoutExpired:
            k.kill()
    time.sleep(args.settle)
    rss_closed = rss_kb(args.pid)
    per_kb = (rss_open - before) / opened if opened and rss_open > 0 else -1
    print(f"RESULT sessions target={args.sessions} opened={opened} "
          f"failed={failed} dropped={dropped} rss_before_kb={before} "
          f"rss_open_kb={rss_open} rss_closed_kb={rss_closed} "
          f"kb_per_session={per_kb:.3f} open_seconds={open_seconds:.2f}",
          flush=True)
    return 0 if opened == args.sessions and dropped == 0 else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, default=0, help="server process")
    p.add_argument("--sessions", type=int, default=5000)
    p.add_argument("--procs", type=int, default=1)
    p.add_argument("--concurrency", type=int, default=100)
    p.add_argument("--settle", type=float, default=1.0,
                   help="seconds to wait before reading RSS")
    p.add_argument("--no-get", action="store_true",
                   help="open no GET stream: initialize, initialized, close")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        asyncio.run(child_main(args.port, args.sessions, args.concurrency,
                               not args.no_get))
        return 0
    if args.pid <= 0 or args.procs < 1 or args.sessions < 1:
        p.error("--pid, --sessions and --procs must be positive")
    return parent_main(args)


if __name__ == "__main__":
    sys.exit(main())
