#!/usr/bin/env python3
"""bench/overload/report.py RESULTS_DIR DOC: turns the raw outputs of
scripts/bench-overload.sh into the "Overload" section of
docs/BENCHMARKS.md (DOC "-" prints it instead).

The section sits between the lines OVERLOAD_BEGIN and OVERLOAD_END below
and is replaced whole on each run; the rest of the document is left alone
(if the markers are missing the section is appended at the end).

    report.py --throughput FILE.json   prints the answers/s of one run

Reads cmcp-bench's --json-file reports and the script's NAME.env, NAME.rss
and NAME.cmd files, and NOTES.md (observations made by hand during the
run, kept with its results) if the folder has one. Python 3 standard library only; the small table
helpers come from bench/http/report.py.
"""
import glob
import importlib.util
import json
import os
import re
import sys

_here = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "http_report", os.path.join(_here, "..", "http", "report.py"))
_http = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_http)
read, load_meta, med, plural = (_http.read, _http.load_meta, _http.med,
                                _http.plural)
fmt_int, fmt_f = _http.fmt_int, _http.fmt_f

OVERLOAD_BEGIN = "<!-- overload:begin -->"
OVERLOAD_END = "<!-- overload:end -->"

NAN = float("nan")
FLOOD_TARGET = 2.0         # p95 at 9,000 clients / p95 at 25
GOODPUT_TARGET = 0.90      # bomber goodput / capacity
BOMBER_P99_MS = 50.0       # p99 of admitted requests
BOMBER_RSS_TARGET = 1.5    # RSS under bomber / RSS at capacity
SLOW_TARGET = 0.20         # baseline p99 change with slow clients beside
SOAK_DRIFT_TARGET = 0.05   # RSS drift over the soak


# ---- loading ------------------------------------------------------------------

def load_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def load_env(path):
    env = {}
    for line in read(path).splitlines():
        k, sep, v = line.partition("=")
        if sep:
            env[k] = v
    return env


def load_samples(path):
    """[(unix time, server KB, server ticks, generator ticks)] from a
    NAME.rss file (older files have the first two columns only)."""
    out = []
    for line in read(path).splitlines():
        p = line.split()
        try:
            row = (float(p[0]), int(p[1]),
                   int(p[2]) if len(p) > 3 else -1,
                   int(p[3]) if len(p) > 3 else -1)
        except (IndexError, ValueError):
            continue
        if row[1] > 0:
            out.append(row)
    return out


