#!/usr/bin/env python3
"""The cmcp command-line client against the official reference server,
@modelcontextprotocol/server-everything (tests/interop/package.json), over
stdio and over Streamable HTTP (its streamableHttp mode, on a free port
given in PORT). The reference server speaks the 2025-11-25 era, so the
negotiated connection falls back from server/discover to initialize.
Run by test_client_everything.sh."""
import json
import os
import signal
import socket
import subprocess
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
BIN_DIR = os.environ.get("CMCP_BIN",
                         os.path.join(HERE, "..", "..", "build", "bin"))
CMCP = os.path.join(BIN_DIR, "cmcp")
PKG = os.path.join(HERE, "node_modules", "@modelcontextprotocol",
                   "server-everything")
SERVER_JS = os.path.join(PKG, "dist", "index.js")
RUN_TIMEOUT = 60
READY_TIMEOUT = 30


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cmcp(*args, timeout=RUN_TIMEOUT):
    p = subprocess.run([CMCP, *args], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


class HttpServer:
    """The reference server in streamableHttp mode on a free port."""

    def __init__(self):
        self.port = free_port()
        env = dict(os.environ, PORT=str(self.port))
        self.proc = subprocess.Popen(["node", SERVER_JS, "streamableHttp"],
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True,
                                     env=env)
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if not self.ready.wait(READY_TIMEOUT):
            self.stop()
            raise RuntimeError("the reference server did not start")
        self.url = "http://127.0.0.1:%d/mcp" % self.port

    def _read(self):
        for line in self.proc.stderr:
            if "listening on port" in line:
                self.ready.set()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.reader.join(5)


class ReferenceCases:
    """Every check runs over both transports; conn() says which."""

    def conn(self):
        raise NotImplementedError

    def run_cli(self, *args):
        return cmcp(*self.conn(), *args)

    def json_of(self, *args):
        rc, out, err = self.run_cli("--json", *args)
        self.assertEqual(rc, 0, err)
        return json.loads(out)

    @staticmethod
    def text_of(result):
        return "".join(b.get("text", "") for b in result["content"]
                       if b.get("type") == "text")

    def test_discover_falls_back_to_initialize(self):
        res = self.json_of("discover")
        self.assertEqual(res["serverInfo"]["name"], "mcp-servers/everything")
        self.assertIn("tools", res["capabilities"])
        rc, out, err = self.run_cli("discover")
        self.assertEqual(rc, 0, err)
        self.assertIn("server:       mcp-servers/everything", out)
        self.assertIn("(session)", out)

    def test_ping(self):
        rc, out, err = self.run_cli("ping")
        self.assertEqual((rc, out), (0, "ok\n"), err)

    def test_tools_list(self):
        names = [t["name"] for t in self.json_of("tools", "list")["tools"]]
        for n in ("echo", "get-sum", "get-env", "get-tiny-image"):
            self.assertIn(n, names)
        rc, out, err = self.run_cli("tools", "list")
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"\necho\s+\S")

    def test_echo(self):
        res = self.json_of("tools", "call", "echo", "message=hello there")
        self.assertEqual(self.text_of(res), "Echo: hello there")
        rc, out, err = self.run_cli("tools", "call", "echo", "message=42")
        self.assertEqual((rc, out), (0, "Echo: 42\n"), err)

    def test_get_sum_typed_numbers(self):
        res = self.json_of("tools", "call", "get-sum", "a=2", "b=3.5")
        self.assertEqual(self.text_of(res), "The sum of 2 and 3.5 is 5.5.")
        res = self.json_of("tools", "call", "get-sum", "--args",
                           '{"a":1,"b":1}', "b=40")
        self.assertEqual(self.text_of(res), "The sum of 1 and 40 is 41.")

    def test_get_sum_wrong_type_exit_1(self):
        rc, out, err = self.run_cli("tools", "call", "get-sum", "a=two",
                                    "b=1")
        self.assertEqual(rc, 1, (out, err))

    def test_image(self):
        rc, out, err = self.run_cli("tools", "call", "get-tiny-image")
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"\[image image/png, \d+ bytes\]")

    def test_resources_list_and_read(self):
        res = self.json_of("resources", "list")
        docs = [r for r in res["resources"]
                if r["uri"].startswith("demo://resource/static/document/")]
        self.assertTrue(docs, res)
        doc = [r for r in docs if r["uri"].endswith("/features.md")][0]
        got = self.json_of("resources", "read", doc["uri"])
        with open(os.path.join(PKG, "dist", "docs", "features.md")) as f:
            self.assertEqual(got["contents"][0]["text"], f.read())
        rc, out, err = self.run_cli("resources", "list")
        self.assertEqual(rc, 0, err)
        self.assertIn(doc["uri"], out)

    def test_resource_template_read(self):
        res = self.json_of("resources", "templates")
        self.assertIn("demo://resource/dynamic/text/{resourceId}",
                      [t["uriTemplate"] for t in res["resourceTemplates"]])
        rc, out, err = self.run_cli("resources", "read",
                                    "demo://resource/dynamic/text/3")
        self.assertEqual(rc, 0, err)
        self.assertTrue(out.startswith("Resource 3: This is a plaintext "
                                       "resource"), out)

    def test_prompts(self):
        names = [p["name"] for p in self.json_of("prompts", "list")["prompts"]]
        for n in ("simple-prompt", "args-prompt", "completable-prompt"):
            self.assertIn(n, names)
        res = self.json_of("prompts", "get", "args-prompt", "city=Paris",
                           "state=Texas")
        self.assertEqual(res["messages"][0]["content"]["text"],
                         "What's weather in Paris, Texas?")
        rc, out, err = self.run_cli("prompts", "get", "args-prompt",
                                    "city=Lyon")
        self.assertEqual(rc, 0, err)
        self.assertIn("user: What's weather in Lyon?", out)

    def test_completion(self):
        res = self.json_of("complete", "prompt", "completable-prompt",
                           "department", "E")
        self.assertEqual(res["completion"]["values"], ["Engineering"])
        rc, out, err = self.run_cli("complete", "prompt",
                                    "completable-prompt", "name", "",
                                    "--context", "department=Sales")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.split(), ["David", "Eve", "Frank"])

    def test_unknown_tool_exit_1(self):
        rc, out, err = self.run_cli("tools", "call", "no-such-tool")
        self.assertEqual(rc, 1, (out, err))


class TestReferenceStdio(ReferenceCases, unittest.TestCase):
    def conn(self):
        return ["--stdio", "node '%s' stdio" % SERVER_JS]

    def test_env_reaches_the_server(self):
        res = json.loads(self.run_cli("--env", "CMCP_CLI_MARK=a b'c",
                                      "--json", "tools", "call",
                                      "get-env")[1])
        self.assertEqual(json.loads(self.text_of(res))["CMCP_CLI_MARK"],
                         "a b'c")


class TestReferenceHttp(ReferenceCases, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = HttpServer()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def conn(self):
        return ["--url", self.server.url]


if __name__ == "__main__":
    if not os.path.exists(SERVER_JS):
        raise SystemExit("missing %s: run scripts/install-deps.sh" % SERVER_JS)
    unittest.main(verbosity=2)
