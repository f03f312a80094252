#!/usr/bin/env python3
"""cmcpd's /metrics: a known mix of traffic (tool calls that succeed and
fail, unknown methods, legacy sessions with a GET stream, modern requests,
refusals at --max-sessions and at the message size) and then the whole
exposition parsed strictly, on the MCP port and on --metrics-listen, with
every counter equal to what was sent. A stdio server is scraped through
--metrics-listen too."""
import http.client
import json
import math
import os
import re
import socket
import subprocess
import threading
import time
import unittest

BIN = os.path.join(os.environ.get("CMCP_BIN", "build/bin"), "cmcpd")
LEGACY = "2025-11-25"
MODERN = "2026-07-28"
ACCEPT = "application/json, text/event-stream"
IO_TIMEOUT = 10.0

NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- a strict parser of the Prometheus text format (0.0.4) ---------------

def parse_labels(text, line):
    """'{a="x",b="y"}' -> {"a": "x", "b": "y"}; anything else fails."""
    assert text.startswith("{") and text.endswith("}"), line
    body, labels, pos = text[1:-1], {}, 0
    while pos < len(body):
        m = LABEL_RE.match(body, pos)
        assert m, "bad label in %r" % line
        assert m.group(1) not in labels, "repeated label in %r" % line
        labels[m.group(1)] = m.group(2)
        pos = m.end()
        if pos < len(body):
            assert body[pos] == ",", "bad label separator in %r" % line
            pos += 1
    return labels


def family_of(name, types):
    """The declared family a sample name belongs to."""
    if name in types:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and types.get(base) == "histogram":
            return base
    raise AssertionError("sample %s has no # TYPE" % name)


def parse_exposition(text):
    """Parses the whole text; returns {(name, frozenset(labels)): value}
    and the declared types. Fails on any line that is not a HELP/TYPE
    comment or a sample of a declared family."""
    assert text.endswith("\n"), "the text must end with a newline"
    types, helps, samples = {}, set(), {}
    for line in text.split("\n")[:-1]:
        assert line.strip() == line and line, "bad line %r" % line
        if line.startswith("#"):
            parts = line.split(" ", 3)
            assert parts[1] in ("HELP", "TYPE"), line
            assert NAME_RE.fullmatch(parts[2]), line
            if parts[1] == "TYPE":
                assert parts[2] not in types, "TYPE twice: %r" % line
                assert parts[3] in ("counter", "gauge", "histogram"), line
                types[parts[2]] = parts[3]
            else:
                assert parts[2] not in helps, "HELP twice: %r" % line
                helps.add(parts[2])
            continue
        m = NAME_RE.match(line)
        assert m, "bad sample %r" % line
        name, rest = m.group(0), line[m.end():]
        labels = {}
        if rest.startswith("{"):
            end = rest.index("}") + 1
            labels = parse_labels(rest[:end], line)
            rest = rest[end:]
        assert rest.startswith(" ") and rest.count(" ") == 1, line
        value = float(rest[1:])
        assert not math.isnan(value), line
        family_of(name, types)
        key = (name, frozenset(labels.items()))
        assert key not in samples, "duplicate series %r" % line
        samples[key] = value
    for fam, kind in types.items():
        assert fam in helps, "%s has no # HELP" % fam
        if kind == "counter":
            assert fam.endswith("_total"), fam
    check_histograms(types, samples)
    return samples, types


def check_histograms(types, samples):
    """Buckets cumulative in increasing le, +Inf equal to _count."""
    for fam, kind in types.items():
        if kind != "histogram":
            continue
        series = {}
        for (name, labels), value in samples.items():
            if name == fam + "_bucket":
                d = dict(labels)
                le = d.pop("le")
                series.setdefault(frozenset(d.items()), []).append(
                    (float(le), value))
        for labels, buckets in series.items():
            buckets.sort()
            values = [v for _, v in buckets]
            assert values == sorted(values), "not cumulative: %r" % labels
            assert buckets[-1][0] == math.inf, "no +Inf bucket"
            assert samples[(fam + "_count", labels)] == buckets[-1][1]
            assert (fam + "_sum", labels) in samples


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


# ---- the server ------------------------------------------------------------

