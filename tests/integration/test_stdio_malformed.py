#!/usr/bin/env python3
"""Malformed input on the stdio transport of cmcp-everything.

Each case sends something a conforming peer never would and asserts the
exact JSON-RPC error code (and a distinctive part of the message) that
comes back, then proves the server still serves. The StdioPeer class at
the top is also used by test_cmcpd.py.

Codes: -32700 for bytes that are not JSON (RFC 8259, including invalid
UTF-8), -32600 for JSON that is not an acceptable message (a batch, a null
id, a value past the nesting or size limit), -32601 for an unknown method,
-32602 for params of the wrong shape. A notification never gets an answer.
"""
import json
import os
import queue
import subprocess
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("CMCP_BIN",
                     os.path.join(HERE, "..", "..", "build", "bin"))
LEGACY = "2025-11-25"


def binary(name):
    """The path of a built program; raises if it is missing."""
    path = os.path.join(BIN, name)
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(f"{path} is not built")
    return path


class StdioPeer:
    """One server process spoken to over its stdin and stdout."""

    def __init__(self, prog, *args):
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([binary(prog), "--stdio", *args],
                                     stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=self.stderr)
        self.inbox = queue.Queue()
        self.next_id = 1000
        self.notes = []  # notifications met while waiting for a response
        self.pending = {}  # responses that arrived before they were awaited
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        """Puts each stdout line on the inbox, parsed (or as raw bytes if
        it is not JSON, which the tests then report)."""
        for line in self.proc.stdout:
            try:
                self.inbox.put(json.loads(line))
            except ValueError:
                self.inbox.put(line)
        self.inbox.put(None)  # end of stream

    def pid(self):
        return self.proc.pid

    def send_raw(self, data):
        """Writes bytes as they are (the caller adds the newline)."""
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, msg):
        """Writes one JSON message and its newline."""
        self.send_raw(json.dumps(msg, separators=(",", ":")).encode() + b"\n")

    def request(self, method, params=None, rid=None):
        """Sends a request; returns its id."""
        if rid is None:
            self.next_id += 1
            rid = self.next_id
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        return rid

    def recv(self, timeout=10.0):
        """The next message, or raises TimeoutError."""
        try:
            msg = self.inbox.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no message within {timeout} s") from None
        if msg is None:
            self.inbox.put(None)
            raise EOFError("the server closed its stdout\n" + self.log())
        return msg

    def recv_response(self, rid, timeout=10.0):
        """The response with this id. Responses to other ids met on the way
        wait in self.pending, notifications and requests in self.notes."""
        deadline = time.monotonic() + timeout
        while True:
            if self.pending.get(rid):
                return self.pending[rid].pop(0)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no response to id {rid!r}")
            msg = self.recv(left)
            if isinstance(msg, dict) and "method" not in msg and \
                    isinstance(msg.get("id"), (str, int)):
                self.pending.setdefault(msg["id"], []).append(msg)
            else:
                self.notes.append(msg)

    def call(self, method, params=None, timeout=10.0):
        """Sends a request and returns its response."""
        return self.recv_response(self.request(method, params), timeout)

    def quiet(self, seconds):
        """Asserts nothing arrives for the given time; returns what did."""
        try:
            return self.inbox.get(timeout=seconds)
        except queue.Empty:
            return None

    def initialize(self, capabilities=None):
        """The legacy handshake; returns the InitializeResult."""
        resp = self.call("initialize", {
            "protocolVersion": LEGACY,
            "capabilities": capabilities or {},
            "clientInfo": {"name": "cmcp-integration", "version": "1.0"},
        })
        if "result" not in resp:
            raise AssertionError(f"initialize failed: {resp}")
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return resp["result"]

    def vm_hwm_kib(self):
        """The server's peak resident set (VmHWM) in KiB."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmHWM")

    def log(self):
        """What the server wrote to stderr (last 4 KiB)."""
        self.stderr.seek(0)
        return self.stderr.read()[-4096:].decode(errors="replace")

    def close(self, timeout=10.0):
        """Ends stdin and waits for the exit; returns the exit status."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise AssertionError("the server did not exit after stdin ended")
        finally:
            self.reader.join(5.0)
            self.proc.stdout.close()
            self.stderr.close()


# ---- the tests --------------------------------------------------------

SERVER = "cmcp-everything"
MIB = 1 << 20


