#!/usr/bin/env python3
"""Writes the generated part of the seed corpus (tests/fuzz/corpus/):

  rpc/    every request the integration tests send with literal params
          (their rpcclient .call("method", key=value...) calls, read from
          the tests' source), the raw lines they send, and what the CLI
          sends for the README's commands (recorded on a socket that
          answers each line with an error);
  intent/ the intents of those requests;
  config/ the shipped configuration and the tests' one.

Seeds written by hand and regression inputs (regress-*) are not touched.

  python3 tests/fuzz/seeds.py BUILD     (BUILD holds the agentcg CLI)
"""
import ast
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")

# The README's commands (section "Using it"), as the CLI sends them.
CLI = [
    ["run", "/default/s1", "--mem", "256M", "--cpu", "0.5", "--pids", "32", "--timeout", "10s",
     "--", "pytest", "-x"],
    ["run", "/default/s1", "--json", "--mem", "256M", "--", "make", "-j8"],
    ["ls", "-R", "/"],
    ["stat", "/default/s1/call-3"],
    ["cat", "/default/s1/call-3/memory.peak"],
    ["set", "/default/s1", "memory.max", "2G"],
    ["freeze", "/default/s1/call-3"],
    ["thaw", "/default/s1/call-3"],
    ["kill", "/default/s1/call-3"],
    ["top"],
    ["session", "create", "/default/s2", "--mem-max", "1G", "--priority", "high"],
    ["session", "close", "/default/s2"],
    ["metrics"],
]


def write(sub, name, data):
    d = os.path.join(CORPUS, sub)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name + "-" + hashlib.sha1(data).hexdigest()[:12]), "wb") as f:
        f.write(data)


def line(method, params, rid=1):
    msg = {"jsonrpc": "2.0", "id": rid, "method": method}
    if params:
        msg["params"] = params
    return json.dumps(msg) + "\n"


def from_tests():
    """(method, params) of every .call("m", k=literal...) in the tests, and
    the byte strings passed to send_raw."""
    calls, raws = [], []
    tdir = os.path.join(ROOT, "tests", "integration")
    for fn in sorted(os.listdir(tdir)):
        if not fn.endswith(".py"):
            continue
        tree = ast.parse(open(os.path.join(tdir, fn)).read())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            try:
                if node.func.attr == "call" and node.args:
                    method = ast.literal_eval(node.args[0])
                    params = {k.arg: ast.literal_eval(k.value) for k in node.keywords
                              if k.arg not in ("timeout",)}
                    if isinstance(method, str) and all(k.arg for k in node.keywords):
                        calls.append((method, params))
                elif node.func.attr == "send_raw" and node.args:
                    v = ast.literal_eval(node.args[0])
                    if isinstance(v, bytes) and len(v) < 4096:
                        raws.append(v)
            except (ValueError, TypeError, SyntaxError):
                pass  # params with variables
    return calls, raws


def record_cli(build):
    """What the CLI sends for each README command."""
    out = []
    cli = os.path.abspath(os.path.join(build, "agentcg"))
    if not os.access(cli, os.X_OK):
        print("seeds: no %s: CLI requests left out" % cli, file=sys.stderr)
        return out
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "sock")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(8)

        def serve(got):
            c, _ = srv.accept()
            buf = b""
            c.settimeout(2)
            try:
                while True:
                    data = c.recv(65536)
                    if not data:
                        break
                    buf += data
                    while b"\n" in buf:
                        ln, buf = buf.split(b"\n", 1)
                        got.append(ln + b"\n")
                        rid = json.loads(ln).get("id")
                        c.sendall(json.dumps({"jsonrpc": "2.0", "id": rid, "error": {
                            "code": -32001, "message": "recorded"}}).encode() + b"\n")
            except (OSError, ValueError):
                pass
            c.close()

        for argv in CLI:
            got = []
            t = threading.Thread(target=serve, args=(got,))
            t.start()
            # a small, fixed environment: the CLI sends its environment
            subprocess.run([cli] + argv, cwd="/tmp", env={
                "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/root", "LANG": "C.UTF-8",
                "AGENTCG_SOCKET": path},
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=10)
            t.join(5)
            if got:
                out.append((argv, b"".join(got)))
        srv.close()
    return out


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    calls, raws = from_tests()
    seen = set()
    for method, params in calls:
        text = line(method, params)
        if text in seen:
            continue
        seen.add(text)
        write("rpc", "test", text)
        intent = params.get("intent")
        if intent is not None:
            write("intent", "test", json.dumps(intent))
    for raw in raws:
        write("rpc", "raw", raw)
    for argv, sent in record_cli(build):
        write("rpc", "cli-" + argv[0], sent)
    # one input with every request of the tests: sessions made, then used
    write("rpc", "all", "".join(line(m, p, i) for i, (m, p) in enumerate(calls)))
    for cfg in ("config/agentcgd.json", "tests/integration/agentcgd-test.json"):
        write("config", os.path.basename(cfg).replace(".json", ""),
              open(os.path.join(ROOT, cfg), "rb").read())
    print("seeds: %d requests from the tests, %d raw lines, corpus in %s" %
          (len(seen), len(raws), CORPUS))


if __name__ == "__main__":
    main()
