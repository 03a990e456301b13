#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make install and make deb, checked on this host without touching it:
# installs go to temporary DESTDIRs and PREFIXes, the .deb is read with
# dpkg-deb, the units are checked by systemd-analyze verify. (Installing
# the .deb and running the units under a real systemd is vmtests/'s job.)
#
#   bash tests/check_package.sh [BUILD]
# Prints "ok - ..."/"not ok - ..." lines and "package: N passed, N failed".
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 1
pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
nok() { echo "not ok - $1${2:+ ($2)}"; fail=$((fail + 1)); }
check() { local d=$1; shift; if "$@" >/dev/null 2>&1; then ok "$d"; else nok "$d"; fi; }
T=$(mktemp -d /tmp/agentcg-package.XXXXXX)
trap 'rm -rf "$T"' EXIT
VERSION=$(sed -n 's/^#define ACD_VERSION "\(.*\)"/\1/p' userspace/daemon/daemon.h)

# ---- make install PREFIX=/usr DESTDIR=... ------------------------------------
D=$T/dest
out=$(make --no-print-directory -s install BUILD="$BUILD" PREFIX=/usr DESTDIR="$D" 2>&1)
check "make install PREFIX=/usr DESTDIR= succeeds" test $? -eq 0
for f in usr/sbin/agentcgd usr/bin/agentcg usr/bin/agentcg-sh; do
	check "... $f is installed, executable" test -x "$D/$f"
done
check "... usr/lib/agentcg/bash links to /usr/bin/agentcg-sh" \
	test "$(readlink "$D/usr/lib/agentcg/bash")" = /usr/bin/agentcg-sh
for f in usr/lib/systemd/system/agentcgd.service usr/lib/systemd/system/agentcgd.socket; do
	check "... $f is installed, 0644" test "$(stat -c %a "$D/$f" 2>/dev/null)" = 644
done
check "... etc/agentcg/agentcgd.json is installed, 0640 (it names tenants and members)" \
	test "$(stat -c %a "$D/etc/agentcg/agentcgd.json" 2>/dev/null)" = 640
check "... the service starts /usr/sbin/agentcgd on /etc/agentcg/agentcgd.json" \
	grep -qx 'ExecStart=/usr/sbin/agentcgd --config /etc/agentcg/agentcgd.json' \
	"$D/usr/lib/systemd/system/agentcgd.service"
ops=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["operators"]["groups"])' \
	"$D/etc/agentcg/agentcgd.json" 2>&1)