class Run:
    """One cmcp-bench run: its JSON report, env, RSS samples, command."""

    def __init__(self, d, name):
        self.name = name
        self.j = load_json(os.path.join(d, name + ".json"))
        self.env = load_env(os.path.join(d, name + ".env"))
        self.samples = load_samples(os.path.join(d, name + ".rss"))
        t0 = self.samples[0][0] if self.samples else 0.0
        self.rss = [(t - t0, kb) for t, kb, _, _ in self.samples]
        self.cmd = re.sub(r"--plot \S+", "--plot FILE.png",
                          read(os.path.join(d, name + ".cmd")).strip())
        self.check = read(os.path.join(d, name + ".check"))

    @property
    def ok(self):
        return self.j is not None

    def req(self, key, src=None):
        src = self.j if src is None else src
        try:
            return float(src["requests"][key])
        except (KeyError, TypeError, ValueError):
            return NAN

    def err(self, kind, src=None):
        src = self.j if src is None else src
        try:
            return float(src["requests"]["errors_by_kind"][kind])
        except (KeyError, TypeError, ValueError):
            return NAN

    def lat_ms(self, pct, src=None):
        src = self.j if src is None else src
        try:
            return float(src["latency_us"][pct]) / 1000.0
        except (KeyError, TypeError, ValueError):
            return NAN

    def throughput(self, src=None):
        src = self.j if src is None else src
        try:
            return float(src["throughput"])
        except (KeyError, TypeError, ValueError):
            return NAN

    def offered(self):
        try:
            return float(self.j["settings"]["offered_rate"])
        except (KeyError, TypeError, ValueError):
            return NAN

    def rss_max(self):
        return max((kb for _, kb in self.rss), default=NAN)

    def rss_median(self, t0=0.0, t1=1e18):
        return med([kb for t, kb in self.rss if t0 <= t < t1])

    def cpu_us_per_answer(self):
        try:
            ticks, hz = int(self.env["CPU_TICKS"]), int(self.env["HZ"])
        except (KeyError, ValueError):
            return NAN
        ok = self.req("ok")
        return ticks * 1e6 / hz / ok if ok > 0 else NAN

    def cpu_pct(self):
        """Server CPU over the run, in % of one core."""
        try:
            ticks, hz = int(self.env["CPU_TICKS"]), int(self.env["HZ"])
            secs = float(self.env["END"]) - float(self.env["START"])
        except (KeyError, ValueError):
            return NAN
        return ticks * 100.0 / hz / secs if secs > 0 else NAN

    def cpu_window(self, t0, t1):
        """(server, cmcp-bench) CPU in % of one core between t0 and t1
        seconds after the run's start, from the samples; NaN if unknown."""
        try:
            start, hz = float(self.env["START"]), int(self.env["HZ"])
        except (KeyError, ValueError):
            return NAN, NAN
        w = [x for x in self.samples if start + t0 <= x[0] <= start + t1
             and x[2] >= 0]
        if len(w) < 2 or w[-1][0] <= w[0][0]:
            return NAN, NAN
        dt = w[-1][0] - w[0][0]
        return ((w[-1][2] - w[0][2]) * 100.0 / hz / dt,
                (w[-1][3] - w[0][3]) * 100.0 / hz / dt)

    def step_window(self, i):
        """(first, last) second of the steady seconds of plateau i."""
        ts = [row["t"] for row in (self.j or {}).get("timeseries", [])
              if row.get("step") == i and row.get("steady")]
        return (min(ts) - 1, max(ts)) if ts else (NAN, NAN)

    def alive(self):
        return self.env.get("ALIVE") == "1"

    def checked(self):
        """True/False from the server check after the run, None if none."""
        if not self.check:
            return None
        return "rc=0" in self.check

    def load(self):
        return self.env.get("LOAD_BEFORE", "?").split(" ")[0] + " → " + \
            self.env.get("LOAD_AFTER", "?").split(" ")[0]


def metric_sum(path, prefix):
    """Sum of the samples of a /metrics scrape whose series starts with
    prefix (name and labels as written), or NaN without a scrape."""
    text = read(path)
    if not text:
        return NAN
    total = 0.0
    for line in text.splitlines():
        if line.startswith(prefix):
            try:
                total += float(line.rsplit(" ", 1)[1])
            except (IndexError, ValueError):
                pass
    return total


def metric_delta(d, name, prefix):
    """What a counter series grew by over run name (after - before)."""
    return (metric_sum(os.path.join(d, name + ".metrics.after"), prefix) -
            metric_sum(os.path.join(d, name + ".metrics.before"), prefix))


def runs(d, prefix, n):
    return [Run(d, f"{prefix}_{i}") for i in range(1, n + 1)]


def good(rs):
    return [r for r in rs if r.ok]


def nz(x):
    return 0 if x != x else x


def errors_text(rs):
    """Errors of runs rs summed by kind, or "none"."""
    kinds = {}
    for r in good(rs):
        for k, v in (r.j["requests"].get("errors_by_kind") or {}).items():
            kinds[k] = kinds.get(k, 0) + v
    parts = [f"{v:,} {k}" for k, v in sorted(kinds.items()) if v]
    missing = len(rs) - len(good(rs))
    if missing:
        parts.append(f"{missing} runs without a report")
    return ", ".join(parts) if parts else "none"


def loads(rs):
    return ", ".join(r.load() for r in rs if r.env) or "?"


def ratio_text(x, digits=2):
    return "n/a" if x != x else f"{x:.{digits}f}×"


def met(ok, text_missed):
    return "**met**" if ok else f"**missed** ({text_missed})"


def command_block(*cmds):
    return ["```"] + [c for c in cmds if c] + ["```", ""]


# ---- flood --------------------------------------------------------------------

def cpu_text(rs, i):
    """Median server / generator CPU over the steady seconds of plateau i."""
    pairs = [r.cpu_window(*r.step_window(i)) for r in rs]
    srv, gen = med([p[0] for p in pairs]), med([p[1] for p in pairs])
    return f"{fmt_int(srv)} / {fmt_int(gen)}"


def step_field(r, i, key):
    try:
        return float(r.j["steps"][i][key])
    except (KeyError, IndexError, TypeError, ValueError):
        return NAN


