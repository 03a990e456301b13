# SPDX-License-Identifier: GPL-2.0
"""A PEP 517 build backend of its own for the agentcg package, stdlib only:
the package is a few pure-Python files, and this way `pip install
userspace/python` needs nothing from the network (setuptools alone cannot
build a wheel without the separate `wheel` package, which offline hosts
and plain venvs often lack). Builds a pure wheel and an sdist."""
import base64
import hashlib
import io
import os
import tarfile
import zipfile

NAME = "agentcg"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _version():
    # the single place: pyproject.toml's version = "..."
    for line in open(os.path.join(HERE, "pyproject.toml")):
        if line.startswith("version"):
            return line.split("=", 1)[1].strip().strip('"')
    raise RuntimeError("no version in pyproject.toml")


def _metadata():
    return ("Metadata-Version: 2.1\nName: %s\nVersion: %s\n"
            "Summary: Python client of agentcgd (cgroups + eBPF resource control of AI agents' tool calls)\n"
            "License: GPL-2.0\nRequires-Python: >=3.9\n" % (NAME, _version()))


def _sources():
    pkg = os.path.join(HERE, NAME)
    return sorted(os.path.join(NAME, f) for f in os.listdir(pkg) if f.endswith(".py"))


def get_requires_for_build_wheel(config_settings=None):
    return []


get_requires_for_build_sdist = get_requires_for_build_wheel
get_requires_for_build_editable = get_requires_for_build_wheel


def _wheel(wheel_directory, files):
    dist = "%s-%s" % (NAME, _version())
    info = dist + ".dist-info"
    entries = list(files) + [
        (info + "/METADATA", _metadata().encode()),
        (info + "/WHEEL", b"Wheel-Version: 1.0\nGenerator: agentcg_build\n"
                          b"Root-Is-Purelib: true\nTag: py3-none-any\n"),
        (info + "/top_level.txt", (NAME + "\n").encode())]
    record = []
    name = dist + "-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as z:
        for arc, data in entries:
            z.writestr(arc, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append("%s,sha256=%s,%d" % (arc, digest.decode(), len(data)))
        record.append(info + "/RECORD,,")
        z.writestr(info + "/RECORD", "\n".join(record) + "\n")
    return name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, [(f, open(os.path.join(HERE, f), "rb").read())
                                    for f in _sources()])


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    # a .pth file that puts this directory on sys.path
    return _wheel(wheel_directory, [(NAME + ".pth", (HERE + "\n").encode())])


def build_sdist(sdist_directory, config_settings=None):
    dist = "%s-%s" % (NAME, _version())
    name = dist + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as t:
        for f in ["pyproject.toml", "README.md", "build_backend/agentcg_build.py"] + _sources():
            t.add(os.path.join(HERE, f), arcname=dist + "/" + f)
        data = _metadata().encode()
        ti = tarfile.TarInfo(dist + "/PKG-INFO")
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    return name
