#!/usr/bin/env python3
"""Admission control under a flood: real cmcpd processes on 127.0.0.1.

For each limit a flood of requests past it gets explicit refusals (HTTP 503
with Retry-After and a JSON-RPC error naming the option, or on stdio a
-32000 error naming it), every admitted request is answered exactly once
(counted by id), and afterwards the server is healthy: alive, /health 200,
a plain tools/call answered, resident memory not exploded. Where the
server exposes GET /metrics, cmcp_refusals_total{limit=...} must match the
refusals counted here.

Covered: --max-connections, --max-sessions, --max-inflight (per session
and per process), --queue, --session-events, --max-memory,
--max-queue-delay (HTTP and stdio), and refusals on
stdio; for --max-outbound-bytes, that one answer larger than it still
reaches a client that reads (dropping a slow SSE consumer at the bound is
test_http_limits.py's).

Every loop is bounded in count and time; every server is killed in
tearDown. Linux only (/proc).
"""
import fcntl
import json
import os
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_http_limits as hl  # noqa: E402  (shared raw-HTTP helpers)

REFUSED = -32000
RSS_SLACK_KB = 64 * 1024  # "not exploded": growth allowed after a flood


def run_parallel(fn, args, timeout=20.0):
    """Runs fn(a) for each a in threads; returns the results in order (an
    exception is returned as its value). Bounded by timeout."""
    out = [None] * len(args)

    def one(i, a):
        try:
            out[i] = fn(a)
        except Exception as e:  # noqa: BLE001 - reported by the caller
            out[i] = e

    threads = [threading.Thread(target=one, args=(i, a), daemon=True)
               for i, a in enumerate(args)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.01, deadline - time.monotonic()))
    if any(t.is_alive() for t in threads):
        raise AssertionError("a flood client hung")
    return out


def post_once(port, data, timeout=10.0):
    """Sends one request on a new connection: (status, headers, body)."""
    c = hl.Conn(port, timeout)
    try:
        c.send(data)
        return c.response(timeout)
    finally:
        c.close()


def answers(headers, body):
    """The JSON-RPC responses (result or error) in a POST answer."""
    return [m for m in hl.rpc_messages(headers, body)
            if "result" in m or "error" in m]


def metrics(port):
    """cmcp_refusals_total by limit from GET /metrics, or None when the
    server has no /metrics."""
    status, _, body = hl.request(port, "GET", "/metrics")
    if status != 200:
        return None
    out = {}
    for line in body.decode().splitlines():
        if line.startswith("cmcp_refusals_total{"):
            labels, value = line.rsplit(" ", 1)
            limit = labels.split('limit="', 1)[1].split('"', 1)[0]
            out[limit] = out.get(limit, 0) + int(float(value))
    return out


class Outcomes:
    """What a flood got back, by request id."""

    def __init__(self):
        self.lock = threading.Lock()
        self.by_id = {}  # id -> list of ("ok", text) / ("refused", msg)

    def add(self, rid, kind, detail):
        with self.lock:
            self.by_id.setdefault(rid, []).append((kind, detail))

    def count(self, kind):
        return sum(1 for v in self.by_id.values() for k, _ in v if k == kind)


