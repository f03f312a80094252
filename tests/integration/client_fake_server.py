#!/usr/bin/env python3
"""A small misbehaving MCP server on stdio for the client's tests
(tests/unit/test_client_stdio.c). python3 stdlib only.

    client_fake_server.py MODE

Reads newline-delimited JSON-RPC from stdin and answers according to MODE
(see MODES below). server/discover is answered as a 2026-07-28 server unless
the mode is a legacy one; every request seen is appended to the list that
the tool "seen" returns, so a test can check what the client sent.
"""
import json
import os
import signal
import sys
import time

MODERN = "2026-07-28"
seen = []


def send(obj):
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def send_raw(text):
    sys.stdout.write(text)
    sys.stdout.flush()


def result(mid, res):
    send({"jsonrpc": "2.0", "id": mid, "result": res})


def error(mid, code, message, data=None):
    err = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    send({"jsonrpc": "2.0", "id": mid, "error": err})


def discover_result():
    return {"resultType": "complete", "ttlMs": 0, "cacheScope": "private",
            "supportedVersions": [MODERN], "capabilities": {"tools": {}},
            "_meta": {"io.modelcontextprotocol/serverInfo":
                      {"name": "fake", "version": "1"}}}


def text(t):
    return {"resultType": "complete", "content": [{"type": "text", "text": t}]}


STATE = 's t\u00e9"x {"not":"json"} '
state_only_calls = 0
discovers = 0
pages = {None: ("p2", ["a", "b"]), "p2": ("p3", ["c", "d"]), "p3": (None, ["e"])}
list_calls = 0


def tools_call(mode, mid, params):
    global state_only_calls
    name = params.get("name")
    ir = params.get("inputResponses")
    st = params.get("requestState")
    if name == "seen":
        result(mid, text(json.dumps(seen)))
    elif name == "echo_state":
        if ir is None:
            result(mid, {"resultType": "input_required", "requestState": STATE,
                         "inputRequests": {"confirm": {
                             "method": "elicitation/create",
                             "params": {"message": "Confirm?",
                                        "requestedSchema": {
                                            "type": "object",
                                            "properties": {
                                                "ok": {"type": "boolean"}}}}}}})
        else:
            ok = st == STATE and "confirm" in ir
            result(mid, text("state-ok" if ok else "state-bad:%r" % (st,)))
    elif name == "no_state":
        if ir is None:
            result(mid, {"resultType": "input_required", "inputRequests": {
                "r": {"method": "roots/list"}}})
        else:
            result(mid, text("no-state-ok" if "requestState" not in params
                             else "state-present"))
    elif name == "state_only":
        state_only_calls += 1
        if state_only_calls == 1:
            result(mid, {"resultType": "input_required", "requestState": "only"})
        else:
            result(mid, text("state-only-ok" if st == "only" and ir is None
                             else "state-only-bad"))
    elif name == "no_type":
        result(mid, {"content": [{"type": "text", "text": "no-type-ok"}]})
    elif name == "bad_type":
        result(mid, {"resultType": "weird"})
    elif name == "forever":
        result(mid, {"resultType": "input_required", "requestState": "again"})
    elif name == "ask_sampling":
        result(mid, {"resultType": "input_required", "inputRequests": {
            "s": {"method": "sampling/createMessage",
                  "params": {"messages": [], "maxTokens": 5}}}})
    else:
        result(mid, text("called " + str(name)))


