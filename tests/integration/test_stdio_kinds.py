#!/usr/bin/env python3
"""The stdio transport on every kind of stdin and stdout a server meets:
a pipe, a socketpair (also both ways on one socket), a pty, a regular file
and /dev/null for input; a pipe, a regular file and /dev/null for output.
Also: a 64 MiB line answered with an error in little memory, back-pressure
without loss, EOF and SIGTERM while a blocking call runs, the pipe flags
restored, and the command-line errors of cmcp_server_main."""
import fcntl
import json
import os
import pty
import select
import signal
import socket
import subprocess
import tempfile
import termios
import threading
import time
import unittest

BIN_DIR = os.environ.get("CMCP_BIN", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "bin"))


def server_binary():
    """cmcpd (echo and a blocking sleep tool) is the server under test."""
    path = os.path.join(BIN_DIR, "cmcpd")
    if not os.access(path, os.X_OK):
        raise unittest.SkipTest("cmcpd is not built in " + BIN_DIR)
    return path


INIT = {"jsonrpc": "2.0", "id": "init", "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "stdio-kinds", "version": "1"}}}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def echo(req_id, text):
    return {"jsonrpc": "2.0", "id": req_id, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": text}}}


def sleep(req_id, ms):
    return {"jsonrpc": "2.0", "id": req_id, "method": "tools/call",
            "params": {"name": "sleep", "arguments": {"ms": ms}}}


def script(*msgs, crlf=False):
    end = b"\r\n" if crlf else b"\n"
    return b"".join(json.dumps(m).encode() + end for m in msgs)


STANDARD = [INIT, INITIALIZED, echo(1, "one"), echo(2, "two ✓")]


def start(stdin, stdout, *args):
    return subprocess.Popen([server_binary(), "--stdio", *args], stdin=stdin,
                            stdout=stdout, stderr=subprocess.PIPE,
                            close_fds=True)


def wait_exit(test, proc, timeout=10.0):
    try:
        rc = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
        test.fail("server did not exit within %.0f s" % timeout)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    return rc, err


class Reader(threading.Thread):
    """Collects the server's stdout lines from a descriptor until EOF."""

    def __init__(self, fd):
        super().__init__(daemon=True)
        self.fd = fd
        self.data = bytearray()
        self.cond = threading.Condition()
        self.eof = False

    def run(self):
        while True:
            try:
                chunk = os.read(self.fd, 1 << 16)
            except OSError:
                chunk = b""
            with self.cond:
                if not chunk:
                    self.eof = True
                    self.cond.notify_all()
                    return
                self.data += chunk
                self.cond.notify_all()

    def lines(self):
        with self.cond:
            return bytes(self.data).split(b"\n")

    def wait_for(self, pred, timeout=10.0):
        """Waits until pred(messages) is true; returns the messages."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                msgs = parse_output(bytes(self.data), partial_ok=True)
                if pred(msgs):
                    return msgs
                left = deadline - time.monotonic()
                if left <= 0 or self.eof:
                    raise AssertionError("timed out waiting; got %r" % msgs)
                self.cond.wait(min(left, 0.2))


def parse_output(data, partial_ok=False):
    """stdout must hold only newline-terminated JSON-RPC 2.0 messages."""
    parts = data.split(b"\n")
    if parts[-1] != b"" and not partial_ok:
        raise AssertionError("stdout does not end with a newline: %r"
                             % parts[-1][:200])
    msgs = []
    for line in parts[:-1]:
        msg = json.loads(line.decode("utf-8"))
        if not isinstance(msg, dict) or msg.get("jsonrpc") != "2.0":
            raise AssertionError("not a JSON-RPC message: %r" % line[:200])
        msgs.append(msg)
    return msgs


def peak_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return [int(line.split()[1]) for line in f
                if line.startswith("VmHWM:")][0]


def by_id(msgs):
    return {m["id"]: m for m in msgs if "id" in m and "method" not in m}


class StdioKindsTest(unittest.TestCase):

    def check_standard(self, msgs):
        got = by_id(msgs)
        self.assertEqual(got["init"]["result"]["protocolVersion"],
                         "2025-11-25")
        self.assertEqual(got[1]["result"]["content"],
                         [{"type": "text", "text": "one"}])
        self.assertEqual(got[2]["result"]["content"],
                         [{"type": "text", "text": "two ✓"}])

    def run_with_pipe_out(self, stdin_fd):
        r, w = os.pipe()
        proc = start(stdin_fd, w)
        os.close(w)
        reader = Reader(r)
        reader.start()
        return proc, reader, r

    # ---- input kinds ------------------------------------------------------

    def test_stdin_pipe(self):
        proc = start(subprocess.PIPE, subprocess.PIPE)
        out, err = proc.communicate(script(*STANDARD), timeout=10)
        self.assertEqual(proc.returncode, 0, err)
        self.check_standard(parse_output(out))
        proc.stderr.close()

    def test_stdin_pipe_crlf_and_blank_lines(self):
        proc = start(subprocess.PIPE, subprocess.PIPE)
        data = b"\n\r\n" + script(*STANDARD, crlf=True) + b"\n  \n"
        out, err = proc.communicate(data, timeout=10)
        self.assertEqual(proc.returncode, 0, err)
        msgs = parse_output(out)
        self.check_standard(msgs)
        self.assertEqual(len(msgs), 3)  # blank lines get no answer
        proc.stderr.close()

    def test_stdin_socketpair(self):
        mine, theirs = socket.socketpair()
        r, w = os.pipe()
        proc = start(theirs.fileno(), w)
        theirs.close()
        os.close(w)
        reader = Reader(r)
        reader.start()
        mine.sendall(script(*STANDARD))
        mine.shutdown(socket.SHUT_WR)
        rc, err = wait_exit(self, proc)
        reader.join(5)
        self.assertEqual(rc, 0, err)
        self.check_standard(parse_output(bytes(reader.data)))
        mine.close()
        os.close(r)

    def test_one_socket_both_ways(self):
        mine, theirs = socket.socketpair()
        proc = start(theirs.fileno(), theirs.fileno())
        theirs.close()
        mine.sendall(script(*STANDARD))
        mine.shutdown(socket.SHUT_WR)
        data = bytearray()
        deadline = time.monotonic() + 10
        mine.settimeout(1.0)
        while time.monotonic() < deadline:
            try:
                chunk = mine.recv(1 << 16)
            except socket.timeout:
                continue
            if not chunk:
                break
            data += chunk
        rc, err = wait_exit(self, proc)
        self.assertEqual(rc, 0, err)
        self.check_standard(parse_output(bytes(data)))
        mine.close()

    def test_stdin_pty(self):
        master, slave = pty.openpty()
        attrs = termios.tcgetattr(slave)
        attrs[3] &= ~termios.ECHO  # lflag: no echo back to the master
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        proc, reader, r = self.run_with_pipe_out(slave)
        os.close(slave)
        for m in STANDARD:  # one line at a time: a tty line is short
            os.write(master, json.dumps(m).encode() + b"\n")
        reader.wait_for(lambda msgs: len(by_id(msgs)) == 3)
        os.write(master, b"\x04")  # VEOF at a line start: read() gives 0
        rc, err = wait_exit(self, proc)
        reader.join(5)
        self.assertEqual(rc, 0, err)
        self.check_standard(parse_output(bytes(reader.data)))
        os.close(master)
        os.close(r)

    def test_stdin_regular_file(self):
        with tempfile.TemporaryFile() as f:
            # the last request has no final newline: still a message
            f.write(script(*STANDARD) + json.dumps(echo(3, "3")).encode())
            f.seek(0)
            proc = start(f, subprocess.PIPE)
            out, err = proc.communicate(timeout=10)
        self.assertEqual(proc.returncode, 0, err)
        msgs = parse_output(out)
        self.check_standard(msgs)
        self.assertEqual(by_id(msgs)[3]["result"]["content"][0]["text"], "3")
        proc.stderr.close()

    def test_stdin_dev_null(self):
        with open(os.devnull, "rb") as null:
            proc = start(null, subprocess.PIPE)
            out, err = proc.communicate(timeout=10)
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(out, b"")
        proc.stderr.close()

    # ---- output kinds -----------------------------------------------------

    def test_stdout_regular_file(self):
        with tempfile.TemporaryFile() as out:
            proc = start(subprocess.PIPE, out)
            _, err = proc.communicate(script(*STANDARD), timeout=10)
            self.assertEqual(proc.returncode, 0, err)
            out.seek(0)
            self.check_standard(parse_output(out.read()))
        proc.stderr.close()

    def test_stdout_dev_null_and_file_input(self):
        with tempfile.TemporaryFile() as f, open(os.devnull, "wb") as null:
            f.write(script(*STANDARD))
            f.seek(0)
            proc = start(f, null)
            rc, err = wait_exit(self, proc)
        self.assertEqual(rc, 0, err)

    def test_stdout_reader_gone_ends_cleanly(self):
        r, w = os.pipe()
        proc = start(subprocess.PIPE, w)
        os.close(w)
        os.close(r)  # nobody will ever read: writes fail with EPIPE
        proc.stdin.write(script(*STANDARD))
        proc.stdin.flush()
        rc, err = wait_exit(self, proc)
        proc.stdin.close()
        self.assertEqual(rc, 0, err)

    # ---- flags ------------------------------------------------------------

    def test_pipe_flags_restored(self):
        r_in, w_in = os.pipe()
        r_out, w_out = os.pipe()
        proc = start(r_in, w_out)  # the parent keeps its copies open
        os.write(w_in, script(*STANDARD))
        os.close(w_in)
        reader = Reader(r_out)
        reader.start()
        reader.wait_for(lambda msgs: len(by_id(msgs)) == 3)
        rc, err = wait_exit(self, proc)
        self.assertEqual(rc, 0, err)
        for fd in (r_in, w_out):
            self.assertEqual(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK,
                             0, "O_NONBLOCK left on a shared pipe")
        os.close(r_in)
        os.close(w_out)
        reader.join(5)
        os.close(r_out)

    # ---- limits -----------------------------------------------------------

    def test_64mib_line_gets_error_in_small_memory(self):
        proc = start(subprocess.PIPE, subprocess.PIPE)
        reader = Reader(proc.stdout.fileno())
        reader.start()
        proc.stdin.write(script(INIT, INITIALIZED))
        proc.stdin.flush()
        reader.wait_for(lambda msgs: "init" in by_id(msgs))
        before = peak_rss_kib(proc.pid)
        chunk = b'{"jsonrpc":"2.0","id":99,"method":"tools/call","x":"' + \
            b"a" * ((1 << 20) - 51)
        for _ in range(64):
            proc.stdin.write(chunk)
        proc.stdin.write(b'"}\n' + script(echo(5, "after")))
        proc.stdin.flush()
        msgs = reader.wait_for(lambda m: 5 in by_id(m), timeout=30)
        errors = [m for m in msgs if "error" in m]
        self.assertEqual(len(errors), 1, errors)
        self.assertIsNone(errors[0].get("id"))  # unknown: absent or null
        self.assertEqual(errors[0]["error"]["code"], -32600)
        self.assertIn("limit of 4194304 bytes", errors[0]["error"]["message"])
        self.assertEqual(by_id(msgs)[5]["result"]["content"][0]["text"],
                         "after")
        # The line is skipped, not buffered: the peak grows by about the
        # 4 MiB message limit, far from the line's 64 MiB.
        grown = peak_rss_kib(proc.pid) - before
        print("peak RSS grew by %d KiB" % grown)
        self.assertLess(grown, 16 * 1024, "peak RSS grew by %d KiB" % grown)
        proc.stdin.close()
        rc, err = wait_exit(self, proc)
        self.assertEqual(rc, 0, err)
        proc.stdout.close()

    def test_back_pressure_loses_nothing(self):
        """300 answers of 100 KB (30 MB, beyond the 16 MiB outbound bound)
        to a client that reads nothing for a second: input pauses, then every
        request is answered once the client reads."""
        proc = start(subprocess.PIPE, subprocess.PIPE)
        big = "x" * 100000
        data = script(INIT, INITIALIZED,
                      *[echo(i, big) for i in range(300)])

        def write_all():
            try:
                proc.stdin.write(data)
                proc.stdin.close()
            except BrokenPipeError:
                pass
        writer = threading.Thread(target=write_all, daemon=True)
        writer.start()
        time.sleep(1.0)
        out = bytearray()
        deadline = time.monotonic() + 60
        fd = proc.stdout.fileno()
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1.0)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            out += chunk
        writer.join(10)
        rc, err = wait_exit(self, proc)
        self.assertEqual(rc, 0, err)
        got = by_id(parse_output(bytes(out)))
        for i in range(300):
            self.assertEqual(got[i]["result"]["content"][0]["text"], big)
        proc.stdout.close()

    # ---- endings ----------------------------------------------------------

    def test_eof_waits_for_blocking_call(self):
        proc = start(subprocess.PIPE, subprocess.PIPE)
        t0 = time.monotonic()
        out, err = proc.communicate(
            script(INIT, INITIALIZED, sleep(7, 400), echo(8, "quick")),
            timeout=15)
        self.assertEqual(proc.returncode, 0, err)
        got = by_id(parse_output(out))
        self.assertEqual(got[7]["result"]["content"][0]["text"],
                         "slept 400 ms")
        self.assertEqual(got[8]["result"]["content"][0]["text"], "quick")
        self.assertGreaterEqual(time.monotonic() - t0, 0.4)
        proc.stderr.close()

    def test_sigterm_during_blocking_call(self):
        proc = start(subprocess.PIPE, subprocess.PIPE)
        reader = Reader(proc.stdout.fileno())
        reader.start()
        proc.stdin.write(script(INIT, INITIALIZED, sleep(7, 1200)))
        proc.stdin.flush()
        reader.wait_for(lambda msgs: "init" in by_id(msgs))
        time.sleep(0.3)  # the sleep is running on a worker
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rc, err = wait_exit(self, proc, timeout=10)
        reader.join(5)
        self.assertEqual(rc, 0, err)
        self.assertLess(time.monotonic() - t0, 4.5)
        got = by_id(parse_output(bytes(reader.data)))
        self.assertEqual(got[7]["result"]["content"][0]["text"],
                         "slept 1200 ms")
        proc.stdin.close()
        proc.stdout.close()

    def test_sigterm_drain_timeout_cancels(self):
        proc = start(subprocess.PIPE, subprocess.PIPE, "--drain-timeout",
                     "200")
        reader = Reader(proc.stdout.fileno())
        reader.start()
        proc.stdin.write(script(INIT, INITIALIZED, sleep(7, 20000)))
        proc.stdin.flush()
        reader.wait_for(lambda msgs: "init" in by_id(msgs))
        time.sleep(0.2)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rc, err = wait_exit(self, proc, timeout=10)
        self.assertEqual(rc, 0, err)
        self.assertLess(time.monotonic() - t0, 3.0)
        self.assertIn("drain timeout", err)
        reader.join(5)
        parse_output(bytes(reader.data))  # still only JSON-RPC lines
        proc.stdin.close()
        proc.stdout.close()

    def test_eof_with_a_pending_ask_ends_promptly(self):
        """A call waiting for the client's answer to sampling/createMessage
        can never finish once stdin is closed: the server ends it at once
        instead of waiting for the ask's 60 s timeout."""
        path = os.path.join(BIN_DIR, "cmcp-everything")
        if not os.access(path, os.X_OK):
            self.skipTest("cmcp-everything is not built")
        proc = subprocess.Popen([path, "--stdio"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        reader = Reader(proc.stdout.fileno())
        reader.start()
        init = json.loads(json.dumps(INIT))
        init["params"]["capabilities"] = {"sampling": {}}
        call = {"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                "params": {"name": "test_sampling",
                           "arguments": {"prompt": "hi"}}}
        proc.stdin.write(script(init, INITIALIZED, echo(1, "x"), call))
        proc.stdin.flush()
        msgs = reader.wait_for(lambda m: any(
            x.get("method") == "sampling/createMessage" for x in m))
        self.assertNotIn(9, by_id(msgs))
        t0 = time.monotonic()
        proc.stdin.close()
        rc, err = wait_exit(self, proc, timeout=10)
        self.assertEqual(rc, 0, err)
        self.assertLess(time.monotonic() - t0, 3.0)
        self.assertIn("wait for the client", err)
        reader.join(5)
        parse_output(bytes(reader.data))
        proc.stdout.close()

    # ---- command line -----------------------------------------------------

    def run_cli(self, *args):
        proc = subprocess.run([server_binary(), *args], stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=10)
        return proc.returncode, proc.stdout.decode(), proc.stderr.decode()

    def test_cli(self):
        rc, out, _ = self.run_cli("--help")
        self.assertEqual(rc, 0)
        self.assertIn("--max-message-bytes N", out)
        rc, out, _ = self.run_cli("--version")
        self.assertEqual(rc, 0)
        self.assertIn("cmcp", out)
        rc, out, err = self.run_cli("--listen", "127.0.0.1:port")
        self.assertEqual(rc, 2)
        self.assertIn("--listen", err)
        self.assertEqual(out, "")
        rc, out, err = self.run_cli("--workers", "many")
        self.assertEqual(rc, 2)
        self.assertIn("--workers: expected an integer", err)
        rc, out, err = self.run_cli("--nope")
        self.assertEqual(rc, 2)
        self.assertIn("unknown option '--nope'", err)
        rc, out, err = self.run_cli()  # no transport option: stdio
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, "")


if __name__ == "__main__":
    unittest.main(verbosity=2)
