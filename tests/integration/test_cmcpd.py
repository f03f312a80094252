#!/usr/bin/env python3
"""cmcpd --stdio: its built-in tools (echo, add, sleep, fail), input-schema
violations, sleeps that run concurrently on the worker pool, and the
resources (bench://N, bench://blob/{bytes}) and prompt (echo) that load
generators use."""
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

    def read(self, uri):
        return self.peer.call("resources/read", {"uri": uri})

    def test_resources_list_the_sizes(self):
        resources = self.peer.call("resources/list")["result"]["resources"]
        sizes = sorted(r["size"] for r in resources)
        self.assertEqual(sizes, [128, 512, 1024, 2048, 4096])
        for r in resources:
            self.assertEqual(r["uri"], f"bench://{r['size']}", r)
            self.assertEqual(r["mimeType"], "text/plain", r)
        templates = self.peer.call("resources/templates/list")["result"]
        self.assertEqual([t["uriTemplate"]
                          for t in templates["resourceTemplates"]],
                         ["bench://blob/{bytes}"])

    def test_read_sized_resources(self):
        for n in (128, 512, 1024, 2048, 4096):
            with self.subTest(size=n):
                contents = self.read(f"bench://{n}")["result"]["contents"]
                self.assertEqual(len(contents), 1, contents)
                self.assertEqual(contents[0]["uri"], f"bench://{n}")
                self.assertEqual(contents[0]["mimeType"], "text/plain")
                self.assertEqual(len(contents[0]["text"].encode()), n)

    def test_read_blob_of_any_size(self):
        first = None
        for n in (0, 1, 63, 64, 777, 65536):
            with self.subTest(bytes=n):
                uri = f"bench://blob/{n}"
                contents = self.read(uri)["result"]["contents"]
                self.assertEqual(contents[0]["uri"], uri)
                text = contents[0]["text"]
                self.assertEqual(len(text), n)
                self.assertTrue(text.isascii())
                if n == 65536:
                    first = text
        # Every size is a prefix of the same text.
        self.assertEqual(self.read("bench://blob/777")["result"]["contents"]
                         [0]["text"], first[:777])
        self.assertEqual(self.read("bench://512")["result"]["contents"]
                         [0]["text"], first[:512])

    def test_read_blob_refuses_bad_sizes(self):
        for v in ("65537", "-1", "12x", "99999999999", "+5", "%20"):
            with self.subTest(bytes=v):
                resp = self.read(f"bench://blob/{v}")
                self.assertEqual(resp["error"]["code"], -32002, resp)
                self.assertIn("Resource not found", resp["error"]["message"])
        resp = self.read("bench://3")
        self.assertEqual(resp["error"]["code"], -32002, resp)

    def test_prompt_echo(self):
        prompts = self.peer.call("prompts/list")["result"]["prompts"]
        self.assertEqual([p["name"] for p in prompts], ["echo"])
        self.assertEqual(prompts[0]["arguments"][0],
                         {"name": "text", "required": True,
                          "description": "The text of the message"})
        for s in ["hi", "", "q\"uote\\ ünï ✓\n</x>", "x" * 3000]:
            with self.subTest(text=s[:20]):
                r = self.peer.call("prompts/get", {"name": "echo",
                                                   "arguments": {"text": s}})
                msgs = r["result"]["messages"]
                self.assertEqual(msgs, [{"role": "user", "content":
                                         {"type": "text", "text": s}}], r)
        for args in ({}, {"text": 5}):
            r = self.peer.call("prompts/get", {"name": "echo",
                                               "arguments": args})
            self.assertEqual(r["error"]["code"], -32602, r)
            self.assertIn("text", r["error"]["message"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