class ErrorCase(unittest.TestCase):
    """Shared checks; each subclass starts its own server per test."""

    def tearDown(self):
        status = self.peer.close()
        self.assertEqual(status, 0, "exit status after stdin ended")

    def assert_error(self, msg, code, part, rid=None):
        """msg is a JSON-RPC error response with this code and id, whose
        message contains part (case-insensitive)."""
        self.assertIsInstance(msg, dict, msg)
        self.assertIn("error", msg, msg)
        self.assertNotIn("result", msg, msg)
        self.assertEqual(msg.get("jsonrpc"), "2.0", msg)
        self.assertEqual(msg["error"]["code"], code, msg)
        self.assertIn(part.lower(), msg["error"]["message"].lower(), msg)
        self.assertEqual(msg.get("id"), rid, msg)

    def error_for_line(self, line, timeout=10.0):
        """Sends one raw line and returns the next message."""
        self.peer.send_raw(line + b"\n")
        return self.peer.recv(timeout)


class MalformedTestCase(ErrorCase):
    """A fresh server per test, initialized on the 2025-11-25 wire."""

    def setUp(self):
        self.peer = StdioPeer(SERVER)
        self.peer.initialize({"sampling": {}, "elicitation": {}})

    def assert_serving(self):
        """A valid request still gets the right answer."""
        resp = self.peer.call("tools/call", {"name": "test_simple_text",
                                             "arguments": {}})
        self.assertEqual(resp["result"]["content"][0]["text"],
                         "This is a simple text response for testing.")

    # -- not JSON: -32700 ------------------------------------------------

    def test_truncated_json(self):
        msg = self.error_for_line(b'{"jsonrpc":"2.0","id":1,"method":"ping"')
        self.assert_error(msg, -32700, "unexpected end of data")
        msg = self.error_for_line(b'{"jsonrpc":"2.0","id":2,"method":"pi')
        self.assert_error(msg, -32700, "unterminated string")
        self.assert_serving()

    def test_invalid_utf8_overlong(self):
        # "/" (U+002F) as the overlong two-byte form C0 AF.
        msg = self.error_for_line(b'{"jsonrpc":"2.0","id":3,"method":"ping",'
                                  b'"params":{"s":"\xc0\xaf"}}')
        self.assert_error(msg, -32700, "invalid UTF-8")
        # U+0000 as the overlong three-byte form E0 80 80.
        msg = self.error_for_line(b'{"jsonrpc":"2.0","id":4,"method":"ping",'
                                  b'"params":{"s":"\xe0\x80\x80"}}')
        self.assert_error(msg, -32700, "invalid UTF-8")
        self.assert_serving()

    def test_invalid_utf8_surrogate(self):
        # U+D800 encoded directly in UTF-8 (ED A0 80): not a scalar value.
        msg = self.error_for_line(b'{"jsonrpc":"2.0","id":5,"method":"ping",'
                                  b'"params":{"s":"\xed\xa0\x80"}}')
        self.assert_error(msg, -32700, "invalid UTF-8")
        # A lone surrogate written as an escape.
        msg = self.error_for_line(b'{"jsonrpc":"2.0","id":6,"method":"ping",'
                                  b'"params":{"s":"\\ud800"}}')
        self.assert_error(msg, -32700, "surrogate")
        self.assert_serving()

    # -- JSON we refuse: -32600 ------------------------------------------

    def test_deep_array(self):
        depth = 100000
        line = (b'{"jsonrpc":"2.0","id":7,"method":"ping","params":{"a":' +
                b"[" * depth + b"]" * depth + b"}}")
        start = time.monotonic()
        msg = self.error_for_line(line)
        self.assert_error(msg, -32600, "nested deeper than the limit")
        self.assertLess(time.monotonic() - start, 5.0, "slow to refuse")
        self.assert_serving()

    def test_line_of_64_mib(self):
        before = self.peer.vm_hwm_kib()
        head = (b'{"jsonrpc":"2.0","id":"huge","method":"tools/call",'
                b'"params":{"name":"test_simple_text","arguments":{"pad":"')
        chunk = b"x" * MIB
        done = threading.Event()

        def write():
            # The server may answer before the line ends; keep writing.
            self.peer.send_raw(head)
            for _ in range(64):
                self.peer.send_raw(chunk)
            self.peer.send_raw(b'"}}}\n')
            done.set()

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        msg = self.peer.recv(60.0)
        writer.join(60.0)
        self.assertTrue(done.is_set(), "the server stopped reading")
        # The id sits before the limit but the line is never parsed, so
        # the error cannot name it.
        self.assert_error(msg, -32600, "longer than the limit")
        self.assert_serving()
        # Buffering the line would cost 64 MiB or more; the server may hold
        # at most its 4 MiB message limit of it. The bound on the growth
        # leaves room for a sanitizer build's larger baseline.
        hwm = self.peer.vm_hwm_kib()
        self.assertLess(hwm - before, 16 * 1024,
                        f"VmHWM {hwm} KiB (was {before} KiB before)")
        self.assertLess(hwm, 48 * 1024, f"VmHWM {hwm} KiB")

    def test_top_level_array(self):
        msg = self.error_for_line(b'[{"jsonrpc":"2.0","id":8,"method":"ping"}]')
        self.assert_error(msg, -32600, "batch")
        msg = self.error_for_line(b"[]")
        self.assert_error(msg, -32600, "batch")
        self.assert_serving()

    def test_not_a_message(self):
        msg = self.error_for_line(b'"just a string"')
        self.assert_error(msg, -32600, "must be an object")
        msg = self.error_for_line(b'{"id":9,"method":"ping"}')
        self.assert_error(msg, -32600, '"jsonrpc"', 9)
        msg = self.error_for_line(b'{"jsonrpc":"2.0","id":null,'
                                  b'"method":"ping"}')
        self.assert_error(msg, -32600, "id must not be null")
        msg = self.error_for_line(b'{"jsonrpc":"2.0","id":10,"method":7}')
        self.assert_error(msg, -32600, "method must be a string", 10)
        self.assert_serving()

    # -- unknown methods: -32601 -----------------------------------------

    def test_unknown_method(self):
        rid = self.peer.request("no/such/method", {})
        self.assert_error(self.peer.recv(), -32601, "no/such/method", rid)
        rid = self.peer.request("tools/explode")
        self.assert_error(self.peer.recv(), -32601, "tools/explode", rid)
        self.assert_serving()

    def test_unknown_notification_gets_no_answer(self):
        self.peer.send({"jsonrpc": "2.0", "method": "notifications/no_such",
                        "params": {"x": 1}})
        self.peer.send({"jsonrpc": "2.0", "method": "no/such/method"})
        rid = self.peer.request("ping")
        msg = self.peer.recv()
        self.assertEqual(msg.get("id"), rid, f"unexpected answer {msg}")
        self.assertEqual(msg.get("result"), {}, msg)
        self.assertIsNone(self.peer.quiet(0.2))

    # -- params of the wrong shape: -32602 -------------------------------

    def test_wrong_param_types(self):
        p = self.peer
        msg = p.call("tools/call", {"name": 42, "arguments": {}})
        self.assert_error(msg, -32602, "name", p.next_id)
        msg = p.call("tools/call", {"name": "test_simple_text",
                                    "arguments": [1, 2]})
        self.assert_error(msg, -32602, "arguments", p.next_id)
        msg = p.call("resources/read", {"uri": 5})
        self.assert_error(msg, -32602, "uri", p.next_id)
        msg = p.call("prompts/get", {})
        self.assert_error(msg, -32602, "name", p.next_id)
        msg = p.call("tools/call", [1, 2])
        self.assert_error(msg, -32602, "not an array", p.next_id)
        msg = p.call("tools/call", "test_simple_text")
        self.assert_error(msg, -32600, "params must be an object", p.next_id)
        msg = p.call("logging/setLevel", {"level": "loud"})
        self.assert_error(msg, -32602, "level", p.next_id)
        self.assert_serving()

    # -- ids ---------------------------------------------------------------

    def test_duplicate_ids_in_flight(self):
        # The first call runs about 100 ms; the second reuses its id while
        # it is still in flight and must be refused without harming it.
        call = {"name": "test_tool_with_progress", "arguments": {}}
        self.peer.request("tools/call", call, rid="dup")
        self.peer.request("tools/call", call, rid="dup")
        got = [self.peer.recv_response("dup"), self.peer.recv_response("dup")]
        errors = [m for m in got if "error" in m]
        results = [m for m in got if "result" in m]
        self.assertEqual(len(errors), 1, got)
        self.assertEqual(len(results), 1, got)
        self.assert_error(errors[0], -32600, "duplicate request id", "dup")
        self.assertEqual(results[0]["result"]["content"][0]["type"], "text")
        self.assertIsNone(self.peer.quiet(0.3), "a third answer to dup")
        # Once answered, the id may be used again.
        msg = self.peer.recv_response(self.peer.request("ping", rid="dup"))
        self.assertEqual(msg.get("result"), {}, msg)