if [ "$ops" = "['agentcg']" ]; then ok "... the configuration names the group agentcg as operators"
else nok "... the configuration names the group agentcg as operators" "$ops"; fi
n_man=$(ls config/man/*.[0-9] 2>/dev/null | wc -l)
n_inst=$(find "$D/usr/share/man" -type f 2>/dev/null | wc -l)
if [ "$n_inst" -eq "$n_man" ]; then ok "... its $n_man man pages"
else nok "... its $n_man man pages" "$n_inst installed"; fi

# The installed daemon reads the installed configuration.
if "$D/usr/sbin/agentcgd" --config "$D/etc/agentcg/agentcgd.json" --check-config >"$T/cc" 2>&1; then
	ok "agentcgd --check-config accepts the installed configuration"
else
	nok "agentcgd --check-config accepts the installed configuration" "$(head -c 500 "$T/cc")"
fi

# An operator's configuration is never overwritten.
echo '{ "socket_mode": "0660" }' >"$D/etc/agentcg/agentcgd.json"
make --no-print-directory -s install BUILD="$BUILD" PREFIX=/usr DESTDIR="$D" >"$T/out2" 2>&1
check "a second make install keeps the operator's configuration" \
	grep -qx '{ "socket_mode": "0660" }' "$D/etc/agentcg/agentcgd.json"
check "... puts the shipped default next to it" test -s "$D/etc/agentcg/agentcgd.json.default"
check "... and says so" grep -q "kept your .*agentcgd.json" "$T/out2"

# ---- another PREFIX: the units point there; systemd-analyze verify ----------
P=$T/prefix
PREFIX=$P bash config/install.sh "$BUILD" >/dev/null 2>&1
check "PREFIX=$P: the configuration goes to PREFIX/etc/agentcg" test -f "$P/etc/agentcg/agentcgd.json"
check "... the service starts PREFIX/sbin/agentcgd on it" \
	grep -qx "ExecStart=$P/sbin/agentcgd --config $P/etc/agentcg/agentcgd.json" \
	"$P/lib/systemd/system/agentcgd.service"
v=$(systemd-analyze verify --man=no "$P/lib/systemd/system/agentcgd.socket" \
	"$P/lib/systemd/system/agentcgd.service" 2>&1)
if [ $? -eq 0 ] && [ -z "$v" ]; then ok "systemd-analyze verify: the units load without a complaint"
else nok "systemd-analyze verify: the units load without a complaint" "$v"; fi
# ... and it would complain (the check can fail).
sed 's/^Type=notify/Type=notifyy/' "$P/lib/systemd/system/agentcgd.service" >"$T/bad.service"
v=$(systemd-analyze verify --man=no "$P/lib/systemd/system/agentcgd.socket" "$T/bad.service" 2>&1)
check "... and it does complain about a broken unit" test -n "$v"

out=$(PREFIX=usr bash config/install.sh "$BUILD" 2>&1)
if [ $? -ne 0 ] && [[ $out == *"PREFIX must be an absolute path"* ]]; then
	ok "a relative PREFIX is refused with a clear error"
else nok "a relative PREFIX is refused with a clear error" "$out"; fi

# ---- make deb ------------------------------------------------------------
out=$(make --no-print-directory -s deb BUILD="$BUILD" 2>&1)
DEB=$BUILD/agentcg_${VERSION}_$(dpkg --print-architecture).deb
check "make deb builds $DEB" test -s "$DEB"
ctl=$(dpkg-deb -f "$DEB" 2>&1)
for f in "Package: agentcg" "Version: $VERSION"; do
	check "... control: $f" grep -qx "$f" <<<"$ctl"
done
deps=$(dpkg-deb -f "$DEB" Depends)
for p in libjansson4 libbpf1 libsystemd0 python3 libc6; do
	check "... Depends names $p" grep -qw "$p" <<<"$deps"
done
check "... /etc/agentcg/agentcgd.json is a conffile" \
	bash -c "dpkg-deb --ctrl-tarfile '$DEB' | tar -xO ./conffiles | grep -qx /etc/agentcg/agentcgd.json"
files=$(dpkg-deb -c "$DEB" | awk '{print $6}')
for f in ./usr/sbin/agentcgd ./usr/bin/agentcg ./usr/bin/agentcg-sh \
	./usr/lib/systemd/system/agentcgd.service ./usr/lib/systemd/system/agentcgd.socket \
	./etc/agentcg/agentcgd.json ./usr/share/man/man1/agentcg-sh.1.gz; do
	check "... ships $f" grep -qx "$f" <<<"$files"
done
links=$(dpkg-deb -c "$DEB" | awk '$1 ~ /^l/ {print $6, $8}')
for sh in bash sh; do
	check "... ships /usr/lib/agentcg/$sh, a link to /usr/bin/agentcg-sh" \
		grep -qx "./usr/lib/agentcg/$sh /usr/bin/agentcg-sh" <<<"$links"
done
check "... and nothing else in /usr/lib/agentcg (it goes first in an agent's PATH)" \
	test "$(grep -c '^\./usr/lib/agentcg/.' <<<"$files")" = 2
pyv=$(sed -n 's/^version = "\(.*\)"/\1/p' userspace/python/pyproject.toml)
pyi=$(sed -n 's/^__version__ = "\([^"]*\)".*/\1/p' userspace/python/agentcg/__init__.py)
if [ "$pyv" = "$VERSION" ] && [ "$pyi" = "$VERSION" ]; then ok "the Python client's version is ACD_VERSION ($VERSION)"
else nok "the Python client's version is ACD_VERSION ($VERSION)" "pyproject.toml $pyv, __init__.py $pyi"; fi
for f in __init__.py client.py errors.py; do
	check "... ships the Python client's agentcg/$f" grep -qx "./usr/lib/python3/dist-packages/agentcg/$f" <<<"$files"
done
mkdir -p "$T/x"
dpkg-deb -x "$DEB" "$T/x"
v=$(cd /tmp && PYTHONPATH=$T/x/usr/lib/python3/dist-packages python3 -B -c \
	'import agentcg; print(agentcg.__version__, agentcg.Client.__name__)' 2>&1)
if [ "$v" = "$VERSION Client" ]; then ok "... and python3 imports agentcg from there (version $VERSION)"
else nok "... and python3 imports agentcg from there (version $VERSION)" "$v"; fi
check "... every file is root's" test -z "$(dpkg-deb -c "$DEB" | awk '$2 != "root/root"')"
mkdir -p "$T/ctl"
dpkg-deb -e "$DEB" "$T/ctl"
for s in postinst prerm postrm; do
	check "... its $s is executable and parses (sh -n)" bash -c "test -x '$T/ctl/$s' && sh -n '$T/ctl/$s'"
done
check "... its postinst creates the group agentcg and enables the socket" \
	bash -c "grep -q 'groupadd --system agentcg' '$T/ctl/postinst' &&
		 grep -q 'deb-systemd-helper enable agentcgd.socket' '$T/ctl/postinst'"
check "... its postrm removes the group only if the package made it" \
	bash -c "grep -B1 'groupdel agentcg' '$T/ctl/postrm' | grep -q /var/lib/agentcg/created-group"

# ---- the container image and the Kubernetes manifests -------------------
pkgs=$(sed -n 's/.*apt-get install -y --no-install-recommends//p; /^        [a-z]/p' config/Containerfile |
	tr -d '\\&' | tr ' ' '\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -v '^procps$' | sort -u)
missing=$(for p in $pkgs; do apt-cache show "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$pkgs" ] && [ -z "$missing" ]; then
	ok "config/Containerfile installs Debian packages only ($(echo $pkgs | wc -w) found in apt)"
else nok "config/Containerfile installs Debian packages only" "none parsed or missing: $missing"; fi
for m in config/kubernetes/*.yaml; do
	out=$(python3 - "$m" "$BUILD/agentcgd" "$T" <<'PY' 2>&1
import json, subprocess, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
pods = [d["spec"] if d["kind"] == "Pod" else d["spec"]["template"]["spec"]
        for d in docs if d["kind"] in ("Pod", "DaemonSet")]
assert pods, "no Pod or DaemonSet"
for spec in pods:
    assert spec.get("automountServiceAccountToken") is False, "calls would find an API token"
    ours = [c for c in spec["containers"] if c["image"].startswith("agentcg")]
    assert ours, "no agentcg container"
    for c in ours:
        assert "securityContext" in c, c["name"] + " has no securityContext"
        assert any(v["mountPath"] == "/run/agentcg" for v in c["volumeMounts"]), "no socket volume"
for d in docs:
    if d["kind"] == "ConfigMap":
        path = sys.argv[3] + "/cm.json"
        open(path, "w").write(d["data"]["agentcgd.json"])
        r = subprocess.run([sys.argv[2], "--config", path, "--check-config"],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
print("fine")
PY
)
	if [ "$out" = fine ]; then ok "$m: parses; no API token in the pod; agentcg containers have a securityContext and the socket volume; its configuration is valid"
	else nok "$m: parses; no API token in the pod; agentcg containers have a securityContext and the socket volume; its configuration is valid" "$out"; fi
done

echo "package: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
