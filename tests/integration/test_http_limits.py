#!/usr/bin/env python3
"""The HTTP server's limits, over raw sockets on 127.0.0.1.

Each limit is hit the way a hostile or broken client would hit it, and the
test checks both the refusal (431 for oversized headers, 413 for an
oversized body, 408 for a slowloris client, 503 + close past
--max-connections, a dropped slow SSE consumer) and that everybody else is
still served promptly. Idle keep-alive connections are counted in the
server's resident memory (VmRSS in /proc/PID/status). SIGTERM under load
must answer every admitted request and exit 0 within the drain timeout.

Limits without a command-line option use the HTTP layer's documented
defaults (src/transport/http.h): 16 KiB of headers, 100 header lines, a
10 s header timeout, 1 MiB of unwritten bytes per connection.

Every loop is bounded in count and time; every server is killed in a
finally (tearDown). Linux only (/proc).
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("CMCP_BIN",
                     os.path.join(HERE, "..", "..", "build", "bin"))
LEGACY = "2025-11-25"
MODERN = "2026-07-28"

HEADER_BYTES_DEFAULT = 16 * 1024
HEADER_LINES_DEFAULT = 100
HEADER_TIMEOUT_S = 3.0  # set with --header-timeout (default 10 s)
OUTBOUND_BYTES_DEFAULT = 1 << 20
PROMPT_S = 1.0  # what "a prompt answer" means on a shared 2-core machine


def binary(name):
    """The path of a built program; raises if it is missing."""
    path = os.path.join(BIN, name)
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(f"{path} is not built")
    return path


class Server:
    """A server process on --listen 127.0.0.1:0 (it picks the port and
    names it on stderr)."""

    def __init__(self, prog, *args):
        self.stderr = tempfile.TemporaryFile()
        self.prog = prog
        self.proc = subprocess.Popen(
            [binary(prog), "--listen", "127.0.0.1:0", *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=self.stderr)
        self.port = self._wait_port(10.0)

    def _wait_port(self, limit):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            m = re.search(rb"listening on http://127\.0\.0\.1:(\d+)/mcp",
                          self.err())
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"server did not listen: {self.err()!r}")

    @property
    def pid(self):
        return self.proc.pid

    def err(self):
        """Everything the server wrote to stderr so far (bounded read)."""
        self.stderr.seek(0)
        return self.stderr.read(1 << 20)

    def rss_kb(self):
        """The server's resident set (VmRSS) in KiB."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self, timeout):
        """SIGTERM, then waits up to timeout s; returns the exit status."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.stderr.close()


# ---- raw HTTP/1.1 ------------------------------------------------------------

def connect(port, timeout=5.0, rcvbuf=None):
    """A TCP connection to the server; rcvbuf shrinks the receive buffer
    (set before connect so that the advertised window stays small)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    try:
        s.connect(("127.0.0.1", port))
    except OSError:
        s.close()
        raise
    return s