def flood_section(d, meta):
    n = int(meta.get("FLOOD_RUNS", "3") or 3)
    rs = runs(d, "flood", n)
    steps = [int(s) for s in meta.get("FLOOD_STEPS", "").split(",") if s]
    out = ["### flood: 25 → 9,000 clients on one server process", ""]
    out += command_block(meta.get("CMD_CMCPD_FLOOD"), rs[0].cmd)
    out += [f"Each client holds a notification stream on its own connection "
            f"(2026-07-28: subscriptions/listen) and sends 1 request/s "
            f"(tools/call echo, 128 B) on another: at 9,000 clients the "
            f"server holds 18,000 connections. Plateaus of "
            f"{meta.get('STEP_SECONDS', '?')} s, of which only the seconds "
            f"with 99% of the plateau's clients ready count (\"steady\"); "
            f"{plural(n, 'run')}, a fresh cmcpd each; medians of the runs' "
            f"per-plateau percentiles. \"Ready\": clients with their handshake "
            f"done at the plateau's last second. CPU: the server's and "
            f"cmcp-bench's user + system time over the plateau's steady "
            f"seconds (sampled every 0.5 s). Load average (1 min) before → "
            f"after "
            f"each run: {loads(rs)}.", "",
            "| clients | ready / streams held | steady s | answers/s | p50 ms | "
            "p95 ms (min–max) | p99 ms | errors | CPU % of a core: server / "
            "cmcp-bench |",
            "|---|---|---|---|---|---|---|---|---|"]
    p95 = {}
    for i, c in enumerate(steps):
        st = []
        for r in good(rs):
            try:
                if float(r.j["steps"][i]["seconds"]) > 0:
                    st.append(r.j["steps"][i])
            except (KeyError, IndexError, TypeError, ValueError):
                pass
        if not st:
            p95[c] = NAN
            ready = [step_field(r, i, "clients_ready") for r in good(rs)]
            out.append(f"| {c:,} | {fmt_int(med(ready))} / "
                       f"{fmt_int(med([step_field(r, i, 'streams_held') for r in good(rs)]))}"
                       " | 0 | not reached | | | | | |")
            continue
        p95s = [rs[0].lat_ms("p95", x) for x in st]
        p95[c] = med(p95s)
        errs = sum(nz(rs[0].req("errors", x)) for x in st)
        out.append(
            f"| {c:,} | {fmt_int(med([float(x.get('clients_ready', NAN)) for x in st]))}"
            f" / {fmt_int(med([float(x.get('streams_held', NAN)) for x in st]))} | "
            f"{fmt_f(med([float(x['seconds']) for x in st]), 0)} | "
            f"{fmt_int(med([rs[0].throughput(x) for x in st]))} | "
            f"{fmt_f(med([rs[0].lat_ms('p50', x) for x in st]), 2)} | "
            f"**{fmt_f(p95[c], 2)}** ({fmt_f(min(p95s), 2)}–"
            f"{fmt_f(max(p95s), 2)}) | "
            f"{fmt_f(med([rs[0].lat_ms('p99', x) for x in st]), 2)} | "
            f"{int(errs):,} | {cpu_text(good(rs), i)} |")
    out.append("")
    lo, hi = p95.get(25, NAN), p95.get(9000, NAN)
    x = hi / lo if lo and lo == lo and hi == hi else NAN
    if x == x:
        verdict = met(x <= FLOOD_TARGET,
                      f"{x / FLOOD_TARGET:.1f}× over the target")
    else:
        verdict = met(False, "the 9,000-client plateau was never reached "
                      "with 99% of its clients ready")
    dead = [r.name for r in rs if r.env and not r.alive()]
    hs_text = "; ".join(handshake_text(r) for r in good(rs)) or "no report"
    top = len(steps) - 1
    pairs = [r.cpu_window(*r.step_window(top)) for r in good(rs)]
    srv, gen = med([p[0] for p in pairs]), med([p[1] for p in pairs])
    if srv == srv and gen == gen:
        bound = ("neither process was CPU-bound there: the requests waited, "
                 "they did not queue behind work" if max(srv, gen) < 80 else
                 "the server was CPU-bound there" if srv >= gen else
                 "cmcp-bench was CPU-bound there")
        cpu_line = (f"- At {steps[top]:,} clients the server used {srv:.0f}% "
                    f"of a core and cmcp-bench {gen:.0f}% (medians over the "
                    f"steady seconds): {bound}.")
    else:
        cpu_line = None
    out += [f"- **p95 at 9,000 / p95 at 25 = {ratio_text(x)}** (target ≤ "
            f"{FLOOD_TARGET:g}×; the Erlang SDK cmcp replaces went 3.8× worse "
            f"by 500): {verdict}.",
            f"- p95 at 500 / p95 at 25 = "
            f"{ratio_text(p95.get(500, NAN) / p95.get(25, NAN))}; at 5,000 "
            f"{ratio_text(p95.get(5000, NAN) / p95.get(25, NAN))}.",
            f"- Clients per run: {hs_text}. Request errors over all runs: "
            f"{errors_text(rs)}.",
            f"- Server VmRSS at the top (median of the runs' maxima): "
            f"{fmt_int(med([r.rss_max() for r in good(rs)]))} KB; server CPU "
            f"per answer {fmt_f(med([r.cpu_us_per_answer() for r in good(rs)]), 1)}"
            f" µs, {fmt_int(med([r.cpu_pct() for r in good(rs)]))}% of a core "
            f"over the whole run. {'Server gone after ' + ', '.join(dead) if dead else 'The server lived through every run'}"
            f"{check_text(rs)}.", ""]
    if cpu_line:
        out.insert(len(out) - 1, cpu_line)
    return out


