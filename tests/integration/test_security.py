#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The tenant boundary against a real daemon, as real unprivileged users
(tests/integration/secenv.py): every attack of issue 13 must fail with a
clear error, leave the victim's processes, session and data untouched,
and leave the daemon answering root.

The attacks are in sections, tests/integration/sec_*.py, run in name
order; each has run(env) and starts the daemons it needs with
env.daemon(cfg, name). The users are made first and removed at the end,
whatever happened.

Usage: python3 tests/integration/test_security.py BUILD_DIR   (as root)
Prints TAP-style lines and "# N passed, N failed (test_security.py)".
"""
import glob
import importlib
import json
import os
import sys
import traceback

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import secenv  # noqa: E402
from rpcclient import daemon  # noqa: E402
from tap import nok, summary  # noqa: E402


class Env:
    def __init__(self, uids):
        self.build = BUILD
        self.agentcgd = os.path.join(BUILD, "agentcgd")
        self.agentcg = os.path.join(BUILD, "agentcg")
        self.uids = uids  # {"a": 4242, "b": 4343, "c": 4444, "op": 4545}

    def config(self):
        """A fresh copy of the base configuration (a dict to change)."""
        cfg = json.load(open(os.path.join(HERE, "agentcgd-test.json")))
        return secenv.base_config(cfg)

    def daemon(self, cfg, name):
        """A throw-away daemon on cfg: a context of (socket, pid)."""
        os.umask(0o022)
        return daemon(self.agentcgd, cfg, name)


def main():
    if os.geteuid() != 0:
        print("test_security.py needs root (it makes users)")
        sys.exit(1)
    with secenv.test_users("test_security.py") as uids:
        env = Env(uids)
        only = os.environ.get("AGENTCG_SEC_ONLY", "").split()  # e.g. "sec_runner"
        for f in sorted(glob.glob(os.path.join(HERE, "sec_*.py"))):
            name = os.path.basename(f)[:-3]
            if only and name not in only:
                continue
            print("# section " + name, flush=True)
            try:
                importlib.import_module(name).run(env)
            except Exception:  # noqa: BLE001
                nok("section %s ran to its end" % name, traceback.format_exc()[-1500:])
    sys.exit(summary("test_security.py"))


if __name__ == "__main__":
    main()