def encode_request(method, path, headers=(), body=b""):
    """The bytes of one request (Host and Content-Length added)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Incomplete(Exception):
    """The connection ended (or the time ran out) inside a response;
    got holds how many bytes of it had arrived."""

    def __init__(self, why, got):
        super().__init__(f"{why} after {got} response bytes")
        self.got = got


class Conn:
    """A keep-alive connection that reads whole responses."""

    def __init__(self, port, timeout=5.0, sock=None):
        self.sock = sock if sock is not None else connect(port, timeout)
        self.buf = b""
        self.got = 0  # bytes of the response being read

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise Incomplete("timed out", self.got)
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise Incomplete("timed out", self.got) from None
        except ConnectionResetError:
            raise Incomplete("reset", self.got) from None
        if not chunk:
            raise Incomplete("closed", self.got)
        self.got += len(chunk)
        self.buf += chunk

    def _until(self, sep, deadline, limit=1 << 20):
        while sep not in self.buf:
            if len(self.buf) > limit:
                raise Incomplete("line too long", self.got)
            self._fill(deadline)
        head, self.buf = self.buf.split(sep, 1)
        return head

    def _exact(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_head(self, timeout=5.0):
        """Status and headers (names lower-cased) of the next response."""
        self.got = len(self.buf)
        deadline = time.monotonic() + timeout
        head = self._until(b"\r\n\r\n", deadline).decode("latin-1")
        lines = head.split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        return status, headers

    def read_body(self, headers, timeout=5.0, limit=64 << 20):
        """The body after read_head: Content-Length, chunked, or to the
        close; raises Incomplete if its framing does not complete."""
        deadline = time.monotonic() + timeout
        if "content-length" in headers:
            return self._exact(int(headers["content-length"]), deadline)
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self._until(b"\r\n", deadline).split(b";")[0], 16)
                if size == 0:
                    self._until(b"\r\n", deadline)
                    return body
                body += self._exact(size, deadline)
                self._exact(2, deadline)
                if len(body) > limit:
                    raise Incomplete("body too long", self.got)
        body = b""
        try:
            while len(body) < limit:
                self._fill(deadline)
                body, self.buf = body + self.buf, b""
        except Incomplete as e:
            if "closed" in str(e):
                return body + self.buf
            raise
        raise Incomplete("body too long", self.got)

    def response(self, timeout=5.0):
        """(status, headers, body) of the next whole response."""
        deadline = time.monotonic() + timeout
        status, headers = self.read_head(timeout)
        body = self.read_body(headers, max(0.01, deadline - time.monotonic()))
        return status, headers, body

    def closed_by_peer(self, timeout=5.0):
        """True if the peer closes (EOF or reset) within timeout, reading
        and dropping whatever comes before."""
        return self.drain_to_close(timeout)[0]

    def drain_to_close(self, timeout=5.0):
        """Reads and drops bytes until the peer closes: (closed within
        timeout, bytes read)."""
        deadline = time.monotonic() + timeout
        self.got = len(self.buf)
        try:
            for _ in range(1 << 16):
                self._fill(deadline)
                self.buf = b""
        except Incomplete as e:
            return "timed out" not in str(e), self.got
        return False, self.got


def request(port, method, path, headers=(), body=b"", timeout=5.0):
    """One request on a new connection: (status, headers, body)."""
    c = Conn(port, timeout)
    try:
        c.send(encode_request(method, path, headers, body))
        return c.response(timeout)
    finally:
        c.close()


def sse_messages(body):
    """The JSON-RPC messages in the data lines of an SSE body."""
    out = []
    for line in body.decode().splitlines():
        if line.startswith("data:") and line[5:].strip():
            out.append(json.loads(line[5:]))
    return out


def rpc_messages(headers, body):
    """The JSON-RPC messages of a POST answer, JSON or SSE."""
    if headers.get("content-type", "").startswith("text/event-stream"):
        return sse_messages(body)
    return [json.loads(body)] if body else []


# ---- MCP over raw HTTP -----------------------------------------------------------

META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientInfo": {"name": "limits", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}
ACCEPT = ("Accept", "application/json, text/event-stream")
JSON_TYPE = ("Content-Type", "application/json")


def modern_request(rid, method, params, name=None):
    """A stateless 2026-07-28 POST with its metadata headers."""
    params = dict(params, _meta=META)
    body = json.dumps({"jsonrpc": "2.0", "id": rid, "method": method,
                       "params": params}).encode()
    headers = [JSON_TYPE, ACCEPT, ("MCP-Protocol-Version", MODERN),
               ("Mcp-Method", method)]
    if name is not None:
        headers.append(("Mcp-Name", name))
    return encode_request("POST", "/mcp", headers, body)


def modern_call(rid, tool, arguments=None):
    return modern_request(rid, "tools/call",
                          {"name": tool, "arguments": arguments or {}}, tool)


def legacy_request(sid, rid, method, params=None):
    """A POST on legacy session sid (rid None: a notification)."""
    msg = {"jsonrpc": "2.0", "method": method}
    if rid is not None:
        msg["id"] = rid
    if params is not None:
        msg["params"] = params
    headers = [JSON_TYPE, ACCEPT]
    if sid is not None:
        headers += [("Mcp-Session-Id", sid), ("MCP-Protocol-Version", LEGACY)]
    return encode_request("POST", "/mcp", headers, json.dumps(msg).encode())


def legacy_session(port):
    """initialize + notifications/initialized; returns the session id."""
    c = Conn(port)
    try:
        c.send(legacy_request(None, 1, "initialize", {
            "protocolVersion": LEGACY, "capabilities": {},
            "clientInfo": {"name": "limits", "version": "1"}}))
        status, headers, body = c.response()
        if status != 200 or "mcp-session-id" not in headers:
            raise AssertionError(f"initialize: {status} {headers} {body!r}")
        sid = headers["mcp-session-id"]
        c.send(legacy_request(sid, None, "notifications/initialized"))
        status, _, _ = c.response()
        if status != 202:
            raise AssertionError(f"notifications/initialized: {status}")
        return sid
    finally:
        c.close()


def call_result(status, headers, body, rid):
    """The result of response rid in a POST answer; raises otherwise."""
    if status != 200:
        raise AssertionError(f"HTTP {status}: {body[:300]!r}")
    for m in rpc_messages(headers, body):
        if m.get("id") == rid and "result" in m:
            return m["result"]
    raise AssertionError(f"no result for {rid}: {body[:300]!r}")


def timed_call(port, tool="test_simple_text", arguments=None, timeout=5.0):
    """A modern tools/call on a new connection: (seconds, result)."""
    start = time.monotonic()
    c = Conn(port, timeout)
    try:
        c.send(modern_call("probe", tool, arguments))
        result = call_result(*c.response(timeout), "probe")
    finally:
        c.close()
    return time.monotonic() - start, result


def tcp_state(server_port, client_port):
    """The kernel's state of the server side of a loopback connection
    (hex code of /proc/net/tcp: "01" established, "04" FIN-WAIT-1...), or
    None when the socket is gone."""
    want_local = f"0100007F:{server_port:04X}"
    want_remote = f"0100007F:{client_port:04X}"
    with open("/proc/net/tcp") as f:
        for line in f:
            cols = line.split()
            if len(cols) > 3 and cols[1] == want_local and \
                    cols[2] == want_remote:
                return cols[3]
    return None


class HttpLimitsTestCase(unittest.TestCase):

    def setUp(self):
        self.servers = []
        self.socks = []

    def tearDown(self):
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass
        bad = []
        for srv in self.servers:
            try:
                if srv.proc.poll() is None:  # a clean end, whatever the test
                    rc = srv.stop(10)
                    if rc != 0:
                        bad.append(f"{srv.prog} exited {rc}: "
                                   f"{srv.err()[-2000:]!r}")
            except subprocess.TimeoutExpired:
                bad.append(f"{srv.prog} still running 10 s after SIGTERM")
            finally:
                srv.kill()
        if bad:
            self.fail("; ".join(bad))

    def start(self, *args, prog="cmcp-everything"):
        srv = Server(prog, *args)
        self.servers.append(srv)
        return srv

    def assert_serves(self, srv, what):
        """A fresh client gets /health and a tools/call, promptly."""
        status, _, body = request(srv.port, "GET", "/health")
        self.assertEqual(status, 200, f"{what}: /health {body!r}")
        if srv.prog == "cmcpd":
            secs, result = timed_call(srv.port, "echo", {"text": "still"})
            want = "still"
        else:
            secs, result = timed_call(srv.port)
            want = "This is a simple text response for testing."
        self.assertEqual(result["content"][0]["text"], want)
        self.assertLess(secs, PROMPT_S, f"{what}: a call took {secs:.3f} s")

    def assert_refused_and_closed(self, c, status_want, what):
        status, headers, _ = c.response()
        self.assertEqual(status, status_want, what)
        self.assertEqual(headers.get("connection", "").lower(), "close", what)
        self.assertTrue(c.closed_by_peer(), f"{what}: connection left open")

    # ---- oversized requests --------------------------------------------------

    def test_oversized_headers_431(self):
        srv = self.start()
        cases = [
            ("one long header", [("X-Big", "a" * (HEADER_BYTES_DEFAULT + 1024))]),
            ("too many header lines",
             [(f"X-H{i}", "v") for i in range(HEADER_LINES_DEFAULT + 20)]),
            ("headers over the bound on a keep-alive connection's 2nd request",
             None),
        ]
        for what, headers in cases:
            with self.subTest(what):
                c = Conn(srv.port)
                try:
                    if headers is None:
                        c.send(encode_request("GET", "/health"))
                        self.assertEqual(c.response()[0], 200)
                        headers = [("X-Big", "b" * (HEADER_BYTES_DEFAULT * 2))]
                    c.send(encode_request("GET", "/health", headers))
                    self.assert_refused_and_closed(c, 431, what)
                finally:
                    c.close()
        self.assert_serves(srv, "after 431s")

    def test_header_limits_follow_their_options(self):
        srv = self.start("--max-header-count", "20", "--max-header-bytes",
                         "2048")
        for what, headers, status in [
                ("19 extra header lines", [(f"X-H{i}", "v") for i in range(15)],
                 200),
                ("30 header lines", [(f"X-H{i}", "v") for i in range(30)], 431),
                ("3 KiB of headers", [("X-Big", "c" * 3072)], 431)]:
            with self.subTest(what):
                c = Conn(srv.port)
                try:
                    c.send(encode_request("GET", "/health", headers))
                    if status == 200:
                        self.assertEqual(c.response()[0], 200, what)
                    else:
                        self.assert_refused_and_closed(c, status, what)
                finally:
                    c.close()
        self.assert_serves(srv, "after header limits set by options")

    def test_oversized_body_413(self):
        limit = 65536
        srv = self.start("--max-message-bytes", str(limit), prog="cmcpd")
        big = b"[" + b"1," * (limit // 2) + b"1]"
        head = [JSON_TYPE, ACCEPT, ("MCP-Protocol-Version", MODERN),
                ("Mcp-Method", "tools/call"), ("Mcp-Name", "echo")]
        with self.subTest("Content-Length over the bound"):
            c = Conn(srv.port)
            try:
                # The head alone: the server must refuse without the body.
                c.send(encode_request("POST", "/mcp", head, big)[:-len(big)])
                self.assert_refused_and_closed(c, 413, "Content-Length")
            finally:
                c.close()
        with self.subTest("chunked body over the bound"):
            c = Conn(srv.port)
            try:
                c.send(("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        "Transfer-Encoding: chunked\r\n" +
                        "".join(f"{k}: {v}\r\n" for k, v in head) +
                        "\r\n").encode())
                for i in range(0, len(big), 8192):
                    part = big[i:i + 8192]
                    try:
                        c.send(b"%x\r\n%s\r\n" % (len(part), part))
                    except (BrokenPipeError, ConnectionResetError):
                        break  # refused mid-body: the answer is waiting
                self.assert_refused_and_closed(c, 413, "chunked")
            finally:
                c.close()
        with self.subTest("a message just under the bound is served"):
            text = "x" * (limit - 1024)
            _, result = timed_call(srv.port, "echo", {"text": text})
            self.assertEqual(result["content"][0]["text"], text)
        self.assert_serves(srv, "after 413s")

    # ---- slowloris ------------------------------------------------------------

    def test_slowloris_cut_at_header_timeout(self):
        srv = self.start("--header-timeout", str(int(HEADER_TIMEOUT_S * 1000)))
        c = Conn(srv.port)
        self.socks.append(c.sock)
        head = encode_request("GET", "/health",
                              [("X-Slow", "s" * 400)])[:-4]  # never ends
        start = time.monotonic()
        sent, cut, answer = 0, None, b""
        probes = []
        c.sock.settimeout(0.2)
        # One header byte every 200 ms, up to 3 s past the timeout.
        while time.monotonic() - start < HEADER_TIMEOUT_S + 3 and \
                sent < len(head):
            try:
                c.sock.send(head[sent:sent + 1])
                sent += 1
                chunk = c.sock.recv(4096)
                if not chunk:
                    cut = time.monotonic() - start
                    break
                answer += chunk
            except socket.timeout:
                pass
            except (BrokenPipeError, ConnectionResetError):
                cut = time.monotonic() - start
                break
            if sent % 10 == 0:  # meanwhile, others are served promptly
                probes.append(timed_call(srv.port)[0])
        self.assertIsNotNone(cut, f"still connected after {sent} bytes")
        print(f"\nslowloris: cut after {cut:.2f} s and {sent} header bytes",
              file=sys.stderr)
        self.assertGreater(cut, HEADER_TIMEOUT_S - 0.5)
        self.assertLess(cut, HEADER_TIMEOUT_S + 2)
        # src/transport/http.h: a header timeout is answered 408 + close.
        self.assertTrue(answer.startswith(b"HTTP/1.1 408 "), answer)
        self.assertTrue(probes, "no probe ran")
        self.assertLess(max(probes), PROMPT_S, probes)
        self.assert_serves(srv, "after a slowloris")

    # ---- idle connections -----------------------------------------------------

    def open_idle(self, port, n):
        """n keep-alive connections, each after one answered request."""
        conns = []
        for _ in range(n):
            c = Conn(port)
            self.socks.append(c.sock)
            c.send(encode_request("GET", "/health"))
            status, _, _ = c.response()
            self.assertEqual(status, 200)
            conns.append(c)
        return conns

    def test_idle_keepalive_connections_are_cheap(self):
        n = 1000
        srv = self.start()
        # Warm up: pools, thread stacks and allocator arenas get touched.
        for c in self.open_idle(srv.port, 100):
            c.close()
        for _ in range(20):
            timed_call(srv.port)
        time.sleep(0.3)
        before = srv.rss_kb()
        conns = self.open_idle(srv.port, n)
        time.sleep(0.3)
        after = srv.rss_kb()
        per_conn = (after - before) * 1024 / n
        print(f"\nidle keep-alive connections: {n}, VmRSS {before} -> "
              f"{after} KiB, {per_conn:.0f} bytes per connection",
              file=sys.stderr)
        self.assertLess(per_conn, 8192)
        status, _, body = request(srv.port, "GET", "/health")
        self.assertEqual(status, 200)
        self.assertGreaterEqual(json.loads(body)["connections"], 0)
        for _ in range(5):
            secs, _ = timed_call(srv.port)
            self.assertLess(secs, PROMPT_S)
        # The held connections still work.
        for c in conns[::100]:
            c.send(encode_request("GET", "/health"))
            self.assertEqual(c.response()[0], 200)

    # ---- slow SSE consumer -----------------------------------------------------

    def open_slow_stream(self, srv, kind):
        """A stream whose client never reads past the response head; the
        next resource update reaches it. Returns its socket and the legacy
        session id (None for a modern stream)."""
        uri = "test://watched-resource"
        s = connect(srv.port, rcvbuf=4096)
        self.socks.append(s)
        sid = None
        if kind == "legacy GET stream":
            sid = legacy_session(srv.port)
            c = Conn(srv.port)
            c.send(legacy_request(sid, 2, "resources/subscribe", {"uri": uri}))
            call_result(*c.response(), 2)
            c.close()
            s.sendall(encode_request("GET", "/mcp", [
                ("Accept", "text/event-stream"), ("Mcp-Session-Id", sid),
                ("MCP-Protocol-Version", LEGACY)]))
        else:
            s.sendall(modern_request("listen", "subscriptions/listen", {
                "notifications": {"resourceSubscriptions": [uri]}}))
        head = Conn(srv.port, sock=s)
        status, headers = head.read_head()
        self.assertEqual(status, 200, kind)
        self.assertTrue(headers["content-type"].startswith("text/event-stream"))
        return s, sid

    def flood_until_dropped(self, srv, slow):
        """Updates the watched resource (16 pipelined calls at a time) until
        the server closes slow; returns (calls, worst batch seconds, worst
        probe seconds)."""
        client_port = slow.getsockname()[1]
        driver = Conn(srv.port, timeout=10)
        batch = b"".join(modern_call(i, "test_update_watched_resource")
                         for i in range(16))
        calls, worst, probe_worst = 0, 0.0, 0.0
        start = time.monotonic()
        try:
            while calls < 400000 and time.monotonic() - start < 90:
                t0 = time.monotonic()
                driver.send(batch)
                for i in range(16):
                    call_result(*driver.response(10), i)
                worst = max(worst, time.monotonic() - t0)
                calls += 16
                if calls % 512 == 0:
                    probe_worst = max(probe_worst, timed_call(srv.port)[0])
                    if tcp_state(srv.port, client_port) != "01":
                        return calls, worst, probe_worst
        finally:
            driver.close()
        self.fail(f"slow consumer not dropped after {calls} events")

    def test_slow_sse_consumer_is_dropped(self):
        srv = self.start()
        for kind in ("legacy GET stream", "modern subscriptions/listen"):
            with self.subTest(kind):
                slow, sid = self.open_slow_stream(srv, kind)
                calls, worst, probe = self.flood_until_dropped(srv, slow)
                # Reading now drains what was queued, then the close.
                closed, queued = Conn(srv.port, sock=slow).drain_to_close(10)
                print(f"\nslow consumer ({kind}): dropped after {calls} "
                      f"events, {queued} bytes left to read; worst batch "
                      f"{worst * 1000:.0f} ms, worst probe "
                      f"{probe * 1000:.0f} ms", file=sys.stderr)
                self.assertTrue(closed, "slow stream left open")
                # Dropped at its bound, not before (~130 B per event), and
                # what was in flight is bounded by it plus socket buffers.
                self.assertGreater(calls * 100, OUTBOUND_BYTES_DEFAULT)
                self.assertLess(queued, OUTBOUND_BYTES_DEFAULT + (8 << 20))
                self.assertLess(worst, PROMPT_S)
                self.assertLess(probe, PROMPT_S)
                self.assert_serves(srv, f"after dropping a {kind}")
                if sid is not None:  # the stream went, the session stays
                    c = Conn(srv.port)
                    c.send(legacy_request(sid, 9, "ping"))
                    self.assertEqual(call_result(*c.response(), 9), {})
                    c.close()

    # ---- max connections --------------------------------------------------------

    def test_max_connections_refuses_the_next_one(self):
        # "--max-connections N: open connections at most": the process's
        # bound, however many loop threads share the port.
        for threads in ("1", "2"):
            with self.subTest(threads=threads):
                srv = self.start("--max-connections", "50",
                                 "--threads", threads)
                self.check_max_connections(srv, 50)

    def check_max_connections(self, srv, bound):
        held = self.open_idle(srv.port, bound)
        for attempt in range(3):
            c = Conn(srv.port)
            self.socks.append(c.sock)
            c.send(encode_request("GET", "/health"))
            status, headers, _ = c.response()
            self.assertEqual(status, 503,
                             f"connection {bound + 1 + attempt} admitted")
            self.assertIn("retry-after", headers)
            self.assertEqual(headers.get("connection", "").lower(), "close")
            self.assertTrue(c.closed_by_peer(), "refused connection left open")
            c.close()
        for c in held[:10]:
            c.close()
        # Served again once others closed (the close takes a loop turn).
        deadline = time.monotonic() + 5
        status = None
        while time.monotonic() < deadline:
            status, _, _ = request(srv.port, "GET", "/health")
            if status == 200:
                break
            time.sleep(0.05)
        self.assertEqual(status, 200, "not served after 10 connections closed")
        secs, _ = timed_call(srv.port)
        self.assertLess(secs, PROMPT_S)
        for c in held[10:]:
            c.close()

    # ---- SIGTERM under load ---------------------------------------------------------

    def test_sigterm_under_load_answers_admitted_requests(self):
        drain_ms = 5000
        srv = self.start("--drain-timeout", str(drain_ms), "--workers", "8",
                         prog="cmcpd")
        records = []  # (client, tool, sent_at, outcome, detail, done_at)
        lock = threading.Lock()
        stop_at = [time.monotonic() + 30]
        sig_at = [None]

        def client(n):
            sleeper = n % 3 == 0
            legacy = n % 5 == 4
            sid = legacy_session(srv.port) if legacy else None
            c, rid = None, 0
            while time.monotonic() < stop_at[0] and rid < 500:
                rid += 1
                args = ({"ms": 200 + 100 * (n % 7)} if sleeper and rid % 2
                        else {"text": f"{n}-{rid}"})
                tool = "sleep" if "ms" in args else "echo"
                if legacy:
                    data = legacy_request(sid, rid, "tools/call",
                                          {"name": tool, "arguments": args})
                else:
                    data = modern_call(rid, tool, args)
                sent_at, outcome, detail = None, None, None
                try:
                    if c is None:
                        c = Conn(srv.port, timeout=10)
                    c.send(data)
                    sent_at = time.monotonic()
                    status, headers, body = c.response(drain_ms / 1000 + 5)
                    if status == 200:
                        result = call_result(status, headers, body, rid)
                        want = (f"slept {args['ms']} ms" if tool == "sleep"
                                else args["text"])
                        outcome = ("ok" if result["content"][0]["text"] == want
                                   else "wrong")
                        detail = result
                    else:
                        outcome, detail = f"http {status}", body[:200]
                    if headers.get("connection", "").lower() == "close":
                        c.close()
                        c = None
                except Incomplete as e:
                    outcome = "incomplete" if e.got else "no answer"
                    detail = str(e)
                except OSError as e:
                    outcome, detail = "refused", repr(e)
                except AssertionError as e:
                    outcome, detail = "bad answer", str(e)
                with lock:
                    records.append((n, tool, sent_at, outcome, detail,
                                    time.monotonic()))
                if outcome not in ("ok",) and c is not None:
                    c.close()
                    c = None
                if outcome in ("refused", "no answer", "incomplete") and \
                        sig_at[0] is not None:
                    break  # the server is going away
            if c is not None:
                c.close()

        threads = [threading.Thread(target=client, args=(n,), daemon=True)
                   for n in range(20)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        sig_at[0] = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        try:
            rc = srv.proc.wait(drain_ms / 1000 + 3)
        except subprocess.TimeoutExpired:
            rc = None
        exited = time.monotonic() - sig_at[0]
        stop_at[0] = time.monotonic()
        for t in threads:
            t.join(drain_ms / 1000 + 10)
        self.assertFalse(any(t.is_alive() for t in threads), "client hung")
        t_sig = sig_at[0]
        before = [r for r in records if r[2] is not None and
                  r[2] < t_sig - 0.25]
        answered = [r for r in records if r[3] not in
                    ("no answer", "refused")]
        late = {}
        for r in records:
            if r[2] is None or r[2] >= t_sig:
                late[r[3]] = late.get(r[3], 0) + 1
        print(f"\nSIGTERM under load: {len(records)} requests, "
              f"{len(before)} sent >= 250 ms before the signal, "
              f"{sum(r[3] == 'ok' for r in records)} ok; after the signal: "
              f"{late}; exit {rc} after {exited:.2f} s", file=sys.stderr)
        self.assertGreater(len(before), 20, "too little load")
        # The drain was exercised: sleeps in flight across the signal.
        across = [r for r in before if r[1] == "sleep" and r[5] > t_sig]
        self.assertTrue(across, "no sleep was in flight at the signal")
        for r in before:
            self.assertEqual(r[3], "ok", f"admitted before the signal: {r}")
        for r in answered:  # any response bytes: a whole answer
            self.assertNotIn(r[3], ("incomplete", "wrong", "bad answer"), r)
        self.assertEqual(rc, 0, f"exit status; stderr {srv.err()[-2000:]!r}")
        self.assertLess(exited, drain_ms / 1000 + 1.5)


if __name__ == "__main__":
    unittest.main(verbosity=2)
