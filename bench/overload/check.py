#!/usr/bin/env python3
"""bench/overload/check.py PORT: sends one of each request the overload
profiles send (2025-11-25 session: initialize, notifications/initialized,
tools/call echo, resources/list, resources/read bench://blob/512,
prompts/get echo, DELETE) to the server on 127.0.0.1:PORT/mcp and checks
each answer. Prints one line per request; exits 0 if all were right, 1 if
not. Used by scripts/bench-overload.sh before and after the load, on cmcpd
and on bench/overload/ts-server.mjs alike. Python 3 standard library only.
"""
import http.client
import json
import sys

VERSION = "2025-11-25"
PAYLOAD = "p" * 100


def post(conn, sid, msg):
    """POSTs msg; returns (status, headers dict, parsed JSON body or None).
    An SSE answer yields its first event with data (cmcpd primes a
    2025-11-25 stream with an empty event first)."""
    headers = {"Content-Type": "application/json",
               "Accept": "application/json, text/event-stream",
               "MCP-Protocol-Version": VERSION}
    if sid:
        headers["Mcp-Session-Id"] = sid
    conn.request("POST", "/mcp", json.dumps(msg), headers)
    r = conn.getresponse()
    body = r.read().decode("utf-8", "replace")
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    if "text/event-stream" in hdrs.get("content-type", ""):
        data = [ln[5:].strip() for ln in body.splitlines()
                if ln.startswith("data:") and ln[5:].strip()]
        body = data[0] if data else ""
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    return r.status, hdrs, parsed


def expect(name, ok, detail):
    print(f"check: {name}: {'ok' if ok else 'WRONG ' + detail[:300]}")
    return ok


def run(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    st, h, init = post(conn, None, {
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": VERSION, "capabilities": {},
                   "clientInfo": {"name": "check", "version": "1"}}})
    sid = h.get("mcp-session-id")
    good = expect("initialize", st == 200 and sid and init and
                  "result" in init, f"{st} {init}")
    if not good:
        return False
    st, _, _ = post(conn, sid, {"jsonrpc": "2.0",
                                "method": "notifications/initialized"})
    good &= expect("notifications/initialized", st == 202, str(st))
    calls = [
        ("tools/call echo", "tools/call",
         {"name": "echo", "arguments": {"text": PAYLOAD}},
         lambda r: r["content"][0]["text"] == PAYLOAD),
        ("resources/list", "resources/list", {},
         lambda r: sorted(x["uri"] for x in r["resources"]) == sorted(
             f"bench://{n}" for n in (128, 512, 1024, 2048, 4096))),
        ("resources/read bench://blob/512", "resources/read",
         {"uri": "bench://blob/512"},
         lambda r: len(r["contents"][0]["text"]) == 512),
        ("resources/read bench://2048", "resources/read",
         {"uri": "bench://2048"},
         lambda r: len(r["contents"][0]["text"]) == 2048),
        ("prompts/get echo", "prompts/get",
         {"name": "echo", "arguments": {"text": PAYLOAD}},
         lambda r: r["messages"][0]["content"]["text"] == PAYLOAD),
    ]
    for i, (name, method, params, test) in enumerate(calls, start=2):
        st, _, resp = post(conn, sid, {"jsonrpc": "2.0", "id": i,
                                       "method": method, "params": params})
        try:
            ok = st == 200 and test(resp["result"])
        except (KeyError, IndexError, TypeError):
            ok = False
        good &= expect(name, ok, f"{st} {resp}")
    conn.request("DELETE", "/mcp", headers={"Mcp-Session-Id": sid,
                                            "MCP-Protocol-Version": VERSION})
    r = conn.getresponse()
    r.read()
    good &= expect("DELETE", r.status in (200, 202, 204), str(r.status))
    conn.close()
    return good


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: check.py PORT\n")
        return 2
    try:
        return 0 if run(int(argv[1])) else 1
    except (OSError, http.client.HTTPException) as e:
        print(f"check: WRONG: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
