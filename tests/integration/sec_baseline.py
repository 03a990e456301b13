# SPDX-License-Identifier: GPL-2.0
"""The harness itself: a user's client is that user to the daemon, and a
member's ordinary work runs (so a refusal elsewhere means a boundary,
not a broken setup)."""
from rpcclient import Client, check, err, res
from secenv import client_as


def run(env):
    with env.daemon(env.config(), "sec-base") as (sock, _pid):
        a = client_as(sock, "a")
        r = a.call("call.run", path="/ta/base", argv=["id", "-u"])
        check("a member's call runs as that user (uid %d)" % env.uids["a"],
              res(r).get("stdout", "").strip() == str(env.uids["a"]), r)
        root = Client(sock)
        r = root.call("cg.list", path="/", recursive=True)
        check("root lists the tree", "result" in r, err(r))
        a.close()
        root.close()