class Server:
    """cmcpd on a free port, with --metrics-listen on another."""

    def __init__(self, *args, stdio=False):
        self.port = None
        cmd = [BIN, "--metrics-listen", "127.0.0.1:0", *args]
        if not stdio:
            self.port = free_port()
            cmd += ["--listen", "127.0.0.1:%d" % self.port]
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE if stdio else subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdio else subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        m = re.search(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", line)
        if not m:
            self.proc.kill()
            raise RuntimeError("no metrics endpoint: %r" % line)
        self.metrics_port = int(m.group(1))
        if not stdio:
            line = self.proc.stderr.readline()
            if "listening on http://127.0.0.1:%d/mcp" % self.port not in line:
                self.proc.kill()
                raise RuntimeError("server did not start: %r" % line)
        self.reader = threading.Thread(target=self.proc.stderr.read,
                                       daemon=True)
        self.reader.start()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        rc = self.proc.wait(15)
        self.reader.join(5)
        self.close_pipes()
        return rc

    def close_pipes(self):
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None and not pipe.closed:
                pipe.close()

    def request(self, method, body=None, headers=None, path="/mcp",
                port=None):
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port,
                                          timeout=IO_TIMEOUT)
        h = {"Accept": ACCEPT, "Content-Type": "application/json"}
        h.update(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        try:
            conn.request(method, path, body=body, headers=h)
            resp = conn.getresponse()
            return resp.status, resp.headers, resp.read().decode()
        finally:
            conn.close()

    def scrape(self, port=None):
        status, headers, body = self.request("GET", path="/metrics",
                                             port=port)
        assert status == 200, (status, body)
        assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return parse_exposition(body)[0]


def messages(body):
    if body.startswith("{"):
        return [json.loads(body)]
    out = []
    for event in body.split("\n\n"):
        data = [ln[6:] for ln in event.split("\n") if ln.startswith("data: ")]
        if data and "".join(data).strip():
            out.append(json.loads("\n".join(data)))
    return out


def initialize(server):
    return server.request("POST", {
        "jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": LEGACY, "capabilities": {},
                   "clientInfo": {"name": "t", "version": "1"}}})


class Session:
    def __init__(self, server):
        self.server, self.next_id = server, 1
        status, headers, body = initialize(server)
        assert status == 200, (status, body)
        self.sid = headers["Mcp-Session-Id"]
        assert self.post({"jsonrpc": "2.0",
                          "method": "notifications/initialized"})[0] == 202

    def headers(self):
        return {"Mcp-Session-Id": self.sid, "MCP-Protocol-Version": LEGACY}

    def post(self, msg):
        return self.server.request("POST", msg, self.headers())

    def call(self, method, params=None):
        self.next_id += 1
        status, _, body = self.post({"jsonrpc": "2.0", "id": self.next_id,
                                     "method": method, "params": params or {}})
        assert status == 200, (status, body)
        resp = [m for m in messages(body) if m.get("id") == self.next_id]
        assert len(resp) == 1, body
        return resp[0]


def modern_call(server, rid, tool, args):
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "t",
                                                   "version": "1"}}
    status, _, body = server.request("POST", {
        "jsonrpc": "2.0", "id": rid, "method": "tools/call",
        "params": {"name": tool, "arguments": args, "_meta": meta}},
        {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call",
         "Mcp-Name": tool})
    assert status == 200, (status, body)
    return [m for m in messages(body) if m.get("id") == rid][0]


