#!/usr/bin/env python3
"""Read pausing and resuming at many connections (cmcpd, both eras).

A connection stops being read when --max-pipelined requests wait for their
answers or --max-outbound-bytes of answers wait to be sent, and must be read
again once that clears: a connection left paused holds its requests unread
in the kernel forever. Each test drives hundreds of connections into the
pause at once, every one with requests held behind it, and checks that every
request is answered, in order, within a bound.

Run: python3 tests/integration/test_http_flow.py (CMCP_BIN = the build's
bin directory, default build/bin).
"""
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_http_limits import (Conn, Incomplete, Server, call_result,  # noqa: E402
                              legacy_request, legacy_session, modern_call)

CONNS = 300         # connections paused at the same time
PER_CONN = 6        # requests sent at once on each
BOUND_S = 30.0      # every answer of a test, on a shared 2-core machine


class HttpFlowTest(unittest.TestCase):

    def setUp(self):
        self.servers = []
        self.conns = []

    def tearDown(self):
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass
        bad = []
        for srv in self.servers:
            try:
                if srv.proc.poll() is None:
                    rc = srv.stop(10)
                    if rc != 0:
                        bad.append(f"cmcpd exited {rc}: {srv.err()[-2000:]!r}")
            except subprocess.TimeoutExpired:
                bad.append("cmcpd still running 10 s after SIGTERM")
            finally:
                srv.kill()
        if bad:
            self.fail("; ".join(bad))

    def start(self, *args):
        srv = Server("cmcpd", "--threads", "1", *args)
        self.servers.append(srv)
        return srv

    def open_conns(self, srv, n):
        for _ in range(n):
            self.conns.append(Conn(srv.port, timeout=10.0))
        return self.conns[-n:]

    def collect(self, conns, ids, text_of, deadline):
        """Reads each connection's answers in order; fails naming the first
        connection whose answers stop coming before the deadline."""
        answered = 0
        for i, c in enumerate(conns):
            for rid in ids(i):
                left = deadline - time.monotonic()
                try:
                    result = call_result(*c.response(max(0.05, left)), rid)
                except Incomplete as e:
                    self.fail(f"connection {i}: answer {rid} missing after "
                              f"{answered} answers in all ({e})")
                self.assertEqual(result["content"][0]["text"], text_of(rid))
                answered += 1
        return answered

    def test_pipelined_connections_resume_modern(self):
        """--max-pipelined 1 and 6 requests at once on each of 300
        connections: every connection pauses at each request with the rest
        held, and is read again as its answers go out."""
        srv = self.start("--max-pipelined", "1")
        conns = self.open_conns(srv, CONNS)

        def ids(i):
            return [f"c{i}-{k}" for k in range(PER_CONN)]
        start = time.monotonic()
        for i, c in enumerate(conns):
            c.send(b"".join(modern_call(rid, "echo", {"text": rid})
                            for rid in ids(i)))
        n = self.collect(conns, ids, lambda rid: rid, start + BOUND_S)
        self.assertEqual(n, CONNS * PER_CONN)

    def test_outbound_bound_connections_resume(self):
        """--max-outbound-bytes 8192 and answers of 4 KiB: each connection
        pauses on unsent bytes (the client reads nothing for a while), and
        resumes once the client reads."""
        srv = self.start("--max-outbound-bytes", "8192")
        conns = self.open_conns(srv, 100)
        pad = "x" * 4096

        def ids(i):
            return [f"o{i}-{k}" for k in range(PER_CONN)]
        start = time.monotonic()
        for i, c in enumerate(conns):
            c.send(b"".join(modern_call(rid, "echo", {"text": rid + pad})
                            for rid in ids(i)))
        time.sleep(0.5)  # answers pile up unread: every connection pauses
        n = self.collect(conns, ids, lambda rid: rid + pad, start + BOUND_S)
        self.assertEqual(n, 100 * PER_CONN)

    def test_pipelined_connections_resume_legacy(self):
        """The same pause on 2025-11-25 sessions: POSTs of a session pipelined
        on 100 connections, --max-pipelined 1."""
        srv = self.start("--max-pipelined", "1")
        sids = [legacy_session(srv.port) for _ in range(4)]
        conns = self.open_conns(srv, 100)

        def ids(i):
            return [f"l{i}-{k}" for k in range(PER_CONN)]

        def call(i, rid):
            return legacy_request(sids[i % len(sids)], rid, "tools/call",
                                  {"name": "echo", "arguments": {"text": rid}})
        start = time.monotonic()
        for i, c in enumerate(conns):
            c.send(b"".join(call(i, rid) for rid in ids(i)))
        n = self.collect(conns, ids, lambda rid: rid, start + BOUND_S)
        self.assertEqual(n, 100 * PER_CONN)


if __name__ == "__main__":
    unittest.main(verbosity=2)
