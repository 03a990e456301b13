# SPDX-License-Identifier: GPL-2.0
"""The JSON-RPC errors of agentcgd as exceptions: AgentcgError carries the
error's code, message and data; a subclass per code the daemon names."""


class AgentcgError(Exception):
    """A JSON-RPC error reply: .code (int, or None for a broken connection
    or reply), .message (str), .data (the error's data, or None)."""

    code = None

    def __init__(self, message, code=None, data=None):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.data = data

    def __str__(self):
        s = "%s (%s)" % (self.message, self.code) if self.code is not None else self.message
        return s + (": %r" % (self.data,) if self.data else "")


class ProtocolError(AgentcgError):
    """The connection closed, or a reply was not JSON-RPC (or too long)."""


class ParseError(AgentcgError):
    code = -32700


class InvalidRequest(AgentcgError):
    code = -32600


class MethodNotFound(AgentcgError):
    code = -32601


class InvalidParams(AgentcgError):
    """data: {"field": "message", ...}, one per bad field."""
    code = -32602


class NotFound(AgentcgError):
    code = -32001


class AdmissionRefused(AgentcgError):
    """The intent does not fit the remaining budget (data: level, path,
    resource, requested, remaining, budget)."""
    code = -32002


class Frozen(AgentcgError):
    code = -32003


class SpawnFailed(AgentcgError):
    code = -32004


class PermissionDenied(AgentcgError):
    """Also a per-uid quota reached (data: limit, max)."""
    code = -32005


class Busy(AgentcgError):
    """Exists or busy (e.g. the session already exists)."""
    code = -32006


class ShuttingDown(AgentcgError):
    code = -32007


class DaemonSystemError(AgentcgError):
    """A cgroup operation failed in the daemon (data: errno, message)."""
    code = -32008


class InterpreterDied(AgentcgError):
    """The session's interpreter died; Session.reset() restarts it."""
    code = -32009


class NoInterpreter(AgentcgError):
    """The session was created without lang."""
    code = -32010


_BY_CODE = {c.code: c for c in (ParseError, InvalidRequest, MethodNotFound, InvalidParams,
                                NotFound, AdmissionRefused, Frozen, SpawnFailed,
                                PermissionDenied, Busy, ShuttingDown, DaemonSystemError,
                                InterpreterDied, NoInterpreter)}


def from_reply(error):
    """The exception for a reply's "error" object."""
    if not isinstance(error, dict):
        return ProtocolError("malformed error reply: %r" % (error,))
    code = error.get("code")
    cls = _BY_CODE.get(code, AgentcgError)
    return cls(str(error.get("message", "")), code, error.get("data"))
