#!/usr/bin/env python3
"""bench/http/report.py RESULTS_DIR DOC: turns the raw outputs of
scripts/bench-http.sh into the "Streamable HTTP" section of
docs/BENCHMARKS.md (DOC "-" prints it instead).

The section sits between the lines HTTP_BEGIN and HTTP_END below and is
replaced whole on each run; the rest of the document, bench/report.py's
results section included, is left alone (if the markers are missing the
section is appended). Python 3 standard library only.
"""
import importlib.util
import os
import re
import sys

_here = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "bench_report", os.path.join(_here, "..", "report.py"))
_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_bench)
read, load_meta, med, plural = (_bench.read, _bench.load_meta, _bench.med,
                                _bench.plural)
fmt_int, fmt_f = _bench.fmt_int, _bench.fmt_f
replace_section = _bench.replace_section

HTTP_BEGIN = "<!-- http:begin -->"
HTTP_END = "<!-- http:end -->"

NGINX_TARGET = 0.7
TS_TARGET = 30.0
SESSION_TARGET_KB = 2.0

UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def to_ms(value, unit):
    return float(value) * UNIT_MS.get(unit, float("nan"))


def parse_wrk(text):
    """The figures of one wrk --latency output (plus the CPU line the
    script appends), or None if wrk gave no rate."""
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not m:
        return None
    r = {"rps": float(m.group(1)), "p50": float("nan"), "p99": float("nan"),
         "non2xx": 0, "sockerr": 0, "requests": 0, "cpu_us": float("nan")}
    m = re.search(r"(\d+) requests in ([\d.]+)", text)
    if m:
        r["requests"] = int(m.group(1))
    for pct, key in (("50", "p50"), ("99", "p99")):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
        if m:
            r[key] = to_ms(m.group(1), m.group(2))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if m:
        r["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                  r"timeout (\d+)", text)
    if m:
        r["sockerr"] = sum(int(g) for g in m.groups())
        r["sockerr_text"] = m.group(0)
    m = re.search(r"^CPU ticks=(\d+) hz=(\d+)", text, re.M)
    if m and r["requests"] > 0:
        r["cpu_us"] = int(m.group(1)) * 1e6 / int(m.group(2)) / r["requests"]
    return r


def runs(d, name, n):
    return [parse_wrk(read(os.path.join(d, f"{name}_{i}.txt")))
            for i in range(1, n + 1)]


def good(rows):
    return [r for r in rows if r is not None]


def errors(rows):
    g = good(rows)
    bad = sum(r["non2xx"] for r in g)
    sock = sum(r["sockerr"] for r in g)
    failed = len(rows) - len(g)
    parts = []
    if bad:
        parts.append(f"{bad:,} non-2xx")
    if sock:
        parts.append(f"{sock:,} socket errors")
    if failed:
        parts.append(f"{failed} runs without a result")
    return ", ".join(parts) if parts else "none"


def wrk_line(label, request, rows):
    g = good(rows)
    if not g:
        return f"| {label} | {request} | no result | | | | {errors(rows)} |", \
            float("nan")
    rps = [r["rps"] for r in g]
    return (f"| {label} | {request} | {fmt_int(med(rps))} | "
            f"{fmt_int(min(rps))}–{fmt_int(max(rps))} | "
            f"{fmt_f(med([r['p50'] for r in g]), 2)} / "
            f"{fmt_f(med([r['p99'] for r in g]), 2)} | "
            f"{fmt_f(med([r['cpu_us'] for r in g]))} | {errors(rows)} |",
            med(rps))


def ratio(a_rows, b_rows, a_med, b_med):
    """(ratio of medians, median of per-round ratios, CPU ratio b/a)."""
    paired = [a["rps"] / b["rps"] for a, b in zip(a_rows, b_rows)
              if a and b and b["rps"] > 0]
    cpu = [b["cpu_us"] / a["cpu_us"] for a, b in zip(a_rows, b_rows)
           if a and b and a["cpu_us"] > 0]
    whole = a_med / b_med if b_med and b_med == b_med else float("nan")
    return whole, med(paired), med(cpu)


def fmt_ratio(x):
    """A ratio with enough digits that its verdict is visible in it."""
    if x != x:
        return "n/a"
    return f"{x:.3f}" if x < 1 else f"{x:.2f}" if x < 10 else f"{x:.1f}"


def verdict(x, target):
    if x != x:
        return "n/a"
    return "met" if x >= target else f"**missed** (target ≥ {target:g}×)"


def throughput_section(d, meta):
    n = int(meta.get("RUNS", "3") or 3)
    rows = {k: runs(d, f"a_{k}", n) for k in ("cmcpd", "nginx", "ts1", "ts2")}
    th = meta.get("THREADS", "?")
    out = ["### a. Stateless `tools/call echo`: cmcpd against nginx and the "
           "TypeScript SDK", "", "```",
           meta.get("CMD_CMCPD", "?"), meta.get("CMD_NGINX", "?"),
           meta.get("CMD_TS1", "?"), meta.get("CMD_TS2", "?"),
           meta.get("CMD_WRK", "?"), "```", "",
           f"The four servers run side by side and are measured in turn, "
           f"{plural(n, 'round')} of {meta.get('DURATION', '?')} s each, after "
           f"an unrecorded warm-up of {meta.get('WARMUP', '?')} s (cmcpd, "
           f"nginx) and {meta.get('TS_WARMUP', '?')} s (each TS server: "
           "node's JIT); medians. Before and after the rounds "
           "one request to each server is checked (200 and the echoed "
           f"text). nginx answers {meta.get('BODY_NGINX', '?')} bytes, "
           f"cmcpd {meta.get('BODY_CMCPD', '?')}.", "",
           "| server | request | requests/s (median) | min–max | "
           "latency p50 / p99 ms | server CPU µs/request | errors |",
           "|---|---|---|---|---|---|---|"]
    modern = "2026-07-28, `echo-modern.lua`"
    lines = [
        (f"cmcpd --threads {th}", modern, "cmcpd"),
        (f"nginx {meta.get('NGINX', '?')}, static body, "
         f"{th} workers", "the same (ignored)", "nginx"),
        (f"TypeScript SDK {meta.get('SDK1', '?')} (stateless, JSON)",
         "2025-11-25, `echo-legacy.lua`", "ts1"),
        (f"TypeScript SDK {meta.get('SDK2', '?')} (`createMcpHandler`, JSON)",
         modern, "ts2"),
    ]
    medians = {}
    for label, req, key in lines:
        line, medians[key] = wrk_line(label, req, rows[key])
        out.append(line)
    out += ["", "Server CPU: user + system time of the server's process "
            "(nginx: its workers) over the run, per request. Node runs the "
            "SDK's JavaScript on one thread; cmcpd and nginx use "
            f"{th}.", ""]
    c = rows["cmcpd"]
    for key, name, target in (("nginx", "nginx", NGINX_TARGET),
                              ("ts1", f"TS SDK {meta.get('SDK1', '?')}",
                               TS_TARGET),
                              ("ts2", f"TS SDK {meta.get('SDK2', '?')}",
                               TS_TARGET)):
        whole, paired, cpu = ratio(c, rows[key], medians["cmcpd"],
                                   medians[key])
        out.append(f"- **cmcpd / {name}: {fmt_ratio(whole)}×** requests/s "
                   f"(ratio of medians; median of the per-round ratios "
                   f"{fmt_ratio(paired)}×): {verdict(whole, target)}. "
                   f"By CPU per request **{fmt_ratio(cpu)}×** (median of "
                   f"the per-round ratios {name} CPU / cmcpd CPU): "
                   f"{verdict(cpu, target)}.")
    out += ["", "The requests/s ratio depends on how much of the two cores "
            "wrk and the machine's other work leave each server (wrk needs "
            "less of them against a slower server); the CPU ratio is the "
            "rate ratio the servers would show with cores of their own, and "
            "moves much less from run to run.", ""]
    return out


def latency_section(d, meta):
    n = int(meta.get("RUNS", "3") or 3)
    out = ["### c. cmcpd latency by connections", "", "```",
           meta.get("CMD_WRK_C1", "?"),
           meta.get("CMD_WRK", "?").replace("LUA",
                                             "bench/http/echo-modern.lua"),
           meta.get("CMD_WRK_C1024", "?"), "```", "",
           f"cmcpd --threads {meta.get('THREADS', '?')}, the runs of (a) "
           f"for {meta.get('CONNS', '64')} connections; {plural(n, 'round')} "
           "interleaved with (a); medians of wrk's latency distribution.",
           "", "| connections | requests/s (median) | min–max | "
           "latency p50 / p99 ms | server CPU µs/request | errors |",
           "|---|---|---|---|---|---|"]
    for conns, name in (("1", "c_cmcpd_c1"), (meta.get("CONNS", "64"),
                                               "a_cmcpd"),
                        ("1,024", "c_cmcpd_c1024")):
        rows = runs(d, name, n)
        line, _ = wrk_line(conns, "", rows)
        out.append(line.replace(" |  |", " |", 1))
    out.append("")
    return out


def sessions_rows(d, name, n):
    out = []
    for i in range(1, n + 1):
        text = read(os.path.join(d, f"{name}_{i}.txt"))
        row = None
        for line in text.splitlines():
            parts = line.split()
            if len(parts) > 2 and parts[:2] == ["RESULT", "sessions"]:
                row = dict(p.partition("=")[::2] for p in parts[2:])
        if row is not None:
            row["exited"] = "EXITED" in text
        out.append(row)
    return out


def fnum(row, key):
    try:
        return float(row[key])
    except (KeyError, ValueError, TypeError):
        return float("nan")


def sessions_line(label, rows, target):
    g = [r for r in rows if r is not None]
    if not g:
        return f"| {label} | no result | | | | | |", float("nan")
    per = [fnum(r, "kb_per_session") for r in g]
    held = ", ".join(f"{r.get('opened', '?')}/{r.get('target', '?')}"
                     for r in g)
    trouble = []
    drops = sum(int(fnum(r, "dropped")) for r in g if fnum(r, "dropped") > 0)
    fails = sum(int(fnum(r, "failed")) for r in g if fnum(r, "failed") > 0)
    if drops:
        trouble.append(f"{drops} streams dropped")
    if fails:
        trouble.append(f"{fails} sessions failed")
    if any(r["exited"] for r in g):
        trouble.append("server exited")
    m = med(per)
    verdict_txt = "" if target is None else (
        " — met" if m <= target else f" — **missed** (target ≤ {target:g})")
    return (f"| {label} | {held} | "
            f"{fmt_int(med([fnum(r, 'rss_before_kb') for r in g]))} → "
            f"{fmt_int(med([fnum(r, 'rss_open_kb') for r in g]))} | "
            f"**{fmt_f(m, 2)}**{verdict_txt} | "
            f"{fmt_f(min(per), 2)}–{fmt_f(max(per), 2)} | "
            f"{fmt_int(med([fnum(r, 'rss_closed_kb') for r in g]))} | "
            f"{fmt_f(med([fnum(r, 'open_seconds') for r in g]), 1)} | "
            f"{', '.join(trouble) or 'none'} |", m)


def sessions_section(d, meta):
    n = int(meta.get("RUNS", "3") or 3)
    out = ["### b. Memory per legacy session with an open GET stream", "",
           "```", meta.get("CMD_CMCPD", "?"),
           meta.get("CMD_TS1_STATEFUL", "?"),
           meta.get("CMD_SESSIONS", "?"), "```", "",
           f"Each round starts a fresh server; `sessions.py` opens the "
           "sessions over one connection each (initialize, "
           "notifications/initialized, then GET /mcp answered with an SSE "
           "stream), holds every stream open, reads the server's VmRSS "
           "(user-space resident memory; kernel socket buffers are not in "
           f"it), then closes the connections. {plural(n, 'round')}, the "
           "three rows interleaved; medians.", "",
           "| server | sessions held | VmRSS KB before → streams open | "
           "KB per session | min–max | VmRSS KB after closing | "
           "seconds to open | trouble |",
           "|---|---|---|---|---|---|---|---|"]
    c_line, c_kb = sessions_line(
        f"cmcpd --threads {meta.get('THREADS', '?')}",
        sessions_rows(d, "b_cmcpd", n), SESSION_TARGET_KB)
    n_line, n_kb = sessions_line(
        f"cmcpd --threads {meta.get('THREADS', '?')}, no GET stream "
        "(`--no-get`)", sessions_rows(d, "b_cmcpd_noget", n), None)
    t_line, t_kb = sessions_line(
        f"TypeScript SDK {meta.get('SDK1', '?')} (stateful, JSON)",
        sessions_rows(d, "b_ts1", n), None)
    out += [c_line, n_line, t_line, ""]
    if c_kb == c_kb and n_kb == n_kb:
        out.append(f"- Without a GET stream a session closes its connection "
                   f"once initialized: {n_kb:.2f} KB per session is the "
                   "session itself (an upper bound: the freed connections' "
                   "memory stays in the allocator), so the connection and "
                   f"its open stream add about {c_kb - n_kb:.2f} KB.")
    if c_kb == c_kb and t_kb == t_kb and c_kb > 0:
        out.append(f"- The TypeScript SDK holds {t_kb / c_kb:,.0f}× cmcpd's "
                   "memory per session.")
    out += ["- \"After closing\": a legacy session outlives its connections "
            "(until DELETE or `--session-idle-timeout`, 10 minutes by "
            "default), so the memory stays; it is not a leak measure.", ""]
    return out


def parse_strace(text):
    """{syscall: calls} from the summary table of strace -c."""
    calls = {}
    for line in text.splitlines():
        t = line.split()
        if len(t) in (5, 6) and t[-1] != "total" and t[3].isdigit():
            try:
                float(t[0])
            except ValueError:
                continue
            calls[t[-1]] = int(t[3])
    return calls


def strace_section(d, meta):
    if meta.get("HAVE_STRACE") != "1":
        return []
    counts, reqs = {}, {}
    for name in ("cmcpd", "nginx"):
        counts[name] = parse_strace(read(os.path.join(d, f"strace_{name}.txt")))
        r = parse_wrk(read(os.path.join(d, f"strace_wrk_{name}.txt")))
        reqs[name] = r["requests"] if r else 0
    if not all(counts.values()) or not all(reqs.values()):
        return ["### d. System calls per request", "",
                "(strace gave no counts)", ""]
    names = sorted(set(counts["cmcpd"]) | set(counts["nginx"]),
                   key=lambda k: -(counts["cmcpd"].get(k, 0) / reqs["cmcpd"] +
                                   counts["nginx"].get(k, 0) / reqs["nginx"]))
    out = ["### d. System calls per request: cmcpd and nginx", "", "```",
           meta.get("CMD_STRACE", "?"), "```", "",
           f"Calls per request over the {reqs['cmcpd']:,} (cmcpd) and "
           f"{reqs['nginx']:,} (nginx) requests wrk completed under strace "
           "(strace slows the servers; the counts per request do not "
           "depend on it). Calls below 0.01 per request are left out.", "",
           "| system call | cmcpd | nginx |", "|---|---|---|"]
    tc = tn = 0.0
    for k in names:
        c = counts["cmcpd"].get(k, 0) / reqs["cmcpd"]
        g = counts["nginx"].get(k, 0) / reqs["nginx"]
        tc, tn = tc + c, tn + g
        if c >= 0.01 or g >= 0.01:
            out.append(f"| {k} | {c:.2f} | {g:.2f} |")
    out += [f"| all | {tc:.2f} | {tn:.2f} |", ""]
    return out


def machine_lines(meta):
    dirty = meta.get("DIRTY", "0").strip()
    tree = "" if dirty in ("", "0") else \
        f" with {dirty} modified files under src/ and tools/"
    return [f"Run of {meta.get('DATE', '?')} at commit "
            f"`{meta.get('COMMIT', '?')}`{tree} by `scripts/bench-http.sh` "
            f"({meta.get('SECONDS_TOTAL', '?')} s).", "",
            f"- machine: {meta.get('NPROC', '?')} cores, "
            f"{meta.get('CPU', '?')}, Linux {meta.get('KERNEL', '?')}; "
            f"wrk {meta.get('WRK', '?')}, node {meta.get('NODE', '?')}",
            f"- load average before / after: "
            f"{meta.get('LOAD_BEFORE', '?')} / {meta.get('LOAD_AFTER', '?')}"
            " (the machine is shared and wrk runs on the same 2 cores as "
            "the server: absolute rates move with the load, the interleaved "
            "ratios much less)",
            f"- servers after the load: "
            f"{meta.get('ALIVE') or 'all alive and answering'}; VmRSS KB "
            f"before / after (a) and (c): {meta.get('RSS_START', '?')} / "
            f"{meta.get('RSS_END', '?')}",
            ""]


def render(d):
    meta = load_meta(d)
    lines = [HTTP_BEGIN, "## Streamable HTTP", "",
             "Written by `scripts/bench-http.sh [BUILD]` (knobs `RUNS`, "
             "`DURATION`, `CONNS`, `THREADS`, `SESSIONS`, `TS_SESSIONS`; raw "
             "wrk and sessions.py outputs in a temporary folder it prints) "
             "through `bench/http/report.py`, which replaces the text between "
             "the `http` markers. The TypeScript servers are the SDKs' own "
             "stateless idioms: 1.x builds a McpServer and a transport per "
             "request (`bench/http/ts-sdk-server.mjs`), 2.x serves through "
             "`createMcpHandler`, which also builds an instance per request "
             "(`bench/http/ts2-server.mjs`). The 1.x SDK does not speak "
             "2026-07-28, so it gets the 2025-11-25 form of the same call, "
             "which its stateless transport answers without an initialize.",
             ""]
    lines += machine_lines(meta)
    lines += throughput_section(d, meta)
    lines += sessions_section(d, meta)
    lines += latency_section(d, meta)
    lines += strace_section(d, meta)
    lines.append(HTTP_END)
    return "\n".join(lines) + "\n"


def write_doc(doc, section):
    replace_section(doc, section, HTTP_BEGIN, HTTP_END)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: report.py RESULTS_DIR DOC|-\n")
        return 2
    section = render(argv[1])
    if argv[2] == "-":
        sys.stdout.write(section)
    else:
        write_doc(argv[2], section)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
