# SPDX-License-Identifier: GPL-2.0
"""The world of tests/integration/test_security.py: real unprivileged
users in real tenants, and clients that connect as them.

Users (made here with useradd, removed by the same run, also when a
failed earlier run left them):
    acgsec-a (uid 4242) and acgsec-c (uid 4444): members of tenant "ta"
    acgsec-b (uid 4343): the member of tenant "tb"
    acgsec-op (uid 4545): in group acgsec-ops, the operators' group

A client connects with the user's effective uid, gid and groups (the
daemon reads SO_PEERCRED at connect), so each request is really that
user's. Root clients are plain Client(sock).
"""
import contextlib
import fcntl
import grp
import os
import pwd
import socket
import subprocess
import sys

from rpcclient import Client
from tap import nok, ok, summary

USERS = {"a": ("acgsec-a", 4242), "b": ("acgsec-b", 4343),
         "c": ("acgsec-c", 4444), "op": ("acgsec-op", 4545)}
OPS_GROUP = ("acgsec-ops", 4646)


def _run(*argv):
    return subprocess.run(list(argv), capture_output=True, text=True)


def remove_users():
    for name, _ in USERS.values():
        _run("userdel", "-f", name)
    _run("groupdel", OPS_GROUP[0])


def make_users():
    """Creates the users (removing any a failed run left); returns
    {key: uid}."""
    remove_users()
    r = _run("groupadd", "-g", str(OPS_GROUP[1]), OPS_GROUP[0])
    if r.returncode:
        raise RuntimeError("groupadd: " + r.stderr)
    for key, (name, uid) in USERS.items():
        argv = ["useradd", "-u", str(uid), "-U", "-M", "-d", "/nonexistent", "-s", "/usr/sbin/nologin"]
        if key == "op":
            argv += ["-G", OPS_GROUP[0]]
        r = _run(*argv, name)
        if r.returncode:
            raise RuntimeError("useradd %s: %s" % (name, r.stderr))
    return {k: pwd.getpwnam(n).pw_uid for k, (n, _) in USERS.items()}


# The users have fixed names and uids: two runs at once (two checkouts on
# one machine, or test_security.py and test_metrics.py) take turns under
# this lock instead of removing each other's users.
USERS_LOCK = "/tmp/agentcg-test-security-users.lock"


def _user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@contextlib.contextmanager
def test_users(test_name):
    """The test users for the body of a with: made under USERS_LOCK
    ("ok - made the test users"; if they cannot be made, the test's
    summary and exit), then removed whatever happens, and checked gone."""
    with open(USERS_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            uids = make_users()
            ok("made the test users %s" % sorted(uids.values()))
        except Exception as e:  # noqa: BLE001
            nok("made the test users", e)
            remove_users()
            sys.exit(summary(test_name))
        try:
            yield uids
        finally:
            remove_users()
            left = [n for n, _ in USERS.values() if _user_exists(n)]
            if left:
                nok("removed the test users", left)
            else:
                ok("removed the test users")


@contextlib.contextmanager
def as_user(key):
    """Runs the block with the effective ids of user `key` (then root)."""
    name, _ = USERS[key]
    pw = pwd.getpwnam(name)
    groups = [g.gr_gid for g in grp.getgrall() if name in g.gr_mem]
    old_groups = os.getgroups()
    os.setgroups([pw.pw_gid] + groups)
    os.setegid(pw.pw_gid)
    os.seteuid(pw.pw_uid)
    try:
        yield pw
    finally:
        os.seteuid(0)
        os.setegid(0)
        os.setgroups(old_groups)


def client_as(sock, key):
    """A Client whose peer credentials are user `key`'s."""
    with as_user(key):
        return Client(sock)


def raw_socket_as(sock, key):
    """A bare connected socket of user `key` (for floods)."""
    with as_user(key):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock)
        return s


# The keys of the security model (operators, tenant members) are in the
# configuration once the daemon knows them.
SECURITY_MODEL = True


def base_config(cfg):
    """The security tests' configuration on top of the tests' one: tenant
    ta (users a and c), tenant tb (user b), the operators' group."""
    cfg = dict(cfg)
    cfg["tenants"] = {
        "ta": {"memory_max": "2G", "cpu": 0, "pids": 1024},
        "tb": {"memory_max": "2G", "cpu": 0, "pids": 1024},
    }
    if SECURITY_MODEL:
        cfg["operators"] = {"groups": [OPS_GROUP[0]]}
        cfg["tenants"]["ta"]["users"] = [USERS["a"][0], USERS["c"][0]]
        cfg["tenants"]["tb"]["users"] = [USERS["b"][0]]
    return cfg