HANDSHAKE_KINDS = ("connect", "timeout", "refused", "http", "protocol")


def handshake_text(r):
    """Handshakes, their failures by kind, and streams of one run."""
    kinds = ", ".join(f"{nz(r.req('handshake_' + k)):,.0f} {k}"
                      for k in HANDSHAKE_KINDS
                      if nz(r.req("handshake_" + k)) > 0)
    return (f"{nz(r.req('handshakes')):,.0f} handshakes "
            f"({nz(r.req('handshake_errors')):,.0f} failed"
            f"{': ' + kinds if kinds else ''}), "
            f"{nz(r.req('streams_opened')):,.0f} streams opened "
            f"({nz(r.req('stream_errors')):,.0f} failed, "
            f"{nz(r.req('streams_dropped')):,.0f} dropped by the server)")


def check_text(rs):
    bad = [r.name for r in rs if r.checked() is False]
    if bad:
        return "; the request check failed after " + ", ".join(bad)
    if any(r.checked() for r in rs):
        return " and answered the request check afterwards"
    return ""


# ---- baseline and high-load against the TypeScript SDK -----------------------

def compare_row(label, rs):
    g = good(rs)
    if not g:
        return f"| {label} | no report | | | | | |"
    return (f"| {label} | {fmt_int(med([r.offered() for r in g]))} | "
            f"**{fmt_int(med([r.throughput() for r in g]))}** | "
            f"{fmt_f(med([r.lat_ms('p50') for r in g]), 2)} / "
            f"{fmt_f(med([r.lat_ms('p95') for r in g]), 2)} / "
            f"**{fmt_f(med([r.lat_ms('p99') for r in g]), 2)}** | "
            f"{fmt_f(med([r.cpu_us_per_answer() for r in g]), 1)} "
            f"({fmt_int(med([r.cpu_pct() for r in g]))}%) | "
            f"{fmt_int(med([r.rss_max() for r in g]))} | {errors_text(rs)} |")


