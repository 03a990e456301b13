# SPDX-License-Identifier: GPL-2.0
"""A socket another user serves where a client looks for agentcgd's (one
made in a sticky /tmp while the daemon was down): run as that user,
usually as `python3 -c "$(cat fake_socket.py)" PATH` (the user need not
reach this file). Listens at PATH, prints "ready", takes one
connection, prints "got N": the bytes the client sent within 2 s."""
import os
import socket
import sys

s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(4)
os.write(1, b"ready\n")
s.settimeout(120)
c, _ = s.accept()
c.settimeout(2)
try:
    got = c.recv(65536)
except OSError:
    got = b""
os.write(1, b"got %d\n" % len(got))