def handle(mode, msg):
    global discovers, list_calls
    method = msg.get("method")
    mid = msg.get("id")
    params = msg.get("params") or {}
    if method is not None:
        seen.append({"method": method, "id": mid, "params": params})
    else:
        seen.append({"response": msg})
    if mid is None:
        return  # a notification
    if method is None:
        return  # a response to one of our requests
    if method == "server/discover":
        discovers += 1
        if mode in ("legacy", "request_from_server"):
            error(mid, -32601, "Method not found")
        elif mode == "silent_legacy":
            pass
        elif mode == "v32022_legacy":
            error(mid, -32022, "Unsupported protocol version",
                  {"supported": ["2025-11-25"], "requested": MODERN})
        elif mode == "v32022_modern" and discovers == 1:
            error(mid, -32022, "Unsupported protocol version",
                  {"supported": [MODERN], "requested": MODERN})
        elif mode == "v32022_none":
            error(mid, -32022, "Unsupported protocol version",
                  {"supported": ["1999-01-01"], "requested": MODERN})
        elif mode == "discover_garbage":
            send_raw("{\"jsonrpc\":\"2.0\",\"id\":%d,\"res\n" % mid)
        else:
            result(mid, discover_result())
            if mode == "modern_request":
                send({"jsonrpc": "2.0", "id": "m1", "method": "ping"})
        return
    if method == "initialize":
        if mode == "init_unknown_version":
            result(mid, {"protocolVersion": "1999-01-01", "capabilities": {},
                         "serverInfo": {"name": "fake", "version": "1"}})
            return
        result(mid, {"protocolVersion": "2025-11-25",
                     "capabilities": {"tools": {"listChanged": True}},
                     "serverInfo": {"name": "fake-legacy", "version": "1"},
                     "instructions": "be nice"})
        if mode == "request_from_server":
            send({"jsonrpc": "2.0", "id": "p1", "method": "ping"})
            send({"jsonrpc": "2.0", "id": "u1", "method": "no/such"})
            send({"jsonrpc": "2.0", "id": 7, "method": "sampling/createMessage",
                  "params": {"messages": [], "maxTokens": 1}})
            send({"jsonrpc": "2.0", "id": "bad", "method": 5})
        return
    if mode == "hang" and method != "tools/list":
        return
    if mode == "exit":
        sys.exit(3)
    if mode == "bad_result":
        send_raw("{\"jsonrpc\":\"2.0\",\"id\":%d,\"result\":5}\n" % mid)
        return
    if mode == "truncated":
        send_raw("{\"jsonrpc\":\"2.0\",\"id\":%d,\"result\":{\"tools\n" % mid)
        return
    if mode == "unknown_id":
        result(mid + 1000, text("stray"))
        send({"jsonrpc": "2.0", "id": "string-id", "result": {}})
        send({"jsonrpc": "2.0", "error": {"code": -32600, "message": "no id"}})
    if mode == "nonjson":
        send_raw("hello, this is not JSON\n\n   \n")
    if mode == "huge":
        send_raw("{\"jsonrpc\":\"2.0\",\"id\":%d,\"result\":{\"x\":\"" % mid)
        chunk = "y" * 65536
        for _ in range(100):  # 6.5 MB, more than the client's limit
            send_raw(chunk)
        send_raw("\"}}\n")
        return
    if method == "tools/list":
        list_calls += 1
        cursor = params.get("cursor")
        nxt, names = pages.get(cursor, (None, []))
        res = {"resultType": "complete", "ttlMs": 60000 if mode == "cache" else 0,
               "cacheScope": "private",
               "tools": [{"name": n, "inputSchema": {"type": "object"}}
                         for n in names]}
        if nxt and mode != "cache":
            res["nextCursor"] = nxt
        if mode == "cache":
            res["tools"].append({"name": "count%d" % list_calls,
                                 "inputSchema": {"type": "object"}})
        result(mid, res)
        if mode == "cache" and list_calls == 2:
            send({"jsonrpc": "2.0",
                  "method": "notifications/tools/list_changed"})
        return
    if method == "tools/call":
        tools_call(mode, mid, params)
        return
    if method == "ping":
        result(mid, {})
        return
    error(mid, -32601, "Method not found")


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "normal"
    if mode == "ignore_term":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        handle(mode, msg)
    if mode in ("ignore_eof", "ignore_term"):
        while True:  # keeps running after EOF: the client must signal
            time.sleep(0.05)


if __name__ == "__main__":
    main()