def compare_section(d, meta):
    n = int(meta.get("RUNS", "3") or 3)
    out = ["### baseline and high-load: cmcpd and the TypeScript SDK, side "
           "by side", ""]
    b = {(p, s): runs(d, f"{p}_{s}", n) for p in ("baseline", "high-load")
         for s in ("cmcpd", "ts")}
    out += command_block(meta.get("CMD_CMCPD"), meta.get("CMD_TS"),
                         b[("baseline", "cmcpd")][0].cmd,
                         b[("high-load", "cmcpd")][0].cmd)
    out += [f"Both servers run side by side (same nice, same placement) and "
            f"speak "
            f"2025-11-25 sessions (the SDK {meta.get('SDK1', '?')} does not "
            "speak 2026-07-28); cmcp-bench does the same handshake with "
            "both. baseline is 25 clients × 100 requests/s, 512 B, tools/call "
            "+ resources/list + resources/read; high-load is 50 clients × "
            "1,000 requests/s, 2 KB, tools/call + resources/read + "
            "prompts/get (closed loop: a client waits for its answer, so a "
            "slower server gets fewer requests). After an unrecorded "
            f"high-load warm-up ({meta.get('TS_WARMUP', '?')} s for node's "
            "JIT, 5 s for cmcpd), "
            f"{plural(n, 'round')} of {meta.get('DURATION', '?')} s, the "
            f"four runs interleaved in each; medians. Load average (1 min) "
            f"before → after each run: "
            f"{loads(b[('baseline', 'cmcpd')] + b[('high-load', 'ts')])}.",
            "", "| profile, server | offered/s | answers/s | latency p50 / "
            "p95 / p99 ms | server CPU µs/answer (% of a core) | server "
            "VmRSS KB (max) | errors |", "|---|---|---|---|---|---|---|"]
    for p in ("baseline", "high-load"):
        out.append(compare_row(f"{p}, cmcpd --threads 1", b[(p, "cmcpd")]))
        out.append(compare_row(f"{p}, TypeScript SDK {meta.get('SDK1', '?')}",
                               b[(p, "ts")]))
    out += ["", "Latency counts from each request's intended send time: when a "
            "server cannot keep the offered rate (high-load offers 50,000/s "
            "to one loop thread; the TypeScript server misses baseline's "
            "2,500/s too), each client's schedule falls further behind "
            "through the run and the percentiles grow with the run's length. "
            "For those rows compare answers/s and CPU per answer, not "
            "latency.", ""]
    for p in ("baseline", "high-load"):
        c, t = good(b[(p, "cmcpd")]), good(b[(p, "ts")])
        if not c or not t:
            continue
        thr = med([r.throughput() for r in c]) / med([r.throughput()
                                                       for r in t])
        p99 = med([r.lat_ms("p99") for r in t]) / med([r.lat_ms("p99")
                                                        for r in c])
        cpu = med([r.cpu_us_per_answer() for r in t]) / med(
            [r.cpu_us_per_answer() for r in c])
        out.append(f"- {p}: cmcpd answers {ratio_text(thr)} the TypeScript "
                   f"server's rate, with a p99 {ratio_text(p99)} lower and "
                   f"{ratio_text(cpu, 1)} less CPU per answer.")
    out.append("")
    return out


# ---- slow-client beside baseline -----------------------------------------------

def slow_section(d, meta):
    n = int(meta.get("RUNS", "3") or 3)
    alone, beside = runs(d, "slow_alone", n), runs(d, "slow_beside", n)
    slow = runs(d, "slow_clients", n)
    out = ["### slow-client beside baseline", ""]
    out += command_block(meta.get("CMD_CMCPD"), alone[0].cmd,
                         read(os.path.join(d, "slow_clients.cmd")).strip())
    out += ["slow-client is 5 clients × 1 request/s reading a 1 KB resource "
            "over connections that read their answers slowly (slow "
            "consumers; the pace is the profile's `--slow-read`, see the "
            "cmcp-bench README). "
            f"{plural(n, 'round')}: baseline alone, then baseline with the "
            "slow clients started 3 s before it and outlasting it, on the "
            "same cmcpd; medians. Load average (1 min) before → after each "
            f"run: {loads(alone + beside)}.", "",
            "| baseline run | answers/s | p50 ms | p99 ms | errors |",
            "|---|---|---|---|---|"]
    for label, rs in (("alone", alone), ("beside slow-client", beside)):
        g = good(rs)
        out.append(f"| {label} | {fmt_int(med([r.throughput() for r in g]))} "
                   f"| {fmt_f(med([r.lat_ms('p50') for r in g]), 2)} | "
                   f"**{fmt_f(med([r.lat_ms('p99') for r in g]), 2)}** | "
                   f"{errors_text(rs)} |")
    out.append("")
    a = med([r.lat_ms("p99") for r in good(alone)])
    b = med([r.lat_ms("p99") for r in good(beside)])
    change = (b - a) / a if a and a == a and b == b else NAN
    paired = med([(y.lat_ms("p99") - x.lat_ms("p99")) / x.lat_ms("p99")
                  for x, y in zip(alone, beside)
                  if x.ok and y.ok and x.lat_ms("p99") > 0])
    verdict = "n/a" if change != change else met(
        abs(change) < SLOW_TARGET, f"{abs(change) * 100:.0f}% against "
        f"< {SLOW_TARGET * 100:.0f}%")
    g = good(slow)
    out += [f"- **baseline p99 change with slow clients beside: "
            f"{'n/a' if change != change else f'{change * 100:+.1f}%'}** "
            f"(median of the per-round changes "
            f"{'n/a' if paired != paired else f'{paired * 100:+.1f}%'}; "
            f"target < {SLOW_TARGET * 100:.0f}%): {verdict}.",
            f"- The slow clients themselves: "
            f"{fmt_int(sum(nz(r.req('ok')) for r in g))} answers, errors "
            f"{errors_text(slow)} (a slow consumer may be dropped by design "
            "once its outbound bound is hit).", ""]
    return out


