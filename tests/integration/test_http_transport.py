#!/usr/bin/env python3
"""cmcp-everything --listen: the Streamable HTTP transport from outside the
process. The HTTP error matrix, sessions (DELETE, idle expiry, the session
bound), a GET stream dropped and resumed with Last-Event-ID without losing
or repeating an event, and SIGTERM while requests are in flight."""
import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
import unittest

BIN = os.path.join(os.environ.get("CMCP_BIN", "build/bin"), "cmcp-everything")
LEGACY = "2025-11-25"
ACCEPT = "application/json, text/event-stream"
IO_TIMEOUT = 10.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A cmcp-everything process listening on a free loopback port."""

    def __init__(self, *args):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [BIN, "--listen", "127.0.0.1:%d" % self.port, *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        if "cmcp: listening on http://127.0.0.1:%d/mcp" % self.port not in line:
            self.proc.kill()
            raise RuntimeError("server did not start: %r" % line)
        self.reader = threading.Thread(target=self.proc.stderr.read,
                                       daemon=True)
        self.reader.start()

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait(timeout)

    def wait(self, timeout=15):
        rc = self.proc.wait(timeout)
        self.reader.join(timeout)
        self.proc.stderr.close()
        return rc

    def request(self, method, body=None, headers=None, path="/mcp"):
        """One request on its own connection: (status, headers, body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=IO_TIMEOUT)
        h = {"Accept": ACCEPT, "Content-Type": "application/json"}
        h.update(headers or {})
        h = {k: v for k, v in h.items() if v is not None}
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        try:
            conn.request(method, path, body=body, headers=h)
            resp = conn.getresponse()
            return resp.status, resp.headers, resp.read().decode()
        finally:
            conn.close()


def messages(body):
    """The JSON-RPC messages of an SSE body (or of a JSON body)."""
    if body.startswith("{"):
        return [json.loads(body)]
    out = []
    for event in body.split("\n\n"):
        data = [ln[6:] for ln in event.split("\n") if ln.startswith("data: ")]
        if data and "".join(data).strip():
            out.append(json.loads("\n".join(data)))
    return out


class Session:
    """A legacy session over plain POSTs."""

    def __init__(self, server):
        self.server = server
        self.next_id = 1
        status, headers, body = server.request("POST", {
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": LEGACY, "capabilities": {},
                       "clientInfo": {"name": "t", "version": "1"}}})
        assert status == 200, (status, body)
        self.sid = headers["Mcp-Session-Id"]
        assert self.post({"jsonrpc": "2.0",
                          "method": "notifications/initialized"})[0] == 202

    def headers(self, **more):
        h = {"Mcp-Session-Id": self.sid, "MCP-Protocol-Version": LEGACY}
        h.update(more)
        return h

    def post(self, msg):
        return self.server.request("POST", msg, self.headers())

    def call(self, method, params=None):
        """A request; returns its response message."""
        self.next_id += 1
        status, _, body = self.post({"jsonrpc": "2.0", "id": self.next_id,
                                     "method": method, "params": params or {}})
        assert status == 200, (status, body)
        resp = [m for m in messages(body) if m.get("id") == self.next_id]
        assert len(resp) == 1, body
        return resp[0]


