#!/usr/bin/env python3
"""The cmcp command-line client against cmcp-everything, over --stdio and
Streamable HTTP, with the protocol pinned to 2026-07-28, pinned to
2025-11-25, and negotiated: every command, --json output checked against
the fixtures, arguments typed from the tool's inputSchema, the exit codes,
listen (and a dropped legacy stream resumed through a proxy that cuts it),
and elicitation/sampling refused without a terminal and answered through a
pseudo-terminal."""
import json
import os
import pty
import select
import signal
import socket
import subprocess
import threading
import time
import unittest
import http.server

BIN_DIR = os.environ.get("CMCP_BIN", "build/bin")
CMCP = os.path.join(BIN_DIR, "cmcp")
EVERYTHING = os.path.join(BIN_DIR, "cmcp-everything")
MODERN = "2026-07-28"
LEGACY = "2025-11-25"
RUN_TIMEOUT = 30


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cmcp(*args, stdin=subprocess.DEVNULL, timeout=RUN_TIMEOUT, env=None):
    """Runs cmcp; returns (exit code, stdout, stderr)."""
    p = subprocess.run([CMCP, *args], stdin=stdin, capture_output=True,
                       text=True, timeout=timeout, env=env)
    return p.returncode, p.stdout, p.stderr


class Server:
    """cmcp-everything --listen on a free loopback port."""

    def __init__(self):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [EVERYTHING, "--listen", "127.0.0.1:%d" % self.port],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        if "listening on http://127.0.0.1:%d/mcp" % self.port not in line:
            self.proc.kill()
            raise RuntimeError("server did not start: %r" % line)
        self.reader = threading.Thread(target=self.proc.stderr.read,
                                       daemon=True)
        self.reader.start()
        self.url = "http://127.0.0.1:%d/mcp" % self.port

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.reader.join(5)
        self.proc.stderr.close()


