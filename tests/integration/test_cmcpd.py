#!/usr/bin/env python3
"""cmcpd --stdio: its built-in tools (echo, add, sleep, fail), input-schema
violations, and sleeps that run concurrently on the worker pool."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_stdio_malformed import StdioPeer  # noqa: E402


class CmcpdTestCase(unittest.TestCase):

    def setUp(self):
        self.peer = StdioPeer("cmcpd")
        self.init = self.peer.initialize()

    def tearDown(self):
        self.assertEqual(self.peer.close(), 0, "exit status")

    def call_tool(self, name, arguments, timeout=10.0):
        resp = self.peer.call("tools/call", {"name": name,
                                             "arguments": arguments}, timeout)
        self.assertIn("result", resp, resp)
        return resp["result"]

    def text(self, result):
        blocks = [c for c in result["content"] if c["type"] == "text"]
        self.assertEqual(len(blocks), 1, result)
        return blocks[0]["text"]

    def tool_error(self, name, arguments):
        """Calls a tool that must fail with isError; returns its text."""
        result = self.call_tool(name, arguments)
        self.assertIs(result.get("isError"), True, result)
        return self.text(result)

    def test_server_info_and_tools(self):
        self.assertEqual(self.init["serverInfo"]["name"], "cmcpd")
        tools = {t["name"]: t
                 for t in self.peer.call("tools/list")["result"]["tools"]}
        self.assertEqual(sorted(tools), ["add", "echo", "fail", "sleep"])
        for t in tools.values():
            self.assertGreater(len(t["description"]), 20, t)
            self.assertEqual(t["inputSchema"]["type"], "object", t)
        self.assertEqual(tools["add"]["outputSchema"]["required"], ["sum"])
        ms = tools["sleep"]["inputSchema"]["properties"]["ms"]
        self.assertEqual((ms["minimum"], ms["maximum"]), (0, 60000))

    def test_echo(self):
        for s in ["hello", "", "ünïcødé ✓ \U0001F600", "line\nbreak \"q\""]:
            result = self.call_tool("echo", {"text": s})
            self.assertNotEqual(result.get("isError"), True, result)
            self.assertEqual(self.text(result), s)

    def test_add(self):
        result = self.call_tool("add", {"a": 2, "b": 40})
        self.assertEqual(self.text(result), "42")
        self.assertEqual(result["structuredContent"], {"sum": 42})
        result = self.call_tool("add", {"a": 0.1, "b": 0.2})
        self.assertEqual(float(self.text(result)), 0.1 + 0.2)
        self.assertEqual(result["structuredContent"]["sum"], 0.1 + 0.2)
        result = self.call_tool("add", {"a": -1.5, "b": 1e300})
        self.assertEqual(result["structuredContent"]["sum"], -1.5 + 1e300)

    def test_fail(self):
        self.assertEqual(self.tool_error("fail", {"message": "boom"}), "boom")
        self.assertIn("fails", self.tool_error("fail", {}))

    def test_sleep(self):
        start = time.monotonic()
        result = self.call_tool("sleep", {"ms": 120})
        elapsed = time.monotonic() - start
        self.assertEqual(self.text(result), "slept 120 ms")
        self.assertGreaterEqual(elapsed, 0.115)
        self.assertEqual(self.text(self.call_tool("sleep", {"ms": 0})),
                         "slept 0 ms")

    def test_sleeps_run_concurrently(self):
        # Two 300 ms sleeps on the worker pool: concurrent, they finish in
        # about 300 ms; one after the other, they would take 600 ms.
        p = self.peer
        start = time.monotonic()
        a = p.request("tools/call", {"name": "sleep", "arguments": {"ms": 300}})
        b = p.request("tools/call", {"name": "sleep", "arguments": {"ms": 300}})
        ra, rb = p.recv_response(a), p.recv_response(b)
        elapsed = time.monotonic() - start
        for r in (ra, rb):
            self.assertEqual(r["result"]["content"][0]["text"], "slept 300 ms")
        self.assertGreaterEqual(elapsed, 0.29)
        self.assertLess(elapsed, 0.55, f"took {elapsed:.3f} s")

    def test_the_loop_stays_free_while_sleeping(self):
        # A sleep on the worker pool must not hold up a quick call.
        p = self.peer
        slow = p.request("tools/call", {"name": "sleep",
                                        "arguments": {"ms": 500}})
        start = time.monotonic()
        quick = p.call("tools/call", {"name": "echo",
                                      "arguments": {"text": "fast"}})
        self.assertLess(time.monotonic() - start, 0.3)
        self.assertEqual(quick["result"]["content"][0]["text"], "fast")
        self.assertIn("result", p.recv_response(slow))

    def test_schema_violations_name_the_field(self):
        cases = [
            ("echo", {}, "text"),                      # required missing
            ("echo", {"text": 5}, "text"),             # wrong type
            ("echo", {"text": "x", "extra": 1}, "extra"),  # not allowed
            ("add", {"a": 1}, "b"),
            ("add", {"a": "1", "b": 2}, "a"),
            ("sleep", {"ms": -1}, "ms"),               # below minimum
            ("sleep", {"ms": 60001}, "ms"),            # above maximum
            ("sleep", {"ms": 1.5}, "ms"),              # not an integer
            ("fail", {"message": ["x"]}, "message"),
        ]
        for name, args, field in cases:
            with self.subTest(tool=name, arguments=args):
                text = self.tool_error(name, args)
                self.assertIn(field, text)

    def test_unknown_tool(self):
        resp = self.peer.call("tools/call", {"name": "nope", "arguments": {}})
        self.assertEqual(resp["error"]["code"], -32602, resp)
        self.assertIn("nope", resp["error"]["message"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