class SSEStream:
    """A GET stream read event by event (chunked transfer decoded here)."""

    def __init__(self, server, headers):
        self.sock = socket.create_connection(("127.0.0.1", server.port),
                                             timeout=IO_TIMEOUT)
        lines = ["GET /mcp HTTP/1.1", "Host: 127.0.0.1:%d" % server.port,
                 "Accept: text/event-stream"]
        lines += ["%s: %s" % kv for kv in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.raw = b""
        head = self._until(b"\r\n\r\n")
        self.status = int(head.split(b" ")[1])
        self.data = b""

    def _until(self, sep):
        while sep not in self.raw:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("stream closed")
            self.raw += chunk
        out, self.raw = self.raw.split(sep, 1)
        return out

    def _chunk(self):
        size = int(self._until(b"\r\n"), 16)
        if size == 0:
            raise EOFError("stream ended")
        while len(self.raw) < size + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("stream closed")
            self.raw += chunk
        self.data += self.raw[:size]
        self.raw = self.raw[size + 2:]

    def event(self):
        """The next event as a dict of its fields."""
        while b"\n\n" not in self.data:
            self._chunk()
        ev, self.data = self.data.split(b"\n\n", 1)
        fields = {}
        for line in ev.decode().split("\n"):
            name, _, value = line.partition(": ")
            fields.setdefault(name, value)
        return fields

    def close(self):
        self.sock.close()


class HttpTransportTest(unittest.TestCase):

    def setUp(self):
        self.server = Server("--max-message-bytes", "65536", "--threads", "2")

    def tearDown(self):
        self.assertEqual(self.server.stop(), 0, "exit status")

    def test_error_matrix(self):
        s = Session(self.server)
        rq = self.server.request
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": LEGACY, "capabilities": {},
                           "clientInfo": {"name": "t", "version": "1"}}}
        cases = [
            ("PUT", init, {}, 405, None),
            ("GET", None, {"Accept": "text/event-stream"}, 405, None),
            ("POST", init, {"Accept": "application/json"}, 406, None),
            ("POST", init, {"Content-Type": "text/plain"}, 415, None),
            ("POST", init, {"Origin": "http://evil.example"}, 403, None),
            ("POST", "{nope", {}, 400, -32700),
            ("POST", {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, {},
             400, -32600),
            ("POST", {"jsonrpc": "2.0", "id": 3, "method": "tools/list"},
             {"Mcp-Session-Id": "0123456789abcdef0123456789abcdef.0"}, 404,
             None),
            ("GET", None, s.headers(Accept="application/json"), 406, None),
            ("POST", "x" * 70000, {}, 413, None),
            ("POST", init, {"X-Big": "y" * 20000}, 431, None),
        ]
        for method, body, headers, status, code in cases:
            with self.subTest(method=method, headers=list(headers),
                              status=status):
                got, _, text = rq(method, body, headers)
                self.assertEqual(got, status, text)
                if code is not None:
                    self.assertEqual(json.loads(text)["error"]["code"], code)
        self.assertEqual(rq("GET", path="/nowhere")[0], 404)
        # One standalone stream per session: a second GET is a conflict.
        stream = SSEStream(self.server, s.headers())
        self.assertEqual(stream.status, 200)
        self.assertEqual(rq("GET", None, s.headers(
            Accept="text/event-stream"))[0], 409)
        stream.close()

    def test_delete_ends_the_session(self):
        s = Session(self.server)
        self.assertEqual(s.call("ping")["result"], {})
        status, _, _ = self.server.request("DELETE", None, s.headers())
        self.assertEqual(status, 200)
        for method in ("POST", "DELETE"):
            status, _, _ = self.server.request(
                method, {"jsonrpc": "2.0", "id": 9, "method": "ping"},
                s.headers())
            self.assertEqual(status, 404, method)

    def test_health(self):
        Session(self.server)
        status, headers, body = self.server.request("GET", path="/health")
        self.assertEqual(status, 200)
        h = json.loads(body)
        self.assertEqual(h["status"], "ok")
        self.assertEqual(h["sessions"], 1)
        self.assertGreaterEqual(h["connections"], 1)
        self.assertGreaterEqual(h["uptimeSeconds"], 0)

    def updated_uris(self, stream, n):
        """Reads n resources/updated events; returns their ids."""
        ids = []
        while len(ids) < n:
            ev = stream.event()
            if not ev.get("data", "").strip():
                continue  # priming
            msg = json.loads(ev["data"])
            self.assertEqual(msg["method"], "notifications/resources/updated")
            ids.append(ev["id"])
        return ids

    def test_get_stream_resumes_without_loss_or_repeat(self):
        s = Session(self.server)
        uri = "test://watched-resource"
        self.assertIn("result", s.call("resources/subscribe", {"uri": uri}))
        stream = SSEStream(self.server, s.headers())
        self.assertEqual(stream.status, 200)
        prime = stream.event()
        self.assertEqual(prime["data"], "")
        self.assertIn("retry", prime)
        update = {"name": "test_update_watched_resource", "arguments": {}}
        s.call("tools/call", update)
        first = self.updated_uris(stream, 1)
        stream.close()
        time.sleep(0.2)  # the server notices the drop
        for _ in range(3):
            s.call("tools/call", update)
        stream = SSEStream(self.server, s.headers(**{"Last-Event-ID":
                                                     first[-1]}))
        self.assertEqual(stream.status, 200)
        later = self.updated_uris(stream, 3)
        self.assertEqual(len(set(first + later)), 4, (first, later))
        s.call("tools/call", update)  # the resumed stream goes on
        self.updated_uris(stream, 1)
        stream.close()
        bad = self.server.request("GET", None, s.headers(**{
            "Accept": "text/event-stream", "Last-Event-ID": "x-1"}))
        self.assertEqual(bad[0], 400)


class SessionLimitsTest(unittest.TestCase):

    def test_idle_sessions_expire(self):
        server = Server("--session-idle-timeout", "1000")
        try:
            s = Session(server)
            self.assertIn("result", s.call("ping"))
            time.sleep(2.5)
            status, _, _ = s.post({"jsonrpc": "2.0", "id": 5,
                                   "method": "ping"})
            self.assertEqual(status, 404)
        finally:
            self.assertEqual(server.stop(), 0)

    def test_max_sessions(self):
        server = Server("--max-sessions", "2")
        try:
            Session(server)
            Session(server)
            status, headers, body = server.request("POST", {
                "jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": LEGACY, "capabilities": {},
                           "clientInfo": {"name": "t", "version": "1"}}})
            self.assertEqual(status, 503, body)
            self.assertIn("Retry-After", headers)
        finally:
            self.assertEqual(server.stop(), 0)