class OverloadTestCase(unittest.TestCase):

    def setUp(self):
        self.servers = []
        self.socks = []

    def tearDown(self):
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass
        for srv in self.servers:
            srv.kill()

    def start(self, *args):
        srv = hl.Server("cmcpd", *args)
        self.servers.append(srv)
        return srv

    # ---- checks ---------------------------------------------------------------

    def assert_refusal(self, status, headers, body, option, what):
        """503 + Retry-After + a JSON-RPC -32000 error naming option."""
        self.assertEqual(status, 503, f"{what}: {body[:300]!r}")
        self.assertIn("retry-after", headers, what)
        self.assertGreater(int(headers["retry-after"]), 0, what)
        self.assertTrue(headers.get("content-type", "")
                        .startswith("application/json"), what)
        err = json.loads(body)["error"]
        self.assertEqual(err["code"], REFUSED, what)
        self.assertIn(option, err["message"], what)

    def assert_exactly_once(self, outcomes, ids):
        for rid in ids:
            got = outcomes.by_id.get(rid, [])
            self.assertEqual(len(got), 1, f"request {rid} answered {got}")

    def assert_healthy(self, srv, rss_before_kb, what):
        self.assertIsNone(srv.proc.poll(), f"{what}: the server died")
        status, _, body = hl.request(srv.port, "GET", "/health")
        self.assertEqual(status, 200, f"{what}: /health {body!r}")
        secs, result = hl.timed_call(srv.port, "echo", {"text": "healthy"})
        self.assertEqual(result["content"][0]["text"], "healthy", what)
        self.assertLess(secs, hl.PROMPT_S, f"{what}: a call took {secs:.2f} s")
        self.assertLess(srv.rss_kb(), rss_before_kb + RSS_SLACK_KB,
                        f"{what}: resident memory exploded")

    def assert_metric(self, srv, limit, counted):
        m = metrics(srv.port)
        if m is None:
            return  # no /metrics on this server
        self.assertEqual(m.get(limit, 0), counted,
                         f"cmcp_refusals_total{{limit=\"{limit}\"}} {m}")

    # ---- modern calls -------------------------------------------------------

    def modern_flood(self, srv, calls, outcomes, option):
        """Each (rid, tool, arguments) as a modern POST on its own
        connection, all at once; records each answer in outcomes."""
        def one(call):
            rid, tool, args = call
            status, headers, body = post_once(
                srv.port, hl.modern_call(rid, tool, args), timeout=15)
            if status == 503:
                self.assert_refusal(status, headers, body, option, rid)
                outcomes.add(rid, "refused", json.loads(body)["error"])
                return
            self.assertEqual(status, 200, body[:300])
            for m in answers(headers, body):
                if "result" in m:
                    outcomes.add(m["id"], "ok",
                                 m["result"]["content"][0]["text"])
                else:
                    outcomes.add(m["id"], "error", m["error"])
        for r in run_parallel(one, calls, timeout=30):
            if isinstance(r, Exception):
                raise r

    # ---- the limits -----------------------------------------------------------

    def test_max_connections(self):
        bound = 20
        srv = self.start("--max-connections", str(bound), "--threads", "1")
        rss = srv.rss_kb()
        held = []
        for _ in range(bound):
            c = hl.Conn(srv.port)
            self.socks.append(c.sock)
            c.send(hl.encode_request("GET", "/health"))
            self.assertEqual(c.response()[0], 200)
            held.append(c)

        def knock(_):
            return post_once(srv.port, hl.encode_request("GET", "/health"))
        results = run_parallel(knock, range(40))
        for r in results:
            self.assertNotIsInstance(r, Exception)
            self.assert_refusal(*r, "--max-connections", "connection")
        self.assert_metric(srv, "max-connections", len(results))
        for c in held:
            c.close()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and \
                hl.request(srv.port, "GET", "/health")[0] != 200:
            time.sleep(0.05)
        self.assert_healthy(srv, rss, "after a connection flood")

    def test_max_sessions(self):
        bound = 5
        srv = self.start("--max-sessions", str(bound))
        rss = srv.rss_kb()
        sids = [hl.legacy_session(srv.port) for _ in range(bound)]

        def init(n):
            return post_once(srv.port, hl.legacy_request(None, n, "initialize", {
                "protocolVersion": hl.LEGACY, "capabilities": {},
                "clientInfo": {"name": "flood", "version": "1"}}))
        results = run_parallel(init, range(30))
        for r in results:
            self.assertNotIsInstance(r, Exception)
            self.assert_refusal(*r, "--max-sessions", "initialize")
            self.assertNotIn("mcp-session-id", r[1])
        self.assert_metric(srv, "max-sessions", len(results))
        for i, sid in enumerate(sids):  # the sessions in place still work
            status, headers, body = post_once(srv.port, hl.legacy_request(
                sid, 100 + i, "tools/call",
                {"name": "echo", "arguments": {"text": sid}}))
            result = hl.call_result(status, headers, body, 100 + i)
            self.assertEqual(result["content"][0]["text"], sid)
        for sid in sids[:2]:  # a session that ends makes room for another
            c = hl.Conn(srv.port)
            c.send(hl.encode_request("DELETE", "/mcp", [
                ("Mcp-Session-Id", sid), ("MCP-Protocol-Version", hl.LEGACY)]))
            self.assertIn(c.response()[0], (200, 202, 204))
            c.close()
        hl.legacy_session(srv.port)
        self.assert_healthy(srv, rss, "after a session flood")

    def test_max_inflight_per_process(self):
        bound, sleep_ms = 4, 1500
        srv = self.start("--max-inflight", str(bound), "--workers", "8")
        rss = srv.rss_kb()
        outcomes = Outcomes()
        calls = [(f"s{i}", "sleep", {"ms": sleep_ms}) for i in range(bound)]
        # The sleepers first, so that they hold every slot...
        sleepers = threading.Thread(target=self.modern_flood, daemon=True,
                                    args=(srv, calls, outcomes,
                                          "--max-inflight"))
        sleepers.start()
        time.sleep(0.5)
        # ...then a flood that finds none free.
        flood = [(f"f{i}", "echo", {"text": str(i)}) for i in range(40)]
        self.modern_flood(srv, flood, outcomes, "--max-inflight")
        sleepers.join(sleep_ms / 1000 + 10)
        self.assertFalse(sleepers.is_alive())
        self.assert_exactly_once(outcomes, [c[0] for c in calls + flood])
        for c in calls:
            self.assertEqual(outcomes.by_id[c[0]],
                             [("ok", f"slept {sleep_ms} ms")])
        refused = outcomes.count("refused")
        self.assertEqual(refused, len(flood), "a flood request got through "
                         "while every slot was taken")
        for v in outcomes.by_id.values():
            for kind, detail in v:
                if kind == "refused":
                    self.assertIn("in this process", detail["message"])
        self.assert_metric(srv, "max-inflight", refused)
        self.assert_healthy(srv, rss, "after an in-flight flood")

    def test_max_inflight_per_session(self):
        # Legacy POSTs answered as SSE (the default) and as JSON: a refused
        # request is a 503 either way, since its stream has not begun.
        for mode in ((), ("--json-response",)):
            with self.subTest(mode=mode or "SSE"):
                self.check_inflight_per_session(*mode)

    def check_inflight_per_session(self, *mode):
        bound, sleep_ms = 3, 1200
        srv = self.start("--max-inflight", str(bound), "--workers", "8",
                         *mode)
        rss = srv.rss_kb()
        sid = hl.legacy_session(srv.port)
        outcomes = Outcomes()

        def call(rid):
            tool, args = (("sleep", {"ms": sleep_ms}) if rid < bound
                          else ("echo", {"text": str(rid)}))
            status, headers, body = post_once(srv.port, hl.legacy_request(
                sid, rid, "tools/call", {"name": tool, "arguments": args}),
                timeout=15)
            if status == 503:
                self.assert_refusal(status, headers, body, "--max-inflight",
                                    rid)
                self.assertEqual(json.loads(body)["id"], rid)
                outcomes.add(rid, "refused", json.loads(body)["error"])
            else:
                r = hl.call_result(status, headers, body, rid)
                outcomes.add(rid, "ok", r["content"][0]["text"])

        held = threading.Thread(target=run_parallel, daemon=True,
                                args=(call, range(bound)))
        held.start()
        time.sleep(0.5)
        run_parallel(call, range(bound, bound + 20))
        held.join(sleep_ms / 1000 + 10)
        self.assert_exactly_once(outcomes, range(bound + 20))
        for rid in range(bound):
            self.assertEqual(outcomes.by_id[rid],
                             [("ok", f"slept {sleep_ms} ms")])
        self.assertEqual(outcomes.count("refused"), 20)
        for rid in range(bound, bound + 20):
            self.assertIn("on this connection",
                          outcomes.by_id[rid][0][1]["message"])
        self.assert_metric(srv, "max-inflight-per-peer", 20)
        # The session itself is fine once its calls end.
        status, headers, body = post_once(srv.port, hl.legacy_request(
            sid, 999, "tools/call",
            {"name": "echo", "arguments": {"text": "again"}}))
        self.assertEqual(hl.call_result(status, headers, body, 999)
                         ["content"][0]["text"], "again")
        self.assert_healthy(srv, rss, "after a per-session flood")

    def test_worker_queue(self):
        sleep_ms = 1500
        # Each loop thread has its own pool and queue: one loop, so that
        # the bound is exact.
        srv = self.start("--workers", "1", "--queue", "2", "--threads", "1")
        rss = srv.rss_kb()
        outcomes = Outcomes()
        first = [(f"q{i}", "sleep", {"ms": sleep_ms}) for i in range(3)]
        holders = []
        # One running (the worker took it), then two waiting: full.
        for batch in (first[:1], first[1:]):
            t = threading.Thread(target=self.modern_flood, daemon=True,
                                 args=(srv, batch, outcomes, "--queue"))
            t.start()
            holders.append(t)
            time.sleep(0.3)
        flood = [(f"x{i}", "sleep", {"ms": 10}) for i in range(20)]
        self.modern_flood(srv, flood, outcomes, "--queue")
        for t in holders:
            t.join(3 * sleep_ms / 1000 + 10)
        self.assert_exactly_once(outcomes, [c[0] for c in first + flood])
        for c in first:
            self.assertEqual(outcomes.by_id[c[0]],
                             [("ok", f"slept {sleep_ms} ms")])
        self.assertEqual(outcomes.count("refused"), len(flood))
        self.assert_metric(srv, "queue", len(flood))
        self.assert_healthy(srv, rss, "after a worker-queue flood")

    def test_session_events_bounded(self):
        kept = 4
        srv = self.start("--session-events", str(kept))
        rss = srv.rss_kb()
        sid = hl.legacy_session(srv.port)
        ids = []  # (request id, its priming event's id)
        for rid in range(1, 41):
            status, headers, body = post_once(srv.port, hl.legacy_request(
                sid, rid, "tools/call",
                {"name": "echo", "arguments": {"text": f"e{rid}"}}))
            self.assertEqual(status, 200)
            first = None
            for line in body.decode().splitlines():
                if line.startswith("id:") and first is None:
                    first = line[3:].strip()
            self.assertIsNotNone(first, body[:200])
            ids.append((rid, first))

        def resume(event_id):
            c = hl.Conn(srv.port)
            self.socks.append(c.sock)
            c.send(hl.encode_request("GET", "/mcp", [
                ("Accept", "text/event-stream"), ("Mcp-Session-Id", sid),
                ("MCP-Protocol-Version", hl.LEGACY),
                ("Last-Event-ID", event_id)]))
            status, headers = c.read_head()
            self.assertEqual(status, 200)
            try:  # a fresh stream stays open: read what comes in 0.5 s
                body = c.read_body(headers, timeout=0.5)
            except hl.Incomplete:
                body = c.buf
            c.close()
            return body
        # Still kept: the stream resumes with the events after the id.
        self.assertIn(b'"text":"e40"', resume(ids[-1][1]))
        # Long gone: a fresh stream, nothing replayed.
        self.assertNotIn(b'"text":"e1"', resume(ids[0][1]))
        self.assert_healthy(srv, rss, "after 40 events on a session of "
                            f"{kept}")

    def test_big_event_reaches_a_reader(self):
        # --max-outbound-bytes is the slow-consumer bound of a connection
        # and its SSE stream (test_http_limits.py drops a consumer that
        # does not read); one message larger than it still reaches a
        # client that reads, on a legacy SSE stream and as modern JSON.
        srv = self.start("--max-outbound-bytes", str(256 << 10))
        rss = srv.rss_kb()
        big = "y" * (900 << 10)
        sid = hl.legacy_session(srv.port)
        status, headers, body = post_once(srv.port, hl.legacy_request(
            sid, 1, "tools/call", {"name": "echo", "arguments": {"text": big}}))
        self.assertTrue(headers["content-type"].startswith("text/event-stream"))
        self.assertEqual(hl.call_result(status, headers, body, 1)
                         ["content"][0]["text"], big)
        status, headers, body = post_once(
            srv.port, hl.modern_call(2, "echo", {"text": big}))
        self.assertEqual(hl.call_result(status, headers, body, 2)
                         ["content"][0]["text"], big)
        self.assert_healthy(srv, rss, "after big answers")

    def test_max_memory(self):
        # A budget 40 MiB above an idle server's resident set; each session
        # keeps up to 8 MiB of events, so echoes of 512 KiB (an SSE event
        # under the 1 MiB outbound bound) grow the process past it within
        # a bounded number of calls.
        probe = self.start("--threads", "1")
        base_kb = probe.rss_kb()
        probe.kill()
        self.servers.remove(probe)
        budget = base_kb * 1024 + (40 << 20)
        srv = self.start("--threads", "1", "--workers", "4",
                         "--max-memory", str(budget))
        sleep_ms = 2500
        admitted = Outcomes()
        calls = [(f"m{i}", "sleep", {"ms": sleep_ms}) for i in range(2)]
        sleepers = threading.Thread(target=self.modern_flood, daemon=True,
                                    args=(srv, calls, admitted,
                                          "--max-memory"))
        sleepers.start()
        time.sleep(0.3)
        big = "x" * (512 << 10)
        sessions, refused_at, rid = [], None, 0
        start = time.monotonic()
        while refused_at is None and rid < 200 and \
                time.monotonic() - start < 25:
            if rid % 14 == 0:
                status, headers, body = post_once(
                    srv.port, hl.legacy_request(None, 0, "initialize", {
                        "protocolVersion": hl.LEGACY, "capabilities": {},
                        "clientInfo": {"name": "mem", "version": "1"}}))
                if status == 503:
                    refused_at = ("initialize", status, headers, body)
                    break
                sessions.append(headers["mcp-session-id"])
            rid += 1
            status, headers, body = post_once(srv.port, hl.legacy_request(
                sessions[-1], rid, "tools/call",
                {"name": "echo", "arguments": {"text": big}}), timeout=20)
            if status == 503:
                refused_at = ("tools/call", status, headers, body)
            else:
                self.assertEqual(len(answers(headers, body)), 1)
        self.assertIsNotNone(refused_at, f"no refusal after {rid} calls, "
                             f"RSS {srv.rss_kb()} KiB, budget {budget}")
        print(f"\nmax-memory: budget {budget >> 20} MiB reached after "
              f"{rid} calls on {len(sessions)} sessions (RSS "
              f"{srv.rss_kb() >> 10} MiB)", file=sys.stderr)
        refusals = 1
        self.assert_refusal(*refused_at[1:], "--max-memory", refused_at[0])
        # New sessions and new requests, both eras, are refused...
        status, headers, body = post_once(srv.port, hl.legacy_request(
            None, 1, "initialize", {
                "protocolVersion": hl.LEGACY, "capabilities": {},
                "clientInfo": {"name": "mem", "version": "1"}}))
        self.assert_refusal(status, headers, body, "--max-memory",
                            "initialize")
        self.assertNotIn("mcp-session-id", headers)
        status, headers, body = post_once(
            srv.port, hl.modern_call("late", "echo", {"text": "no"}))
        self.assert_refusal(status, headers, body, "--max-memory", "modern")
        self.assertEqual(json.loads(body)["id"], "late")
        refusals += 2
        # ...while a session in place still gets answers: ping, and a
        # notification is accepted.
        sid = sessions[0]
        status, headers, body = post_once(
            srv.port, hl.legacy_request(sid, 7, "ping"))
        self.assertEqual(hl.call_result(status, headers, body, 7), {})
        status, _, _ = post_once(srv.port, hl.legacy_request(
            sid, None, "notifications/cancelled", {"requestId": 12345}))
        self.assertEqual(status, 202)
        # Requests admitted before the budget was hit finish.
        sleepers.join(sleep_ms / 1000 + 15)
        self.assertFalse(sleepers.is_alive())
        self.assert_exactly_once(admitted, [c[0] for c in calls])
        for c in calls:
            self.assertEqual(admitted.by_id[c[0]],
                             [("ok", f"slept {sleep_ms} ms")])
        self.assertEqual(hl.request(srv.port, "GET", "/health")[0], 200)
        self.assertIsNone(srv.proc.poll())
        self.assert_metric(srv, "max-memory", refusals)

    # ---- stdio ------------------------------------------------------------------

    def test_max_queue_delay(self):
        """Big echo calls, 48 at once, keep one loop thread busy for more
        than 1 ms a turn: new requests are refused with 503 naming
        --max-queue-delay while it lags, each call gets exactly one answer
        and /metrics counts the refusals."""
        srv = self.start("--threads", "1", "--max-queue-delay", "1")
        rss = srv.rss_kb()
        text = "x" * (256 << 10)
        outcomes = Outcomes()
        calls = [(i, "echo", {"text": text}) for i in range(48)]
        for _ in range(5):  # rounds, until some are refused
            self.modern_flood(srv, calls, outcomes, "--max-queue-delay")
            if outcomes.count("refused") > 0:
                break
            outcomes = Outcomes()
        refused = outcomes.count("refused")
        print(f"\nmax-queue-delay: {refused} of {len(calls)} refused, "
              f"{outcomes.count('ok')} answered")
        self.assertGreater(refused, 0)
        self.assert_exactly_once(outcomes, [c[0] for c in calls])
        for rid, got in outcomes.by_id.items():
            if got[0][0] == "ok":
                self.assertEqual(got[0][1], text, rid)
        m = metrics(srv.port)
        if m is not None:  # every refused round counts, not only the last
            self.assertGreaterEqual(m.get("max-queue-delay", 0), refused)
        time.sleep(0.1)  # a quiet turn ends the shedding
        self.assert_healthy(srv, rss, "after shedding")

    def stdio(self, *args, lines=(), timeout=15.0, pipe_bytes=0):
        """Runs cmcpd --stdio with lines on stdin (closed after); returns
        the messages it wrote and its exit status. pipe_bytes > 0 enlarges
        the stdin pipe (F_SETPIPE_SZ), so that one loop turn reads more."""
        data = "".join(json.dumps(m) + "\n" for m in lines).encode()
        p = subprocess.Popen([hl.binary("cmcpd"), "--stdio", *args],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        if pipe_bytes > 0:
            try:
                fcntl.fcntl(p.stdin.fileno(), 1031, pipe_bytes)
            except OSError:
                pass  # over /proc/sys/fs/pipe-max-size: the default size
        try:
            stdout, _ = p.communicate(data, timeout=timeout)
        finally:
            p.kill()
            p.wait()
        out = [json.loads(x) for x in stdout.decode().splitlines() if x]
        return out, p.returncode

    @staticmethod
    def init_lines():
        return [{"jsonrpc": "2.0", "id": "init", "method": "initialize",
                 "params": {"protocolVersion": hl.LEGACY, "capabilities": {},
                            "clientInfo": {"name": "stdio", "version": "1"}}},
                {"jsonrpc": "2.0", "method": "notifications/initialized"}]

    def test_stdio_max_inflight(self):
        n, bound, sleep_ms = 12, 2, 600
        lines = self.init_lines() + [
            {"jsonrpc": "2.0", "id": i, "method": "tools/call",
             "params": {"name": "sleep", "arguments": {"ms": sleep_ms}}}
            for i in range(n)]
        out, rc = self.stdio("--max-inflight", str(bound), "--workers", "4",
                             lines=lines)
        self.assertEqual(rc, 0)
        by_id = {}
        for m in out:
            by_id.setdefault(m.get("id"), []).append(m)
        for i in range(n):
            self.assertEqual(len(by_id.get(i, [])), 1, f"request {i}: "
                             f"{by_id.get(i)}")
        ok = [i for i in range(n) if "result" in by_id[i][0]]
        refused = [by_id[i][0]["error"] for i in range(n)
                   if "error" in by_id[i][0]]
        self.assertEqual(len(ok), bound, out)
        self.assertEqual(len(refused), n - bound)
        for e in refused:
            self.assertEqual(e["code"], REFUSED)
            self.assertIn("--max-inflight", e["message"])

    def test_stdio_max_memory(self):
        lines = self.init_lines() + [
            {"jsonrpc": "2.0", "id": 1, "method": "ping"},
            {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}]
        out, rc = self.stdio("--max-memory", "1M", lines=lines)
        self.assertEqual(rc, 0)
        by_id = {m.get("id"): m for m in out}
        self.assertEqual(len(out), 3, out)
        for rid in ("init", 2):
            self.assertEqual(by_id[rid]["error"]["code"], REFUSED)
            self.assertIn("--max-memory", by_id[rid]["error"]["message"])
        self.assertEqual(by_id[1]["result"], {})  # ping is still answered
        # The budget is off with 0, and a generous one refuses nothing.
        for budget in ("0", "4G"):
            out, rc = self.stdio("--max-memory", budget, lines=lines)
            self.assertEqual(rc, 0)
            self.assertTrue(all("result" in m for m in out), out)

    def test_stdio_max_queue_delay(self):
        n, text = 60, "y" * (256 << 10)
        lines = self.init_lines() + [
            {"jsonrpc": "2.0", "id": i, "method": "tools/call",
             "params": {"name": "echo", "arguments": {"text": text}}}
            for i in range(n)]
        out, rc = self.stdio("--max-queue-delay", "1", lines=lines,
                             pipe_bytes=1 << 20)
        self.assertEqual(rc, 0)
        by_id = {}
        for m in out:
            by_id.setdefault(m.get("id"), []).append(m)
        for i in range(n):
            self.assertEqual(len(by_id.get(i, [])), 1, f"request {i}")
        refused = [by_id[i][0]["error"] for i in range(n)
                   if "error" in by_id[i][0]]
        print(f"\nstdio max-queue-delay: {len(refused)} of {n} refused")
        self.assertGreater(len(refused), 0)
        for e in refused:
            self.assertEqual(e["code"], REFUSED)
            self.assertIn("--max-queue-delay", e["message"])
        for i in range(n):
            if "result" in by_id[i][0]:
                self.assertEqual(
                    by_id[i][0]["result"]["content"][0]["text"], text)
        # Off, nothing is refused.
        out, rc = self.stdio("--max-queue-delay", "0", lines=lines)
        self.assertEqual(rc, 0)
        self.assertTrue(all("result" in m for m in out))
        self.assertEqual(len(out), n + 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
