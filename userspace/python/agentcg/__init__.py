# SPDX-License-Identifier: GPL-2.0
"""agentcg: a stdlib-only Python client of agentcgd (JSON-RPC 2.0 over a
unix socket). Not thread-safe: one Client per thread.

    import agentcg
    with agentcg.Client() as c:
        r = c.run("make -j8", memory="512M", cpu=2, timeout="10m")
        if not r.ok:
            print(r.summary)
"""
from .client import DEFAULT_SOCKET, MAX_LINE, Client, Result, Session, default_session
from .errors import (AdmissionRefused, AgentcgError, Busy, DaemonSystemError, Frozen,
                     InterpreterDied, InvalidParams, InvalidRequest, MethodNotFound,
                     NoInterpreter, NotFound, ParseError, PermissionDenied, ProtocolError,
                     ShuttingDown, SpawnFailed)

__version__ = "0.1.0"  # ACD_VERSION of userspace/daemon/daemon.h

__all__ = ["Client", "Session", "Result", "AgentcgError", "ProtocolError", "ParseError",
           "InvalidRequest", "MethodNotFound", "InvalidParams", "NotFound",
           "AdmissionRefused", "Frozen", "SpawnFailed", "PermissionDenied", "Busy",
           "ShuttingDown", "DaemonSystemError", "InterpreterDied", "NoInterpreter",
           "DEFAULT_SOCKET", "MAX_LINE", "default_session", "__version__"]