MODERN = "2026-07-28"


def modern_meta(**over):
    """The per-request _meta of the 2026-07-28 wire, with overrides
    (None deletes a field)."""
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}},
    }
    for key, value in over.items():
        key = "io.modelcontextprotocol/" + key
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    return meta


class ModernMalformedTestCase(ErrorCase):
    """Bad 2026-07-28 requests (stateless, no initialize)."""

    def setUp(self):
        self.peer = StdioPeer(SERVER)

    def modern(self, method, params=None, **over):
        params = dict(params or {})
        params["_meta"] = modern_meta(**over)
        return self.peer.call(method, params)

    def assert_modern_serving(self):
        resp = self.modern("tools/call", {"name": "test_simple_text",
                                          "arguments": {}})
        self.assertEqual(resp["result"]["resultType"], "complete", resp)
        self.assertEqual(resp["result"]["content"][0]["text"],
                         "This is a simple text response for testing.")

    def test_unsupported_version(self):
        msg = self.modern("tools/list", protocolVersion="1900-01-01")
        self.assert_error(msg, -32022, "unsupported protocol version",
                          self.peer.next_id)
        self.assertEqual(msg["error"]["data"]["requested"], "1900-01-01")
        self.assertIn(MODERN, msg["error"]["data"]["supported"])
        self.assert_modern_serving()

    def test_missing_or_bad_meta_fields(self):
        msg = self.modern("tools/list", clientCapabilities=None)
        self.assert_error(msg, -32602, "clientCapabilities", self.peer.next_id)
        msg = self.modern("tools/list", protocolVersion=5)
        self.assert_error(msg, -32602, "protocolVersion must be a string",
                          self.peer.next_id)
        self.assert_modern_serving()

    def test_removed_methods(self):
        for method in ("ping", "initialize", "logging/setLevel"):
            msg = self.modern(method)
            self.assert_error(msg, -32601, method, self.peer.next_id)
        self.assert_modern_serving()

    def test_bad_input_responses_and_state(self):
        name = "test_input_required_result_elicitation"
        first = self.modern("tools/call", {"name": name, "arguments": {}})
        state = first["result"]["requestState"]
        answer = {"action": "accept", "content": {"name": "Alice"}}
        msg = self.modern("tools/call", {"name": name, "arguments": {},
                                         "inputResponses": {"user_name": 1}})
        self.assert_error(msg, -32602, "inputResponses", self.peer.next_id)
        msg = self.modern("tools/call", {"name": name, "arguments": {},
                                         "inputResponses": None})
        self.assert_error(msg, -32602, "inputResponses", self.peer.next_id)
        msg = self.modern("tools/call", {"name": name, "arguments": {},
                                         "inputResponses": {"user_name":
                                                            answer},
                                         "requestState": state + "x"})
        self.assert_error(msg, -32602, "tampered", self.peer.next_id)
        # The intact state still completes the call.
        msg = self.modern("tools/call", {"name": name, "arguments": {},
                                         "inputResponses": {"user_name":
                                                            answer},
                                         "requestState": state})
        self.assertEqual(msg["result"]["content"][0]["text"], "Hello, Alice!")

    def test_undeclared_capability(self):
        msg = self.modern("tools/call", {"name": "test_sampling",
                                         "arguments": {"prompt": "x"}})
        self.assert_error(msg, -32021, "sampling", self.peer.next_id)
        self.assertEqual(msg["error"]["data"],
                         {"requiredCapabilities": {"sampling": {}}})
        self.assert_modern_serving()


class BeforeInitializeTestCase(unittest.TestCase):
    """Legacy requests before the initialize handshake."""

    def test_requests_before_initialize(self):
        peer = StdioPeer(SERVER)
        try:
            msg = peer.call("tools/list", {})
            self.assertIn("error", msg, msg)
            self.assertEqual(msg["error"]["code"], -32600, msg)
            self.assertIn("initialize", msg["error"]["message"], msg)
            # ping is allowed before initialization.
            self.assertEqual(peer.call("ping").get("result"), {})
            peer.initialize()
            msg = peer.call("tools/list", {})
            names = [t["name"] for t in msg["result"]["tools"]]
            self.assertIn("test_simple_text", names)
        finally:
            self.assertEqual(peer.close(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