class OptionsTest(unittest.TestCase):

    def test_bad_values_are_usage_errors(self):
        cases = [("--max-sessions", "0"), ("--session-idle-timeout", "x"),
                 ("--session-events", "0"), ("--json-response=1", None)]
        for opt, value in cases:
            args = [BIN, "--listen", "127.0.0.1:0", opt]
            if value is not None:
                args.append(value)
            with self.subTest(option=opt):
                done = subprocess.run(args, capture_output=True, text=True,
                                      timeout=10, stdin=subprocess.DEVNULL)
                self.assertEqual(done.returncode, 2, done.stderr)
                self.assertIn(opt.split("=")[0], done.stderr)

    def test_json_response(self):
        server = Server("--json-response")
        try:
            s = Session(server)
            status, headers, body = s.post({"jsonrpc": "2.0", "id": 7,
                                            "method": "ping"})
            self.assertEqual(status, 200)
            self.assertEqual(headers["Content-Type"], "application/json")
            self.assertEqual(json.loads(body), {"jsonrpc": "2.0", "id": 7,
                                                "result": {}})
        finally:
            self.assertEqual(server.stop(), 0)


class ShutdownTest(unittest.TestCase):

    def test_sigterm_answers_every_admitted_request(self):
        server = Server("--drain-timeout", "5000", "--threads", "2")
        s = Session(server)
        results = []

        def slow(i):
            msg = {"jsonrpc": "2.0", "id": 100 + i, "method": "tools/call",
                   "params": {"name": "slow_compute",
                              "arguments": {"seconds": 1}}}
            results.append(s.post(msg))

        threads = [threading.Thread(target=slow, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.4)  # all four admitted and running
        server.proc.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(15)
        self.assertEqual(server.wait(), 0)  # one signal only
        self.assertEqual(len(results), 4)
        for status, _, body in results:
            self.assertEqual(status, 200, body)
            resp = [m for m in messages(body) if "result" in m]
            self.assertEqual(len(resp), 1, body)
            self.assertIn("finished after 1 s",
                          resp[0]["result"]["content"][0]["text"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
