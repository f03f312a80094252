#!/usr/bin/env python3
"""bench/report.py RESULTS_DIR DOC: turns the raw outputs of scripts/bench.sh
into the results section of docs/BENCHMARKS.md (DOC "-" prints it instead).

The section sits between the lines RESULTS_BEGIN and RESULTS_END below and
is replaced whole on each run; the rest of the document is left alone (if
the markers are missing the section is appended). Python 3 standard library
only.
"""
import os
import re
import statistics
import sys

RESULTS_BEGIN = "<!-- bench:results:begin (written by scripts/bench.sh) -->"
RESULTS_END = "<!-- bench:results:end -->"

ENGINE_TARGET_NS = 2000
STDIO_TARGET_RPS = 200000


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def load_meta(d):
    meta = {}
    for line in read(os.path.join(d, "meta.env")).splitlines():
        k, sep, v = line.partition("=")
        if sep:
            meta[k] = v
    return meta


def results(text, kind):
    """Every 'RESULT <kind> k=v ...' line of text, as dicts."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "RESULT" and parts[1] == kind:
            row = {}
            for p in parts[2:]:
                k, _, v = p.partition("=")
                row[k] = v
            out.append(row)
    return out


def num(row, key):
    try:
        return float(row[key])
    except (KeyError, ValueError):
        return float("nan")


def plural(n, word):
    return f"{n} {word}" + ("" if n == 1 else "s")


def fmt_int(x):
    return "n/a" if x != x else f"{x:,.0f}"


def fmt_f(x, digits=1):
    return "n/a" if x != x else f"{x:,.{digits}f}"


# ---- callgrind --------------------------------------------------------------

CG_LINE = re.compile(r"^\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(.*)$")
OWN_FILE = re.compile(r"(^|/)(src|tools|bench|examples)/.*$")


def cg_parse(text):
    """(total Ir, [(ir, file, function, object)]) from callgrind_annotate."""
    total, rows = 0, []
    for line in text.splitlines():
        if line.startswith("-- Auto-annotated") or line.startswith("-- User-"):
            break  # per-line source annotation follows: not functions
        m = CG_LINE.match(line)
        if not m:
            continue
        ir = int(m.group(1).replace(",", ""))
        rest = m.group(3)
        if rest.startswith("PROGRAM TOTALS"):
            total = ir
            continue
        obj = ""
        om = re.search(r" \[([^\]]*)\]$", rest)
        if om:
            obj = om.group(1)
            rest = rest[: om.start()]
        file, _, func = rest.rpartition(":")
        rows.append((ir, file, func, obj))
    return total, rows


def cg_name(file, func, obj):
    base = os.path.basename(obj)
    if func.startswith("0x"):
        lib = base.split(".so")[0] if base else "?"
        return f"({lib} static function at {func})"
    if "libjson-c" in base:
        return f"{func} (json-c)"
    if base.startswith("libc.so") or base.startswith("ld-linux"):
        return f"{func} (libc {os.path.basename(file)})"
    if OWN_FILE.search(file):
        return f"`{func}` ({OWN_FILE.search(file).group(0).lstrip('/')})"
    return f"{func} ({base})"


LOCALE = "glibc locale setup per json-c parse (newlocale, duplocale, " \
    "uselocale, freelocale, getenv, and glibc's global locale rwlock)"


def cg_component(file, func, obj):
    """The part of the stack a function belongs to. callgrind_annotate
    leaves out the object for some glibc and inlined-header functions, so
    the source path decides there."""
    base = os.path.basename(obj)
    if "libjson-c" in base:
        return "json-c (parse, objects, serialize)"
    glibc = base.startswith("libc.so") or base.startswith("ld-linux") or (
        not base and file.startswith("./"))
    if glibc:
        if "/malloc/" in file:
            return "glibc malloc/free"
        if "/locale/" in file or func == "getenv" or "rwlock" in func:
            return LOCALE
        return "glibc other (memcpy, strlen, strcmp, ...)"
    if "libuv" in base:
        return "libuv"
    if re.search(r"(^|/)bench/", file):
        return "benchmark harness (counting malloc hooks)"
    if OWN_FILE.search(file) or (not base and file.startswith("/usr/include/")):
        return "cmcp's own code"
    return "unattributed (" + (base or file or "?") + ")"


def cg_self_table(rows, total, fed, top=5):
    lines = ["| # | function | Ir per request | share |", "|---|---|---|---|"]
    for i, (ir, file, func, obj) in enumerate(rows[:top], 1):
        lines.append(f"| {i} | {cg_name(file, func, obj)} | "
                     f"{ir / fed:,.0f} | {100.0 * ir / total:.1f}% |")
    return lines


def cg_component_table(rows, total, fed):
    comp = {}
    for ir, file, func, obj in rows:
        k = cg_component(file, func, obj)
        comp[k] = comp.get(k, 0) + ir
    lines = ["| where (self cost) | Ir per request | share |", "|---|---|---|"]
    for k, ir in sorted(comp.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {k} | {ir / fed:,.0f} | {100.0 * ir / total:.1f}% |")
    return lines


STAGES = [
    ("cmcp__rpc_decode", "decode: JSON parse + JSON-RPC checks"),
    ("cmcp__json_parse", "  of which cmcp__json_parse (pre-scan + json-c tokener)"),
    ("cmcp__dispatch", "dispatch: method routing, tools/call, handler, reply"),
    ("cmcp__call_invoke", "  of which cmcp__call_invoke (arguments, schema, handler)"),
    ("cmcp__call_complete", "  of which cmcp__call_complete (build + send the result)"),
    ("cmcp__send_result", "  of which cmcp__send_result (encode + ops->send)"),
    ("cmcp__msg_free", "free the request's JSON tree"),
]


SKIP_OWN = {"cmcp__peer_feed", "cmcp__m_feature_call", "main"}


def cg_stage_table(incl_rows, total, fed, min_share=3.0):
    """The engine's stages, then every other function of cmcp's own code
    that accounts for at least min_share % of the instructions, inclusive."""
    by_func, own = {}, set()
    for ir, file, func, obj in incl_rows:
        if "'" in func:  # a recursion level of another entry
            continue
        by_func[func] = max(by_func.get(func, 0), ir)
        if OWN_FILE.search(file) and not re.search(r"(^|/)bench/", file):
            own.add(func)
    lines = ["| stage or function (inclusive) | Ir per request | share |",
             "|---|---|---|"]
    staged = {f for f, _ in STAGES}
    for func, label in STAGES:
        if func in by_func:
            ir = by_func[func]
            lines.append(f"| {label} | {ir / fed:,.0f} | "
                         f"{100.0 * ir / total:.1f}% |")
    others = sorted((f for f in own if f not in staged and f not in SKIP_OWN
                     and 100.0 * by_func[f] / total >= min_share),
                    key=lambda f: -by_func[f])
    for func in others:
        lines.append(f"| `{func}` | {by_func[func] / fed:,.0f} | "
                     f"{100.0 * by_func[func] / total:.1f}% |")
    return lines


def cg_section(d, era, fed):
    total, rows = cg_parse(read(os.path.join(d, f"cg_engine_{era}_self.txt")))
    itotal, irows = cg_parse(read(os.path.join(d, f"cg_engine_{era}_incl.txt")))
    if total == 0 or fed <= 0:
        return None, []
    out = [f"**{era}** — {total / fed:,.0f} instructions per request "
           f"({total:,} Ir over {fed:,} requests)", ""]
    out += ["Top 5 functions by self cost:", ""]
    out += cg_self_table(rows, total, fed) + [""]
    out += cg_component_table(rows, total, fed) + [""]
    if itotal:
        out += cg_stage_table(irows, itotal, fed) + [""]
    return total / fed, out


# ---- sections -----------------------------------------------------------------

def engine_section(d, meta):
    text = read(os.path.join(d, "engine.txt"))
    rows = {r.get("era"): r for r in results(text, "engine")}
    fed = int(meta.get("CG_FED", "0") or 0)
    cg = {}
    cg_out = []
    if meta.get("HAVE_CG") == "1":
        for era in ("legacy", "modern"):
            ir, lines = cg_section(d, era, fed)
            cg[era] = ir
            cg_out += lines
    out = ["### Engine: `bench_engine`", "",
           "```", meta.get("CMD_ENGINE", "?"), meta.get("CMD_CG_ENGINE", ""),
           "```", "",
           "| era | CPU ns/request (median) | min | spread p10–p90 | "
           "wall ns (median) | instructions/request | allocs/request "
           "(cmcp hooks / all) | bytes allocated/request | target ≤ 2,000 ns |",
           "|---|---|---|---|---|---|---|---|---|"]
    verdicts = []
    for era in ("legacy", "modern"):
        r = rows.get(era)
        if r is None:
            out.append(f"| {era} | failed (see engine.txt) | | | | | | | |")
            continue
        med = num(r, "median_ns")
        ok = med <= ENGINE_TARGET_NS
        verdicts.append((era, med, ok))
        ir = cg.get(era)
        out.append(
            f"| {era} | {fmt_int(med)} | {fmt_int(num(r, 'min_ns'))} | "
            f"{fmt_f(num(r, 'spread_pct'))}% | "
            f"{fmt_int(num(r, 'wall_median_ns'))} | "
            f"{'n/a' if ir is None else f'{ir:,.0f}'} | "
            f"{fmt_f(num(r, 'cmcp_allocs'), 2)} / {fmt_f(num(r, 'all_allocs'), 2)} | "
            f"{fmt_int(num(r, 'all_alloc_bytes'))} | "
            f"{'met' if ok else f'missed ({med / ENGINE_TARGET_NS:.1f}× over)'} |")
    out += ["",
            "CPU ns: this thread's CPU time per request, median of the "
            f"{rows.get('legacy', {}).get('reps', '?')} interleaved "
            "repetitions of "
            f"{rows.get('legacy', {}).get('requests', '?')} requests; wall "
            "ns also counts the time other processes held the core. "
            "Allocations: \"cmcp hooks\" counts what goes through "
            "`cmcp_set_allocator`; \"all\" counts every malloc/calloc/realloc "
            "of the process, json-c's included (json-c has no hooks).", ""]
    for era, med, ok in verdicts:
        if not ok:
            out.append(f"- **Target missed** ({era}): {med:,.0f} ns against "
                       f"≤ {ENGINE_TARGET_NS:,} ns; see the hot spots below.")
    if verdicts:
        out.append("")
    if cg_out:
        out += ["#### Where the instructions go (callgrind)", ""] + cg_out
    return out


def stdio_rows(d, name, runs):
    out = []
    for i in range(1, runs + 1):
        r = results(read(os.path.join(d, f"{name}_{i}.txt")), "stdio")
        out.append(r[0] if r else None)
    return out


def med(xs):
    xs = [x for x in xs if x == x]
    return statistics.median(xs) if xs else float("nan")


def stdio_line(label, rows):
    good = [r for r in rows if r is not None and r.get("complete") == "1"
            and r.get("failures") == "0"]
    rps = [num(r, "rps") for r in good]
    if not good:
        what = "not run" if all(r is None for r in rows) else \
            f"no good run of {len(rows)}"
        return f"| {label} | {what} | | | | | | |", None
    cpu = med([num(r, "server_cpu_us") for r in good])
    return (f"| {label} | {len(good)}/{len(rows)} | {fmt_int(med(rps))} | "
            f"{fmt_int(min(rps))}–{fmt_int(max(rps))} | "
            f"{fmt_f(med([num(r, 'p50_us') for r in good]))} / "
            f"{fmt_f(med([num(r, 'p99_us') for r in good]))} | "
            f"{fmt_f(cpu, 2)} | {fmt_int(1e6 / cpu if cpu > 0 else cpu)} | "
            f"{'met' if med(rps) >= STDIO_TARGET_RPS else 'missed'} |",
            med(rps))


def stdio_section(d, meta):
    runs = int(meta.get("RUNS", "5") or 5)
    legacy = stdio_rows(d, "stdio_cmcpd_legacy", runs)
    modern = stdio_rows(d, "stdio_cmcpd_modern", runs)
    ts = stdio_rows(d, "stdio_ts_legacy", runs)
    out = ["### stdio: `bench_stdio`", "", "```",
           meta.get("CMD_STDIO_LEGACY", "?"),
           meta.get("CMD_STDIO_TS", "?"),
           meta.get("CMD_STDIO_MODERN", "?"), "```", "",
           f"Interleaved: cmcpd legacy, TS, cmcpd modern, {plural(runs, 'round')}. "
           "Each run is a fresh server process: handshake (legacy), 5,000 "
           "warm-up requests, then the measured ones with the window kept "
           "full; every reply's id and text are checked.", "",
           "| server | good runs | round trips/s (median) | min–max | "
           "latency p50 / p99 µs (medians) | server CPU µs/request | "
           "CPU-bound rate/s | target ≥ 200,000/s |",
           "|---|---|---|---|---|---|---|---|"]
    l_line, l_rps = stdio_line("cmcpd --stdio, legacy 2025-11-25", legacy)
    t_line, t_rps = stdio_line(
        f"TypeScript SDK {meta.get('SDK', '?')} (node {meta.get('NODE', '?')}), "
        "legacy", ts)
    m_line, m_rps = stdio_line("cmcpd --stdio, modern 2026-07-28", modern)
    out += [l_line, t_line, m_line, "",
            "Server CPU: user + system time of all the server's threads "
            "during the measured phase (/proc), per request. CPU-bound "
            "rate: 10⁶ / that figure, the rate the server would sustain "
            "with a core to itself (an estimate: this machine's other "
            "work takes the cores away from both client and server).",
            ""]
    out += ratio_lines(legacy, ts, l_rps, t_rps)
    for label, rps in (("legacy", l_rps), ("modern", m_rps)):
        if rps is not None and rps < STDIO_TARGET_RPS:
            out.append(f"- **Target missed** (cmcpd {label}): {rps:,.0f} "
                       f"round trips/s against ≥ {STDIO_TARGET_RPS:,}/s "
                       f"({STDIO_TARGET_RPS / rps:.1f}× short).")
    out.append("")
    out += sweep_lines(d, meta)
    out += cg_stdio_lines(d, meta)
    return out


def sweep_lines(d, meta):
    windows = meta.get("SWEEP_WINDOWS", "").split()
    runs = int(meta.get("SWEEP_RUNS", "0") or 0)
    if not windows or runs <= 0:
        return []
    out = ["#### Window sweep (cmcpd legacy)", "", "```",
           meta.get("CMD_SWEEP", "?") + "    # W = " + ", ".join(windows),
           "```", "",
           f"Windows interleaved, {plural(runs, 'round')}; medians.", "",
           "| window | good runs | round trips/s | latency p50 / p99 µs | "
           "server CPU µs/request | CPU-bound rate/s |",
           "|---|---|---|---|---|---|"]
    for w in windows:
        rows = stdio_rows(d, f"stdio_sweep_w{w}", runs)
        good = [r for r in rows if r is not None and r.get("complete") == "1"
                and r.get("failures") == "0"]
        if not good:
            out.append(f"| {w} | 0/{runs} | | | | |")
            continue
        cpu = med([num(r, "server_cpu_us") for r in good])
        out.append(
            f"| {w} | {len(good)}/{runs} | "
            f"{fmt_int(med([num(r, 'rps') for r in good]))} | "
            f"{fmt_f(med([num(r, 'p50_us') for r in good]))} / "
            f"{fmt_f(med([num(r, 'p99_us') for r in good]))} | "
            f"{fmt_f(cpu, 2)} | {fmt_int(1e6 / cpu if cpu > 0 else cpu)} |")
    out.append("")
    return out


def ratio_lines(legacy, ts, l_rps, t_rps):
    if l_rps is None or t_rps is None:
        return ["Ratio cmcpd/TS: n/a (a side has no good run).", ""]
    paired = [num(a, "rps") / num(b, "rps") for a, b in zip(legacy, ts)
              if a and b and num(b, "rps") > 0]
    cpu = [num(b, "server_cpu_us") / num(a, "server_cpu_us")
           for a, b in zip(legacy, ts) if a and b and num(a, "server_cpu_us") > 0]
    return [f"**Ratio cmcpd / TypeScript SDK (legacy echo):** "
            f"{l_rps / t_rps:.1f}× the round trips/s (ratio of medians; "
            f"median of the per-round ratios {med(paired):.1f}×), and "
            f"{med(cpu):.1f}× less server CPU per request.", ""]


def cg_stdio_lines(d, meta):
    if meta.get("HAVE_CG") != "1":
        return []
    total, rows = cg_parse(read(os.path.join(d, "cg_stdio_self.txt")))
    _, irows = cg_parse(read(os.path.join(d, "cg_stdio_incl.txt")))
    fed = int(meta.get("CG_STDIO_FED", "0") or 0)
    if total == 0 or fed <= 0:
        return ["(callgrind of cmcpd --stdio: no data)", ""]
    feed = max([ir for ir, f, fn, o in irows if fn == "cmcp__peer_feed"],
               default=0)
    out = ["#### cmcpd --stdio under callgrind", "", "```",
           meta.get("CMD_CG_STDIO", "?"), "```", "",
           f"{total / fed:,.0f} user-space instructions per round trip "
           f"(whole process, start-up included, {fed:,} requests); "
           f"{100.0 * feed / total:.1f}% of them inside `cmcp__peer_feed` "
           "(the engine), the rest is the transport, libuv and start-up. "
           "Kernel time (read/write system calls, wake-ups) is not counted "
           "by callgrind.", "", "Top 5 functions by self cost:", ""]
    out += cg_self_table(rows, total, fed) + [""]
    return out


def machine_lines(meta):
    dirty = meta.get("DIRTY", "0").strip()
    tree = "" if dirty in ("", "0") else \
        f" with {dirty} modified files under src/ and tools/"
    return [f"Run of {meta.get('DATE', '?')} at commit `{meta.get('COMMIT', '?')}`"
            f"{tree} by `scripts/bench.sh` ({meta.get('SECONDS_TOTAL', '?')} s).",
            "",
            f"- machine: {meta.get('NPROC', '?')} cores, "
            f"{meta.get('CPU', '?')}, Linux {meta.get('KERNEL', '?')}",
            f"- load average before / after: {meta.get('LOAD_BEFORE', '?')} / "
            f"{meta.get('LOAD_AFTER', '?')} (the machine is shared: wall-clock "
            "figures move with it, CPU time and instruction counts much less)",
            ""]


def render(d):
    meta = load_meta(d)
    lines = [RESULTS_BEGIN, "## Results", ""]
    lines += machine_lines(meta)
    lines += engine_section(d, meta)
    lines += stdio_section(d, meta)
    lines.append(RESULTS_END)
    return "\n".join(lines) + "\n"


def replace_section(doc, section, begin, end):
    """Puts section in place of the text between the markers begin and end
    of doc (both markers included; section carries its own), or appends it
    when the markers are missing."""
    old = read(doc)
    b, e = old.find(begin), old.find(end)
    if b >= 0 and e > b:
        rest = old[e + len(end):].lstrip("\n")
        new = old[:b] + section + ("\n" + rest if rest else "")
    else:
        new = (old.rstrip("\n") + "\n\n" if old else "") + section
    with open(doc, "w", encoding="utf-8") as f:
        f.write(new)


def write_doc(doc, section):
    replace_section(doc, section, RESULTS_BEGIN, RESULTS_END)


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