# ---- bomber ---------------------------------------------------------------------

def bomber_section(d, meta):
    n = int(meta.get("RUNS", "3") or 3)
    caps, bs = runs(d, "capacity", n), runs(d, "bomber", n)
    out = ["### bomber: open-loop pings at 3× capacity", ""]
    out += command_block(meta.get("CMD_CMCPD"), caps[0].cmd, bs[0].cmd)
    out += [f"Each round starts a fresh cmcpd, measures its capacity with a "
            f"closed-loop ping run of {meta.get('CAPACITY_SECONDS', '?')} s "
            "(the answers/s it sustains), then offers 3× that rate open loop "
            f"for {meta.get('BOMBER_SECONDS', '?')} s (latency counted from "
            "each request's intended send time). Goodput is the answers/s "
            "during the bomber run; \"lost\" is requests sent minus answers "
            f"minus errors; \"late\" requests waited in cmcp-bench for a free "
            "connection (their latency counts from the intended time), "
            "\"unsent\" ones were dropped by cmcp-bench when its backlog was "
            "full; server CPU is in % of one core over the run. "
            f"{plural(n, 'round')}; medians. Load average "
            f"(1 min) before → after each run: {loads(caps + bs)}.", "",
            "| round | capacity/s (server CPU) | offered/s | sent/s (late; "
            "unsent) | goodput/s (server CPU) | goodput / capacity | p99 ms "
            "(admitted) | refused (503, with Retry-After) | timeouts | other "
            "errors | lost | VmRSS KB at capacity → bomber | server |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    gp, p99s, rss_x, refused_ok, lost_all, alive_all = [], [], [], True, 0, True
    for i, (c, b) in enumerate(zip(caps, bs), start=1):
        if not c.ok or not b.ok:
            out.append(f"| {i} | no report | | | | | | | | | | | |")
            refused_ok = alive_all = False
            continue
        cap, put = c.throughput(), b.throughput()
        ratio = put / cap if cap > 0 else NAN
        refused, ra = b.err("refused_503"), b.req("retry_after")
        timeouts = b.err("timeout")
        other = b.req("errors") - nz(refused) - nz(timeouts)
        lost = b.req("sent") - b.req("ok") - b.req("errors")
        rx = b.rss_max() / c.rss_max() if c.rss_max() > 0 else NAN
        gp.append(ratio)
        p99s.append(b.lat_ms("p99"))
        rss_x.append(rx)
        refused_ok &= timeouts == 0 and other == 0 and lost == 0 and \
            (refused == ra)
        lost_all += nz(lost)
        alive_all &= b.alive() and b.checked() is not False
        secs = float(b.j.get("seconds") or NAN)
        out.append(f"| {i} | {fmt_int(cap)} ({fmt_int(c.cpu_pct())}%) | "
                   f"{fmt_int(b.offered())} | "
                   f"{fmt_int(b.req('sent') / secs)} "
                   f"({fmt_int(b.req('late'))}; {fmt_int(b.req('unsent'))}) | "
                   f"{fmt_int(put)} ({fmt_int(b.cpu_pct())}%) | "
                   f"{fmt_f(ratio * 100, 1)}% | "
                   f"{fmt_f(b.lat_ms('p99'), 2)} | {fmt_int(refused)} "
                   f"({fmt_int(ra)}) | {fmt_int(timeouts)} | "
                   f"{fmt_int(other)} | {fmt_int(lost)} | "
                   f"{fmt_int(c.rss_max())} → {fmt_int(b.rss_max())} "
                   f"({ratio_text(rx)}) | "
                   f"{'alive' if b.alive() else '**gone**'}"
                   f"{', check failed' if b.checked() is False else ''} |")
    out.append("")
    g, p, x = med(gp), med(p99s), med(rss_x)
    out += [f"- **goodput {fmt_f(g * 100, 1)}% of capacity** (target ≥ "
            f"{GOODPUT_TARGET * 100:.0f}%): "
            + ("n/a" if g != g else met(g >= GOODPUT_TARGET,
                                        f"{(GOODPUT_TARGET - g) * 100:.1f} "
                                        "points short")) + ".",
            f"- **p99 of admitted requests {fmt_f(p, 2)} ms** (target ≤ "
            f"{BOMBER_P99_MS:g} ms): "
            + ("n/a" if p != p else met(p <= BOMBER_P99_MS,
                                        f"{p / BOMBER_P99_MS:.1f}× the "
                                        "target")) + ".",
            "- **every refusal a 503, none timed out, none lost**: "
            + met(refused_ok, f"{errors_text(bs)}; {int(lost_all):,} lost")
            + (" — but only because nothing was refused: no request reached "
               "a limit, so none got a 503" if refused_ok and not any(
                   nz(b.err("refused_503")) for b in good(bs)) else "")
            + ".",
            f"- **VmRSS under bomber {ratio_text(x)} its value at capacity** "
            f"(maxima; target ≤ {BOMBER_RSS_TARGET:g}×): "
            + ("n/a" if x != x else met(x <= BOMBER_RSS_TARGET,
                                        f"{x / BOMBER_RSS_TARGET:.2f}× over"))
            + ".",
            "- **no crash**: " + met(alive_all, "see the server column")
            + ".", ""]
    srv_ok = [metric_delta(d, b.name, 'cmcp_requests_total{method="ping",'
                           'outcome="ok"}') for b in bs]
    srv_ref = [metric_delta(d, b.name, "cmcp_refusals_total{") for b in bs]
    if any(x == x for x in srv_ok):
        out.insert(len(out) - 1, "- The server's own count (GET /metrics "
                   "before and after each bomber run): ping answers "
                   + ", ".join(fmt_int(x) for x in srv_ok) + " against "
                   + ", ".join(fmt_int(b.req("ok")) for b in bs)
                   + " answers cmcp-bench received; refusals "
                   + ", ".join(fmt_int(x) for x in srv_ref) + ".")
    return out


# ---- soak -------------------------------------------------------------------------

def soak_section(d, meta):
    r = Run(d, "soak")
    out = ["### soak: 50% of capacity for 10 minutes", ""]
    cap_cmd = read(os.path.join(d, "capacity_soak.cmd")).strip()
    out += command_block(meta.get("CMD_CMCPD"), cap_cmd, r.cmd)
    if not r.ok:
        return out + ["No report from the soak run.", ""]
    dur = r.rss[-1][0] if r.rss else NAN
    early = r.rss_median(60, 120)
    late = r.rss_median(max(dur - 60, 120), dur + 1)
    drift = (late - early) / early if early and early == early else NAN
    errs = r.req("errors")
    out += [f"Once, {fmt_int(float(meta.get('SOAK_SECONDS', 'nan')))} s, open "
            f"loop at half the median capacity of the bomber rounds "
            f"({fmt_int(r.offered())} requests/s offered). Drift is the "
            "median VmRSS of the last minute against the median of the "
            "second minute (after start-up and pools have filled). Load "
            f"average (1 min) before → after: {r.load()}.", "",
            "| answers/s | p50 / p99 ms | errors | VmRSS KB start → minute "
            "2 → last minute (max) | drift |", "|---|---|---|---|---|",
            f"| {fmt_int(r.throughput())} | {fmt_f(r.lat_ms('p50'), 2)} / "
            f"{fmt_f(r.lat_ms('p99'), 2)} | {errors_text([r])} | "
            f"{fmt_int(r.rss[0][1] if r.rss else NAN)} → {fmt_int(early)} → "
            f"{fmt_int(late)} ({fmt_int(r.rss_max())}) | "
            f"{'n/a' if drift != drift else f'{drift * 100:+.2f}%'} |", "",
            f"- **RSS drift {'n/a' if drift != drift else f'{drift * 100:+.2f}%'}"
            f"** (target ≤ {SOAK_DRIFT_TARGET * 100:.0f}%): "
            + ("n/a" if drift != drift else
               met(drift <= SOAK_DRIFT_TARGET, f"{drift * 100:.1f}%")) + ".",
            f"- **errors {fmt_int(errs)}** (target 0): "
            + met(errs == 0, errors_text([r])) + ".", ""]
    return out


def low_section(d, meta):
    r = Run(d, "low")
    if not r.ok:
        return []
    return ["### low-load, for the record", ""] + command_block(
        meta.get("CMD_CMCPD"), r.cmd) + [
        "| answers/s | p50 / p99 ms | errors |", "|---|---|---|",
        f"| {fmt_int(r.throughput())} | {fmt_f(r.lat_ms('p50'), 2)} / "
        f"{fmt_f(r.lat_ms('p99'), 2)} | {errors_text([r])} |", ""]


# ---- the section ------------------------------------------------------------------

def header(meta):
    dirty = meta.get("DIRTY", "0").strip()
    tree = "" if dirty in ("", "0") else \
        f" with {dirty} modified files under src/ and tools/"
    return [
        "Written by `scripts/bench-overload.sh [BUILD]` (knobs `RUNS`, "
        "`FLOOD_RUNS`, `DURATION`, `STEP_SECONDS`, `BOMBER_SECONDS`, "
        "`SOAK_SECONDS`, `TS_WARMUP`, `ONLY`, `PIN`, `NICE`; raw cmcp-bench JSON reports, VmRSS "
        "samples and commands in the results folder it prints) through "
        "`bench/overload/report.py`, which replaces the text between the "
        "`overload` markers. The load generator is `cmcp-bench` "
        "(`tools/cmcp-bench/README.md`: profiles, and how latency is "
        "measured); every figure comes from its own profile of that name. "
        "Server VmRSS is read from /proc every 0.5 s during each run.", "",
        f"Run finished {meta.get('DATE', '?')} at commit `{meta.get('COMMIT', '?')}`"
        f"{tree} ({meta.get('SECONDS_TOTAL', '?')} s in all).", "",
        f"- machine: {meta.get('NPROC', '?')} cores, {meta.get('CPU', '?')}, "
        f"Linux {meta.get('KERNEL', '?')}; node {meta.get('NODE', '?')}",
        f"- placement: cmcpd `--threads 1` (one loop thread: \"one server "
        f"process\"); servers and cmcp-bench at nice {meta.get('NICE', '0')}; "
        f"taskset pinning: {meta.get('PIN', '?')}. cmcp-bench shares the 2 "
        "cores with the server and with other work (builds, tests): the "
        "load average is given with each figure, and absolute latencies "
        "move with it. In trial baseline runs at a load average of 11, "
        "pinning the server and the generator to a core each made p99 "
        "worse (1.8–2.3 s against 0.08–0.16 s unpinned: a pinned process "
        "cannot leave a core a compiler holds), and nice -10 made it "
        "better (14–18 ms against 0.04–0.3 s at nice 0)",
        f"- load average before / after everything: "
        f"{meta.get('LOAD_BEFORE', '?')} / {meta.get('LOAD_AFTER', '?')}",
        ""]


def render(d):
    meta = load_meta(d)
    parts = set(meta.get("ONLY", "").split())
    lines = [OVERLOAD_BEGIN, "## Overload", ""] + header(meta)
    for key, fn in (("flood", flood_section), ("compare", compare_section),
                    ("slow", slow_section), ("bomber", bomber_section),
                    ("soak", soak_section), ("low", low_section)):
        if key in parts:
            lines += fn(d, meta)
    notes = read(os.path.join(d, "NOTES.md")).strip()
    if notes:
        lines += ["### Notes on this run", "", notes, ""]
    plots = sorted(glob.glob(os.path.join(_here, "..", "..", "docs", "img",
                                          "overload-*.png")))
    if plots:
        lines += ["Plots (cmcp-bench `--plot`, first run of each): " +
                  ", ".join(f"[{os.path.basename(p)}](img/"
                            f"{os.path.basename(p)})" for p in plots), ""]
    lines.append(OVERLOAD_END)
    return "\n".join(lines) + "\n"


def write_doc(doc, section):
    _http.replace_section(doc, section, OVERLOAD_BEGIN, OVERLOAD_END)


def main(argv):
    if len(argv) == 3 and argv[1] == "--throughput":
        j = load_json(argv[2])
        if j is None or not j.get("throughput"):
            sys.stderr.write(f"report.py: no throughput in {argv[2]}\n")
            return 1
        print(f"{float(j['throughput']):.0f}")
        return 0
    if len(argv) != 3:
        sys.stderr.write("usage: report.py RESULTS_DIR DOC|-\n"
                         "       report.py --throughput FILE.json\n")
        return 2
    section = render(argv[1])
    if argv[2] == "-":
        sys.stdout.write(section)
    else:
        write_doc(argv[2], section)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