class Proxy:
    """A TCP forwarder on a free port. drop() cuts every open connection,
    as a network failure would; while paused, new connections are held
    (accepted, not yet forwarded) until resume()."""

    def __init__(self, target_port):
        self.target = target_port
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.conns = []
        self.accepted = 0
        self.lock = threading.Lock()
        self.closed = False
        self.open = threading.Event()
        self.open.set()
        threading.Thread(target=self._accept, daemon=True).start()

    def pause(self):
        self.open.clear()

    def resume(self):
        self.open.set()

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            threading.Thread(target=self._forward, args=(c,),
                             daemon=True).start()

    def _forward(self, c):
        if not self.open.wait(30) or self.closed:
            c.close()
            return
        try:
            u = socket.create_connection(("127.0.0.1", self.target), 5)
        except OSError:
            c.close()
            return
        with self.lock:
            self.conns += [c, u]
            self.accepted += 1
        for a, b in ((c, u), (u, c)):
            threading.Thread(target=self._pipe, args=(a, b),
                             daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def drop(self):
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.closed = True
        self.open.set()
        self.lsock.close()
        self.drop()


class LineReader:
    """Reads a process's stdout lines on a thread, for bounded waits."""

    def __init__(self, stream):
        self.lines = []
        self.cond = threading.Condition()
        threading.Thread(target=self._run, args=(stream,), daemon=True).start()

    def _run(self, stream):
        for line in stream:
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()

    def wait_count(self, pred, count, timeout):
        """Waits until count lines satisfy pred; returns how many do."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                n = sum(1 for ln in self.lines if pred(ln))
                left = deadline - time.monotonic()
                if n >= count or left <= 0:
                    return n
                self.cond.wait(left)


class CliCases:
    """Tests shared by every transport and protocol choice. A subclass
    gives conn() (the connection options)."""

    protocol = None

    def conn(self):
        raise NotImplementedError

    def run_cli(self, *args, **kw):
        opts = list(self.conn())
        if self.protocol:
            opts += ["--protocol", self.protocol]
        return cmcp(*opts, *args, **kw)

    def json_of(self, *args):
        rc, out, err = self.run_cli("--json", *args)
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(len(lines), 1, out)
        return json.loads(lines[0])

    def tool_text(self, result):
        return "".join(b.get("text", "") for b in result["content"]
                       if b.get("type") == "text")

    # ---- discover, ping ----

    def test_discover(self):
        res = self.json_of("discover")
        self.assertIn("tools", res["capabilities"])
        rc, out, err = self.run_cli("discover")
        self.assertEqual(rc, 0, err)
        self.assertIn("capabilities: ", out)
        if self.protocol == MODERN:
            self.assertIn("supportedVersions", res)
            self.assertIn("protocol:     2026-07-28 (stateless)", out)
        elif self.protocol == LEGACY:
            self.assertEqual(res["protocolVersion"], LEGACY)
            self.assertIn("protocol:     2025-11-25 (session)", out)
            self.assertIn("server:       cmcp-everything", out)

    def test_ping(self):
        self.assertIsInstance(self.json_of("ping"), dict)
        rc, out, err = self.run_cli("ping")
        self.assertEqual((rc, out), (0, "ok\n"), err)

    # ---- tools ----

    def test_tools_list(self):
        names = [t["name"] for t in self.json_of("tools", "list")["tools"]]
        for n in ("test_simple_text", "test_error_handling", "slow_compute",
                  "json_schema_2020_12_tool"):
            self.assertIn(n, names)
        rc, out, err = self.run_cli("tools", "list")
        self.assertEqual(rc, 0, err)
        self.assertTrue(out.startswith("NAME"), out)
        self.assertIn("test_simple_text", out)
        self.assertIn("Returns one text content block.", out)

    def test_tools_call_text(self):
        res = self.json_of("tools", "call", "test_simple_text")
        self.assertEqual(res["content"],
                         [{"type": "text", "text":
                           "This is a simple text response for testing."}])
        self.assertFalse(res.get("isError", False))
        rc, out, err = self.run_cli("tools", "call", "test_simple_text")
        self.assertEqual((rc, out), (0, "This is a simple text response "
                                        "for testing.\n"), err)

    def test_tools_call_image_summary(self):
        rc, out, err = self.run_cli("tools", "call", "test_image_content")
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"^\[image image/png, \d+ bytes\]\n$")

    def test_tool_error_exit_1(self):
        rc, out, err = self.run_cli("--json", "tools", "call",
                                    "test_error_handling")
        self.assertEqual(rc, 1, err)
        res = json.loads(out)
        self.assertTrue(res["isError"])
        self.assertIn("This tool intentionally returns an error",
                      self.tool_text(res))
        rc, out, err = self.run_cli("tools", "call", "test_error_handling")
        self.assertEqual((rc, out), (1, ""))
        self.assertIn("This tool intentionally returns an error", err)

    def test_typed_integer_accepted(self):
        res = self.json_of("tools", "call", "slow_compute", "seconds=0",
                           "label=7")
        self.assertFalse(res.get("isError", False), res)
        # label is a string in the schema: "7" stays a string.
        self.assertEqual(self.tool_text(res),
                         "slow_compute 7 finished after 0 s")

    def test_typed_wrong_value_is_tool_error(self):
        rc, out, err = self.run_cli("--json", "tools", "call",
                                    "slow_compute", "seconds=soon")
        self.assertEqual(rc, 1, err)
        res = json.loads(out)
        self.assertTrue(res["isError"])
        self.assertIn("seconds", self.tool_text(res))

    def test_typed_object_through_ref_and_args_merge(self):
        res = self.json_of(
            "tools", "call", "json_schema_2020_12_tool",
            "address={\"street\":\"1 Main St\",\"city\":\"Paris\"}",
            "contactMethod=email", "email=a@example.com",
            "--args", '{"name":"Ann","email":"overridden@example.com"}')
        self.assertFalse(res.get("isError", False), res)
        echoed = json.loads(self.tool_text(res)[
            self.tool_text(res).index("{"):])
        self.assertEqual(echoed["address"],
                         {"street": "1 Main St", "city": "Paris"})
        self.assertEqual(echoed["name"], "Ann")
        self.assertEqual(echoed["email"], "a@example.com")

    def test_bad_args_json_is_usage(self):
        rc, out, err = self.run_cli("tools", "call", "test_simple_text",
                                    "--args", "[1,2]")
        self.assertEqual(rc, 2)
        self.assertIn("--args must be a JSON object", err)

    def test_unknown_tool_exit_1(self):
        rc, out, err = self.run_cli("--json", "tools", "call",
                                    "no_such_tool_here")
        self.assertEqual(rc, 1, err)
        res = json.loads(out)
        if "code" in res:  # a JSON-RPC error object
            self.assertEqual(res["code"], -32602)
        else:
            self.assertTrue(res["isError"])

    def test_jsonrpc_error_exit_1(self):
        rc, out, err = self.run_cli("--json", "tools", "call",
                                    "protocol_error_job")
        self.assertEqual(rc, 1, err)
        self.assertEqual(json.loads(out)["code"], -32603)
        self.assertIn("error -32603", err)

    def test_timeout_exit_3(self):
        t0 = time.monotonic()
        rc, out, err = self.run_cli("--timeout", "300ms", "tools", "call",
                                    "slow_compute", "seconds=20")
        self.assertEqual(rc, 3, err)
        self.assertIn("timed out", err)
        self.assertLess(time.monotonic() - t0, 10)

    def test_progress_on_stderr(self):
        rc, out, err = self.run_cli("--progress", "tools", "call",
                                    "test_tool_with_progress")
        self.assertEqual(rc, 0, err)
        for p in ("progress 0/100", "progress 50/100", "progress 100/100"):
            self.assertIn(p, err)

    def test_sigint_during_call_exit_130(self):
        opts = list(self.conn())
        if self.protocol:
            opts += ["--protocol", self.protocol]
        proc = subprocess.Popen([CMCP, *opts, "tools", "call",
                                 "slow_compute", "seconds=30"],
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(1.5)
            t0 = time.monotonic()
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=10)
            self.assertEqual(proc.returncode, 130, err)
            self.assertIn("interrupted", err)
            self.assertLess(time.monotonic() - t0, 5)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)

    def test_listen_outlives_request_timeout_and_ends_on_sigint(self):
        opts = list(self.conn())
        if self.protocol:
            opts += ["--protocol", self.protocol]
        proc = subprocess.Popen([CMCP, *opts, "--timeout", "1s", "--json",
                                 "listen"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(2.5)
            self.assertIsNone(proc.poll(), proc.stderr.read()
                              if proc.poll() is not None else "")
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=10)
            self.assertEqual(proc.returncode, 0, err)
            for line in out.splitlines():  # JSON Lines
                self.assertIn("method", json.loads(line))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=5)

    # ---- resources ----

    def test_resources_list(self):
        uris = [r["uri"] for r in
                self.json_of("resources", "list")["resources"]]
        self.assertIn("test://static-text", uris)
        self.assertIn("test://static-binary", uris)
        rc, out, err = self.run_cli("resources", "list")
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"test://static-text\s+text/plain")

    def test_resources_read(self):
        res = self.json_of("resources", "read", "test://static-text")
        self.assertEqual(res["contents"][0]["text"],
                         "This is the content of the static text resource.")
        rc, out, err = self.run_cli("resources", "read", "test://static-text")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out,
                         "This is the content of the static text resource.\n")
        blob = self.json_of("resources", "read", "test://static-binary")
        self.assertEqual(blob["contents"][0]["mimeType"], "image/png")
        rc, out, err = self.run_cli("resources", "read", "test://static-binary")
        self.assertRegex(out, r"^\[binary image/png, \d+ bytes\]\n$")

    def test_resources_read_template(self):
        res = self.json_of("resources", "read", "test://template/42/data")
        self.assertEqual(json.loads(res["contents"][0]["text"]),
                         {"id": "42", "templateTest": True,
                          "data": "Data for ID: 42"})

    def test_resources_read_missing_exit_1(self):
        rc, out, err = self.run_cli(
            "--json", "resources", "read",
            "test://nonexistent-resource-for-conformance-testing")
        self.assertEqual(rc, 1, err)
        # -32602 from 2026-07-28 on (SEP-2164), -32002 before.
        self.assertIn(json.loads(out)["code"], (-32602, -32002))

    def test_resources_templates(self):
        res = self.json_of("resources", "templates")
        self.assertIn("test://template/{id}/data",
                      [t["uriTemplate"] for t in res["resourceTemplates"]])
        rc, out, err = self.run_cli("resources", "templates")
        self.assertEqual(rc, 0, err)
        self.assertIn("test://template/{id}/data", out)

    # ---- prompts, completion ----

    def test_prompts_list(self):
        res = self.json_of("prompts", "list")
        self.assertIn("test_prompt_with_arguments",
                      [p["name"] for p in res["prompts"]])
        rc, out, err = self.run_cli("prompts", "list")
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"test_prompt_with_arguments\s+arg1\*,arg2\*")

    def test_prompts_get(self):
        res = self.json_of("prompts", "get", "test_prompt_with_arguments",
                           "arg1=x y", "arg2=7")
        self.assertEqual(res["messages"][0]["content"]["text"],
                         "Prompt with arguments: arg1='x y', arg2='7'")
        rc, out, err = self.run_cli("prompts", "get", "test_simple_prompt")
        self.assertEqual(rc, 0, err)
        self.assertIn("user: This is a simple prompt for testing.", out)

    def test_complete_prompt(self):
        res = self.json_of("complete", "prompt",
                           "test_prompt_with_arguments", "arg1", "pa")
        self.assertEqual(sorted(res["completion"]["values"]),
                         ["paris", "park", "party"])
        rc, out, err = self.run_cli("complete", "prompt",
                                    "test_prompt_with_arguments", "arg1",
                                    "test", "--context", "arg2=x")
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(out.split()), ["test", "tester", "testing"])

    def test_complete_resource(self):
        rc, out, err = self.run_cli("--json", "complete", "resource",
                                    "test://template/{id}/data", "id", "")
        self.assertEqual(rc, 0, err)
        self.assertIsInstance(json.loads(out)["completion"]["values"], list)

    def test_complete_bad_kind_is_usage(self):
        rc, _, err = self.run_cli("complete", "tool", "x", "y", "z")
        self.assertEqual(rc, 2)

    # ---- what the server asks ----

    def test_elicitation_declined_without_terminal(self):
        res = self.json_of("tools", "call", "test_elicitation",
                           "message=Who are you?")
        self.assertIn("action=decline", self.tool_text(res))

    def test_sampling_refused_without_terminal(self):
        rc, out, err = self.run_cli("tools", "call", "test_sampling",
                                    "prompt=hello")
        self.assertEqual(rc, 1, err)
        self.assertIn("refused sampling/createMessage", err)
        self.assertIn("User rejected sampling request", err)
        self.assertNotIn("LLM response: ", out)

    def run_in_pty(self, args, answers, timeout=20):
        """Runs cmcp with stdin and stderr on a pseudo-terminal; for each
        (text, reply) waits until text shows on the terminal, then types
        reply. Returns (rc, stdout, everything the terminal showed)."""
        master, slave = pty.openpty()
        opts = list(self.conn())
        if self.protocol:
            opts += ["--protocol", self.protocol]
        proc = subprocess.Popen([CMCP, *opts, *args], stdin=slave,
                                stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        shown, pos = b"", 0
        deadline = time.monotonic() + timeout
        try:
            for want, reply in answers:
                while shown.find(want.encode(), pos) < 0:
                    left = deadline - time.monotonic()
                    self.assertGreater(left, 0, "no %r in %r" % (want, shown))
                    r, _, _ = select.select([master], [], [], left)
                    if r:
                        try:
                            chunk = os.read(master, 4096)
                        except OSError:
                            chunk = b""
                        self.assertTrue(chunk, "eof before %r: %r" %
                                        (want, shown))
                        shown += chunk
                pos = shown.find(want.encode(), pos) + len(want)
                os.write(master, reply.encode() + b"\n")
                pos = len(shown)
            out, _ = proc.communicate(timeout=max(1, deadline -
                                                  time.monotonic()))
            return proc.returncode, out.decode(), shown.decode(
                errors="replace")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
            os.close(master)

    def test_elicitation_on_terminal(self):
        rc, out, shown = self.run_in_pty(
            ["--json", "tools", "call", "test_elicitation",
             "message=Tell me"],
            [("[A]ccept", "a"), ("username", "alice"),
             ("email", "alice@example.com")])
        self.assertEqual(rc, 0, shown)
        self.assertIn("The server asks: Tell me", shown)
        text = self.tool_text(json.loads(out)).replace(" ", "")
        self.assertIn("action=accept", text)
        self.assertIn('"username":"alice"', text)
        self.assertIn('"email":"alice@example.com"', text)

    def test_elicitation_declined_on_terminal(self):
        rc, out, shown = self.run_in_pty(
            ["--json", "tools", "call", "test_elicitation", "message=Hm"],
            [("[A]ccept", "d")])
        self.assertEqual(rc, 0, shown)
        self.assertIn("action=decline", self.tool_text(json.loads(out)))

    def test_url_elicitation_on_terminal(self):
        rc, out, shown = self.run_in_pty(
            ["tools", "call", "test_elicitation_url"], [("[A]ccept", "c")])
        self.assertEqual(rc, 0, shown)
        self.assertIn("Open this URL: https://", shown)
        self.assertEqual(out, "URL elicitation completed: action=cancel\n")

    def test_elicitation_defaults_on_terminal(self):
        rc, out, shown = self.run_in_pty(
            ["--json", "tools", "call", "test_elicitation_sep1034_defaults"],
            [("[A]ccept", "a")] + [("]: ", "")] * 5)
        self.assertEqual(rc, 0, shown)
        text = self.tool_text(json.loads(out)).replace(" ", "")
        for piece in ('"name":"JohnDoe"', '"age":30', '"score":95.5',
                      '"status":"active"', '"verified":true'):
            self.assertIn(piece, text)

    def test_elicitation_enums_on_terminal(self):
        rc, out, shown = self.run_in_pty(
            ["--json", "tools", "call", "test_elicitation_sep1330_enums"],
            [("[A]ccept", "a"), ("a value: ", "2"), ("a value: ", "value3"),
             ("a value: ", "1"), ("comma-separated: ", "1, option3"),
             ("comma-separated: ", "2")])
        self.assertEqual(rc, 0, shown)
        self.assertIn("2) value2 (Second Option)", shown)
        self.assertIn("1) opt1 (Option One)", shown)
        text = self.tool_text(json.loads(out)).replace(" ", "")
        for piece in ('"untitledSingle":"option2"', '"titledSingle":"value3"',
                      '"legacyEnum":"opt1"',
                      '"untitledMulti":["option1","option3"]'):
            self.assertIn(piece, text)

    def test_roots_from_options(self):
        res = self.json_of("--root", "/tmp/a b", "--root",
                           "https://example.com/r",
                           "tools", "call",
                           "test_input_required_result_list_roots")
        text = self.tool_text(res)
        self.assertIn("file:///tmp/a%20b", text)
        self.assertIn("https://example.com/r", text)

    def test_sampling_on_terminal(self):
        rc, out, shown = self.run_in_pty(
            ["tools", "call", "test_sampling", "prompt=Capital of France?"],
            [("Reply", "Paris")])
        self.assertEqual(rc, 0, shown)
        self.assertIn("user: Capital of France?", shown)
        self.assertEqual(out, "LLM response: Paris\n")


class StdioCases(CliCases):
    def conn(self):
        return ["--stdio", "'%s' --stdio" % EVERYTHING]


class HttpCases(CliCases):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def conn(self):
        return ["--url", self.server.url]

    def start_listen(self, *args, url=None):
        opts = ["--url", url or self.server.url]
        if self.protocol:
            opts += ["--protocol", self.protocol]
        proc = subprocess.Popen([CMCP, *opts, "--json", "listen", *args],
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        proc.err_lines = LineReader(proc.stderr)
        return proc, LineReader(proc.stdout)

    @staticmethod
    def end_listen(proc):
        """Stops a listen process (SIGINT, then SIGKILL); its exit code."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        proc.stdout.close()
        proc.stderr.close()
        return proc.returncode

    def trigger_until(self, reader, tool, pred, tries=30):
        """Calls tool until a line satisfying pred shows up (the stream may
        not be open yet at the first call); returns the calls made."""
        for i in range(tries):
            rc, _, err = cmcp("--url", self.server.url, "tools", "call",
                              tool)
            self.assertEqual(rc, 0, err)
            if reader.wait_count(pred, 1, 0.5) >= 1:
                return i + 1
        self.fail("no notification after %d calls of %s" % (tries, tool))

    def test_listen_list_changed_count(self):
        proc, reader = self.start_listen("--count", "1")
        try:
            self.trigger_until(reader, "test_trigger_tool_change",
                               lambda ln: "notifications/tools/list_changed"
                               in ln)
            self.assertEqual(proc.wait(10), 0)
            line = [ln for ln in reader.lines if "list_changed" in ln][0]
            self.assertEqual(json.loads(line)["method"],
                             "notifications/tools/list_changed")
        finally:
            self.end_listen(proc)

    def test_listen_resource_until_sigint(self):
        proc, reader = self.start_listen("--resource",
                                         "test://watched-resource")
        updated = (lambda ln: "notifications/resources/updated" in ln and
                   "test://watched-resource" in ln)
        try:
            self.trigger_until(reader, "test_update_watched_resource",
                               updated)
            proc.send_signal(signal.SIGINT)
            self.assertEqual(proc.wait(10), 0)
        finally:
            self.end_listen(proc)


class TestStdioAuto(StdioCases, unittest.TestCase):
    pass


class TestStdioModern(StdioCases, unittest.TestCase):
    protocol = MODERN


class TestStdioLegacy(StdioCases, unittest.TestCase):
    protocol = LEGACY


class TestHttpAuto(HttpCases, unittest.TestCase):
    pass


class TestHttpModern(HttpCases, unittest.TestCase):
    protocol = MODERN


class TestHttpLegacy(HttpCases, unittest.TestCase):
    protocol = LEGACY

    def test_dropped_stream_resumed_without_loss(self):
        proxy = Proxy(self.server.port)
        url = "http://127.0.0.1:%d/mcp" % proxy.port
        proc, reader = self.start_listen("--resource",
                                         "test://watched-resource", url=url)
        updated = (lambda ln: "notifications/resources/updated" in ln)
        try:
            self.trigger_until(reader, "test_update_watched_resource",
                               updated)
            time.sleep(0.3)
            seen = reader.wait_count(updated, 10**6, 0)
            accepted = proxy.accepted
            # The GET stream dies and its reconnection is held back while
            # two updates happen: only a resumption (Last-Event-ID) can
            # deliver them.
            proxy.pause()
            proxy.drop()
            for _ in range(2):
                rc, _, err = cmcp("--url", self.server.url, "tools", "call",
                                  "test_update_watched_resource")
                self.assertEqual(rc, 0, err)
            self.assertEqual(reader.wait_count(updated, 10**6, 0), seen)
            proxy.resume()
            self.assertEqual(reader.wait_count(updated, seen + 2, 15),
                             seen + 2, "".join(reader.lines))
            time.sleep(0.5)  # and nothing is repeated
            self.assertEqual(reader.wait_count(updated, 10**6, 0), seen + 2)
            self.assertGreater(proxy.accepted, accepted)  # it reconnected
            self.assertIsNone(proc.poll())
        finally:
            self.assertEqual(self.end_listen(proc), 0,
                             "".join(proc.err_lines.lines))
            proxy.close()


class RecordingHandler(http.server.BaseHTTPRequestHandler):
    """Answers 500 to everything and keeps the request headers."""
    seen = []

    def do_POST(self):
        RecordingHandler.seen.append(dict(self.headers))
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class TestCliUsageAndFailures(unittest.TestCase):
    """Exit codes 2 and 3, help, option checks: no working server needed."""

    def test_no_command_is_usage(self):
        rc, _, err = cmcp()
        self.assertEqual(rc, 2)
        self.assertIn("usage: cmcp", err)

    def test_unknown_command_is_usage(self):
        rc, _, err = cmcp("--url", "http://127.0.0.1:9/mcp", "frobnicate")
        self.assertEqual(rc, 2)
        self.assertIn("unknown command 'frobnicate'", err)
        rc, _, err = cmcp("--url", "http://127.0.0.1:9/mcp", "tools", "eat")
        self.assertEqual(rc, 2)
        self.assertIn("unknown command 'tools eat'", err)

    def test_unknown_option_and_missing_value(self):
        self.assertEqual(cmcp("--frob", "ping")[0], 2)
        self.assertEqual(cmcp("ping", "--url")[0], 2)
        self.assertEqual(cmcp("--url", "http://x/", "--timeout", "soon",
                              "ping")[0], 2)

    def test_arity_is_usage(self):
        rc, _, err = cmcp("--url", "http://127.0.0.1:9/mcp", "resources",
                          "read")
        self.assertEqual(rc, 2)
        self.assertIn("usage: cmcp resources read URI", err)

    def test_needs_exactly_one_transport(self):
        self.assertEqual(cmcp("ping")[0], 2)
        self.assertEqual(cmcp("--url", "http://x/", "--stdio", "x",
                              "ping")[0], 2)

    def test_unsupported_protocol_is_usage(self):
        rc, _, err = cmcp("--stdio", EVERYTHING + " --stdio",
                          "--protocol", "1999-01-01", "ping")
        self.assertEqual(rc, 2)
        self.assertIn("1999-01-01", err)

    def test_bad_stdio_quoting_is_usage(self):
        rc, _, err = cmcp("--stdio", "'%s --stdio" % EVERYTHING, "ping")
        self.assertEqual(rc, 2)
        self.assertIn("unterminated single quote", err)

    def test_help(self):
        rc, out, _ = cmcp("--help")
        self.assertEqual(rc, 0)
        for c in ("tools call NAME", "resources templates", "listen",
                  "discover", "complete prompt NAME"):
            self.assertIn(c, out)
        rc, out, _ = cmcp("tools", "call", "--help")
        self.assertEqual(rc, 0)
        self.assertIn("inputSchema", out)
        rc, out, _ = cmcp("help", "resources")
        self.assertEqual(rc, 0)
        self.assertIn("resources read URI", out)
        self.assertEqual(cmcp("help", "frobnicate")[0], 2)

    def test_nothing_listening_exit_3(self):
        port = free_port()
        rc, _, err = cmcp("--url", "http://127.0.0.1:%d/mcp" % port, "ping")
        self.assertEqual(rc, 3)
        self.assertIn("cannot connect", err)

    def test_missing_program_exit_3(self):
        rc, _, err = cmcp("--stdio", "/nonexistent/server --stdio", "ping")
        self.assertEqual(rc, 3)
        self.assertIn("cannot connect", err)

    def test_headers_and_bearer_sent_http_500_exit_3(self):
        RecordingHandler.seen = []
        srv = http.server.HTTPServer(("127.0.0.1", 0), RecordingHandler)
        t = threading.Thread(target=srv.serve_forever, daemon=True)
        t.start()
        try:
            rc, _, err = cmcp("--url", "http://127.0.0.1:%d/mcp" %
                              srv.server_port, "-H", "X-Trace: abc 1",
                              "--header", "X-Other:2", "--bearer", "tok",
                              "ping")
        finally:
            srv.shutdown()
            srv.server_close()
        self.assertEqual(rc, 3, err)
        self.assertTrue(RecordingHandler.seen)
        h = RecordingHandler.seen[0]
        self.assertEqual(h.get("X-Trace"), "abc 1")
        self.assertEqual(h.get("X-Other"), "2")
        self.assertEqual(h.get("Authorization"), "Bearer tok")

    def test_stdio_quoting_and_env(self):
        # Quoted words start the server; --env is accepted (the interop
        # test sees the variable arrive through the reference server's
        # get-env tool).
        rc, out, err = cmcp("--stdio", "\"%s\" '--stdio'" % EVERYTHING,
                            "--env", "CMCP_CLI_TEST=1", "ping")
        self.assertEqual((rc, out), (0, "ok\n"), err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
