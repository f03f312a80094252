#!/usr/bin/env python3
"""cmcp-bench against a real cmcpd: short runs of its profiles in both
eras, over one process and two, over HTTP and stdio. Each run's JSON must
account for every request (sent = ok + errors, none timed out unless the
test wants timeouts) and its counts must match what the server's /metrics
says it served. Error kinds (tool errors, 503 refusals with Retry-After,
timeouts, a server that is not there) are provoked and checked."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

BIN_DIR = os.environ.get("CMCP_BIN", "build/bin")
BENCH = os.path.join(BIN_DIR, "cmcp-bench")
CMCPD = os.path.join(BIN_DIR, "cmcpd")
RUN_TIMEOUT = 60


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cmcpd:
    """cmcpd --listen on a free loopback port."""

    def __init__(self, *args):
        self.port = free_port()
        self.url = "http://127.0.0.1:%d/mcp" % self.port
        self.proc = subprocess.Popen(
            [CMCPD, "--listen", "127.0.0.1:%d" % self.port, *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        if "listening on" not in line:
            self.proc.kill()
            raise RuntimeError("cmcpd did not start: %r" % line)
        self.reader = threading.Thread(target=self.proc.stderr.read,
                                       daemon=True)
        self.reader.start()

    def metrics(self):
        """{(name, frozenset(labels)): value} of GET /metrics."""
        url = "http://127.0.0.1:%d/metrics" % self.port
        with urllib.request.urlopen(url, timeout=10) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$',
                         line)
            if m is None:
                continue
            labels = frozenset(re.findall(r'(\w+)="([^"]*)"',
                                          m.group(3) or ""))
            out[(m.group(1), labels)] = float(m.group(4))
        return out

    def served(self, method, outcome="ok"):
        return int(self.metrics().get(
            ("cmcp_requests_total",
             frozenset({("method", method), ("outcome", outcome)})), 0))

    def stop(self):
        self.proc.terminate()
        self.proc.wait(15)
        self.reader.join(5)
        self.proc.stderr.close()


def bench(*args, expect_rc=0):
    """Runs cmcp-bench with --json; its parsed report."""
    p = subprocess.run([BENCH, "--json", "--no-progress", *args],
                       capture_output=True, text=True, timeout=RUN_TIMEOUT)
    if p.returncode != expect_rc:
        raise AssertionError("cmcp-bench %s: rc %d\n%s" %
                             (" ".join(args), p.returncode, p.stderr))
    return json.loads(p.stdout)


class BenchTestCase(unittest.TestCase):

    def setUp(self):
        self.server = None

    def tearDown(self):
        if self.server is not None:
            self.server.stop()

    def start(self, *args):
        self.server = Cmcpd(*args)
        return self.server

    def assert_accounted(self, rep, timeouts=0):
        """Every request sent ended as ok or as one error."""
        req = rep["requests"]
        kinds = req["errors_by_kind"]
        self.assertEqual(req["sent"], req["ok"] + req["errors"], req)
        self.assertEqual(req["errors"], sum(kinds.values()), req)
        self.assertEqual(kinds["timeout"], timeouts, req)
        self.assertEqual(rep["latency_us"]["count"], req["ok"], rep)

    def test_low_load_modern_matches_metrics(self):
        s = self.start()
        rep = bench("--profile", "low-load", "--duration", "3",
                    "--clients", "3", "--url", s.url)
        req = rep["requests"]
        self.assert_accounted(rep)
        self.assertEqual(req["errors"], 0, req)
        # 3 clients x 10/s x 3 s at most; a slow handshake on a busy
        # machine leaves less
        self.assertGreaterEqual(req["sent"], 45)
        self.assertLessEqual(req["sent"], 93)
        self.assertEqual(req["handshakes"], 3)
        self.assertEqual(rep["settings"]["mix"],
                         {"tools/list": 1, "resources/list": 1})
        self.assertEqual(s.served("tools/list") + s.served("resources/list"),
                         req["ok"])
        self.assertEqual(s.served("server/discover"), req["handshakes"])
        lat = rep["latency_us"]
        self.assertTrue(0 < lat["p50"] <= lat["p90"] <= lat["p99"]
                        <= lat["p99.9"] <= lat["max"], lat)
        self.assertEqual(len(rep["timeseries"]), 4)  # 3 s and the drain

    def test_legacy_streams_two_processes(self):
        s = self.start()
        rep = bench("--protocol", "2025-11-25", "--clients", "6",
                    "--client-rate", "20", "--duration", "2", "--streams",
                    "--procs", "2", "--mix",
                    "tools/call,resources/read,prompts/get,resources/list",
                    "--payload", "300", "--url", s.url)
        req = rep["requests"]
        self.assert_accounted(rep)
        self.assertEqual(req["errors"], 0, req)
        self.assertEqual(req["handshakes"], 6)
        self.assertEqual(req["streams_opened"], 6)
        self.assertEqual(req["stream_errors"], 0)
        self.assertEqual(rep["settings"]["procs"], 2)
        m = s.metrics()
        self.assertEqual(m[("cmcp_sessions_created_total", frozenset())], 6)
        served = sum(s.served(x) for x in
                     ("tools/call", "resources/read", "prompts/get",
                      "resources/list"))
        self.assertEqual(served, req["ok"])
        self.assertEqual(s.served("initialize"), 6)
        # a quarter of the requests each, give or take one per client
        self.assertLessEqual(abs(4 * s.served("prompts/get") - req["ok"]),
                             4 * 6)

    def test_idle_clients_hold_streams_and_send_nothing(self):
        s = self.start()
        for proto in ("2026-07-28", "2025-11-25"):
            rep = bench("--clients", "2", "--client-rate", "10",
                        "--idle-clients", "5", "--duration", "2",
                        "--protocol", proto, "--url", s.url)
            req = rep["requests"]
            self.assert_accounted(rep)
            self.assertEqual(req["handshakes"], 7, req)
            self.assertEqual(req["streams_opened"], 5, req)
            self.assertLessEqual(req["sent"], 2 * 10 * 2)
            self.assertEqual(rep["settings"]["idle_clients"], 5)
        self.assertEqual(s.served("server/discover") +
                         s.served("initialize"), 14)

    def test_tool_errors_counted(self):
        s = self.start()
        rep = bench("--tool", "fail", "--clients", "2", "--requests", "30",
                    "--duration", "10", "--url", s.url)
        req = rep["requests"]
        self.assert_accounted(rep)
        self.assertEqual(req["sent"], 30)
        self.assertEqual(req["errors_by_kind"]["tool_error"], 30)
        self.assertEqual(s.served("tools/call", "tool_error"), 30)

    def test_refusals_are_503_with_retry_after(self):
        s = self.start("--max-inflight", "1")
        rep = bench("--tool", "sleep", "--tool-args", '{"ms":200}',
                    "--clients", "4", "--client-rate", "20", "--duration",
                    "2", "--url", s.url)
        req = rep["requests"]
        self.assert_accounted(rep)
        refused = req["errors_by_kind"]["refused_503"]
        self.assertGreater(refused, 0, req)
        self.assertGreater(req["ok"], 0, req)
        self.assertEqual(req["retry_after"], refused)
        self.assertEqual(req["errors"], refused, req)

    def test_timeouts(self):
        s = self.start()
        rep = bench("--tool", "sleep", "--tool-args", '{"ms":3000}',
                    "--timeout", "300", "--clients", "2", "--duration", "1",
                    "--url", s.url)
        req = rep["requests"]
        self.assertGreater(req["sent"], 0)
        self.assert_accounted(rep, timeouts=req["sent"])
        self.assertEqual(req["ok"], 0)

    def test_open_loop_offers_its_rate(self):
        s = self.start()
        rep = bench("--open-loop", "--rate", "200", "--clients", "4",
                    "--duration", "2", "--url", s.url)
        req = rep["requests"]
        self.assert_accounted(rep)
        # 200/s for 2 s at most; a slow handshake leaves less
        self.assertGreaterEqual(req["sent"], 250)
        self.assertLessEqual(req["sent"], 410)
        self.assertEqual(s.served("tools/call"), req["ok"])

    def test_flood_steps_report_each_plateau(self):
        s = self.start()
        rep = bench("--profile", "flood", "--steps", "3,8",
                    "--step-duration", "3", "--url", s.url)
        req = rep["requests"]
        self.assert_accounted(rep)
        self.assertEqual(req["errors"], 0, req)
        self.assertEqual(req["streams_opened"], 8)
        self.assertEqual([st["clients"] for st in rep["steps"]], [3, 8])
        for st in rep["steps"]:
            self.assertGreater(st["seconds"], 0, st)
            self.assertGreater(st["latency_us"]["count"], 0, st)
        self.assertEqual(s.served("tools/call"), req["ok"])

    def test_stdio(self):
        cmd = "%s --stdio" % CMCPD
        for proto in ("2025-11-25", "2026-07-28"):
            rep = bench("--stdio", cmd, "--protocol", proto, "--clients",
                        "4", "--requests", "40", "--mix",
                        "tools/call,resources/read")
            req = rep["requests"]
            self.assert_accounted(rep)
            self.assertEqual((req["sent"], req["ok"]), (40, 40), req)
            self.assertEqual(rep["settings"]["transport"], "stdio")

    def test_sigint_ends_with_a_report(self):
        s = self.start()
        for procs in ("1", "2"):
            p = subprocess.Popen(
                [BENCH, "--json", "--no-progress", "--clients", "4",
                 "--client-rate", "20", "--duration", "60", "--procs", procs,
                 "--url", s.url],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(1.5)
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=RUN_TIMEOUT)
            self.assertEqual(p.returncode, 0, err)
            rep = json.loads(out)
            self.assert_accounted(rep)
            self.assertLess(rep["seconds"], 10)
            self.assertGreater(rep["requests"]["ok"], 0)

    def test_ramp(self):
        s = self.start()
        rep = bench("--clients", "20", "--client-rate", "10", "--ramp", "2",
                    "--duration", "3", "--url", s.url)
        self.assert_accounted(rep)
        clients = [t["clients"] for t in rep["timeseries"]]
        self.assertLess(clients[0], 20, clients)
        self.assertEqual(clients[2], 20, clients)

    def test_no_server(self):
        port = free_port()
        rep = bench("--clients", "2", "--duration", "1.5", "--url",
                    "http://127.0.0.1:%d/mcp" % port)
        req = rep["requests"]
        self.assertEqual(req["sent"], 0)
        self.assertEqual(req["handshakes"], 0)
        self.assertGreaterEqual(req["handshake_errors"], 2)

    def test_outputs(self):
        s = self.start()
        d = tempfile.mkdtemp()
        try:
            ts = os.path.join(d, "ts.csv")
            js = os.path.join(d, "r.json")
            p = subprocess.run(
                [BENCH, "--clients", "2", "--client-rate", "20",
                 "--duration", "2", "--url", s.url, "--timeseries", ts,
                 "--json-file", js, "--no-progress"],
                capture_output=True, text=True, timeout=RUN_TIMEOUT)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("| latency (ms) |", p.stdout)
            with open(ts) as f:
                rows = f.read().splitlines()
            self.assertTrue(rows[0].startswith("t,ms,clients"))
            self.assertGreaterEqual(len(rows), 3)
            with open(js) as f:
                self.assertIn("latency_us", json.load(f))
            p = subprocess.run(
                [BENCH, "--csv", "--clients", "1", "--duration", "1",
                 "--url", s.url, "--no-progress"],
                capture_output=True, text=True, timeout=RUN_TIMEOUT)
            self.assertTrue(p.stdout.startswith("profile,clients,"))
            if shutil.which("gnuplot") is None:
                p = subprocess.run(
                    [BENCH, "--clients", "1", "--duration", "1", "--url",
                     s.url, "--plot", os.path.join(d, "p.png"),
                     "--no-progress"],
                    capture_output=True, text=True, timeout=RUN_TIMEOUT)
                self.assertEqual(p.returncode, 0)
                self.assertIn("gnuplot is not installed", p.stderr)
        finally:
            shutil.rmtree(d)

    def test_usage_errors(self):
        for args in (["--clients", "0"], ["--mix", "tools/nope"],
                     ["--profile", "nope"], ["--url", "http://example"],
                     ["--open-loop"], ["--tool-args", "[1]"], ["--bogus"],
                     ["--steps", "5,x"], ["--source-addrs", "1.2.3"]):
            p = subprocess.run([BENCH, *args], capture_output=True,
                               text=True, timeout=RUN_TIMEOUT)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn("cmcp-bench:", p.stderr)
        p = subprocess.run([BENCH, "--help"], capture_output=True, text=True,
                           timeout=RUN_TIMEOUT)
        self.assertEqual(p.returncode, 0)
        self.assertIn("--profile NAME", p.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