def open_get_stream(server, session):
    """A GET stream held open; returns the connection (close to end it)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port,
                                      timeout=IO_TIMEOUT)
    h = session.headers()
    h["Accept"] = "text/event-stream"
    conn.request("GET", "/mcp", headers=h)
    resp = conn.getresponse()
    assert resp.status == 200, resp.status
    return conn


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


class MetricsTest(unittest.TestCase):
    OK_CALLS, TOOL_ERRORS, UNKNOWN, MODERN_CALLS = 5, 3, 4, 2

    def setUp(self):
        self.server = Server("--max-sessions", "2", "--threads", "2",
                             "--max-message-bytes", "65536")

    def tearDown(self):
        self.assertEqual(self.server.stop(), 0)

    def send_mix(self):
        a, b = Session(self.server), Session(self.server)
        for i in range(self.OK_CALLS):
            r = a.call("tools/call", {"name": "echo",
                                      "arguments": {"text": "x%d" % i}})
            self.assertFalse(r["result"].get("isError", False))
        for _ in range(self.TOOL_ERRORS):
            r = b.call("tools/call", {"name": "fail", "arguments": {}})
            self.assertTrue(r["result"]["isError"])
        for _ in range(self.UNKNOWN):
            self.assertEqual(a.call("no/such/method")["error"]["code"],
                             -32601)
        for i in range(self.MODERN_CALLS):
            r = modern_call(self.server, 100 + i, "echo", {"text": "m"})
            self.assertIn("result", r)
        status, headers, _ = initialize(self.server)  # over --max-sessions
        self.assertEqual(status, 503)
        self.assertIn("Retry-After", headers)
        status, _, _ = self.server.request(
            "POST", "{\"pad\":\"%s\"}" % ("y" * 70000), a.headers())
        self.assertEqual(status, 413)
        return a, b

    def test_counters_match_traffic(self):
        a, b = self.send_mix()
        stream = open_get_stream(self.server, a)
        try:
            s = self.server.scrape()
            req = "cmcp_requests_total"
            tc = {"method": "tools/call"}
            self.assertEqual(value(s, req, outcome="ok", **tc),
                             self.OK_CALLS + self.MODERN_CALLS)
            self.assertEqual(value(s, req, outcome="tool_error", **tc),
                             self.TOOL_ERRORS)
            self.assertEqual(value(s, req, outcome="error", **tc), 0)
            self.assertEqual(value(s, req, method="other", outcome="error"),
                             self.UNKNOWN)
            # the refused third initialize never reached the engine
            self.assertEqual(value(s, req, method="initialize",
                                   outcome="ok"), 2)
            self.assertEqual(
                value(s, "cmcp_request_duration_seconds_count", **tc),
                self.OK_CALLS + self.MODERN_CALLS + self.TOOL_ERRORS)
            self.assertEqual(value(s, "cmcp_refusals_total",
                                   limit="max-sessions"), 1)
            self.assertEqual(value(s, "cmcp_refusals_total",
                                   limit="max-message-bytes"), 1)
            self.assertEqual(value(s, "cmcp_refusals_total",
                                   limit="max-connections"), 0)
            self.assertEqual(value(s, "cmcp_sessions"), 2)
            self.assertEqual(value(s, "cmcp_sessions_created_total"), 2)
            self.assertGreaterEqual(value(s, "cmcp_streams"), 1)
            self.assertEqual(value(s, "cmcp_inflight_requests"), 0)
            self.assertEqual(value(s, "cmcp_worker_queue_depth"), 0)
            self.assertGreaterEqual(
                value(s, "cmcp_http_responses_total", code="503"), 1)
            self.assertGreaterEqual(
                value(s, "cmcp_http_responses_total", code="413"), 1)
            self.assertGreaterEqual(
                value(s, "cmcp_connections_accepted_total"), 20)
            self.assertGreaterEqual(value(s, "cmcp_connections"), 2)
            self.assertGreater(value(s, "process_resident_memory_bytes"),
                               1 << 20)
            # the separate port serves the same counters
            s2 = self.server.scrape(self.server.metrics_port)
            for key, v in s.items():
                if key[0] == req:
                    self.assertEqual(s2.get(key), v, key)
        finally:
            stream.close()
        # the stream and a deleted session leave the gauges
        self.assertEqual(self.server.request("DELETE", None,
                                             a.headers())[0], 200)
        self.assertTrue(wait_for(
            lambda: value(self.server.scrape(), "cmcp_sessions") == 1))
        self.assertTrue(wait_for(
            lambda: value(self.server.scrape(), "cmcp_streams") == 0))
        self.assertTrue(wait_for(
            lambda: value(self.server.scrape(), "cmcp_outbound_bytes") == 0))

    def test_metrics_endpoint_methods(self):
        status, headers, _ = self.server.request("POST", "{}",
                                                 path="/metrics")
        self.assertEqual(status, 405)
        self.assertEqual(headers["Allow"], "GET")
        status, _, _ = self.server.request("GET", path="/nope",
                                           port=self.server.metrics_port)
        self.assertEqual(status, 404)


class StdioMetricsTest(unittest.TestCase):
    def test_stdio_scraped_through_metrics_listen(self):
        server = Server(stdio=True)
        try:
            lines = [{"jsonrpc": "2.0", "id": 1, "method": "initialize",
                      "params": {"protocolVersion": LEGACY,
                                 "capabilities": {},
                                 "clientInfo": {"name": "t",
                                                "version": "1"}}},
                     {"jsonrpc": "2.0", "method": "notifications/initialized"}]
            lines += [{"jsonrpc": "2.0", "id": 10 + i, "method": "ping"}
                      for i in range(3)]
            lines.append({"jsonrpc": "2.0", "id": 20, "method": "tools/call",
                          "params": {"name": "fail", "arguments": {}}})
            server.proc.stdin.write(
                "".join(json.dumps(m) + "\n" for m in lines))
            server.proc.stdin.flush()
            for _ in range(5):  # every response, in order
                self.assertTrue(server.proc.stdout.readline())
            s = server.scrape(server.metrics_port)
            self.assertEqual(value(s, "cmcp_requests_total", method="ping",
                                   outcome="ok"), 3)
            self.assertEqual(value(s, "cmcp_requests_total",
                                   method="tools/call",
                                   outcome="tool_error"), 1)
            self.assertEqual(value(s, "cmcp_connections"), 1)  # the scrape
            server.proc.stdin.close()
            self.assertEqual(server.proc.wait(15), 0)
        finally:
            if server.proc.poll() is None:
                server.proc.kill()
                server.proc.wait(5)
            server.reader.join(5)
            server.close_pipes()


if __name__ == "__main__":
    unittest.main()
