#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make deb: a Debian package of this tree, with dpkg-deb (no network, no
# debian/ source package): make install PREFIX=/usr into a staging root,
# the control file with the shared libraries' packages as Depends, the
# configuration as a conffile and the maintainer scripts of config/debian/.
#
#   bash config/debian/mkdeb.sh BUILD VERSION    -> BUILD/agentcg_VERSION_ARCH.deb
set -eu
BUILD=${1:-build}
VERSION=${2:?version}
cd "$(dirname "$0")/../.."
ARCH=$(dpkg --print-architecture)
STAGE=$BUILD/deb/agentcg
OUT=$BUILD/agentcg_${VERSION}_$ARCH.deb
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN"
PREFIX=/usr DESTDIR=$STAGE bash config/install.sh "$BUILD" >/dev/null
# The shipped default, never agentcgd.json.default from an earlier stage.
[ -e "$STAGE/etc/agentcg/agentcgd.json" ] || { echo "deb: no configuration staged" >&2; exit 1; }
gzip -9n "$STAGE"/usr/share/man/man*/* 2>/dev/null || true
install -d "$STAGE/usr/share/doc/agentcg"
# The Python client (userspace/python), pure Python: its modules straight
# into Debian's path for packages of every python3 version.
install -d "$STAGE/usr/lib/python3/dist-packages/agentcg"
install -m 0644 userspace/python/agentcg/*.py "$STAGE/usr/lib/python3/dist-packages/agentcg/"
install -m 0644 README.md "$STAGE/usr/share/doc/agentcg/README.md"

# Depends: the package of every shared library the binaries load, found
# by dpkg -S (what dpkg-shlibdeps does, without a source package), and
# python3 for the interpreter sessions' runner.
# Only the libraries each binary names (DT_NEEDED), not what they load.
deps=$(for b in "$STAGE/usr/sbin/agentcgd" "$STAGE/usr/bin/agentcg"; do
	for n in $(objdump -p "$b" | awk '$1 == "NEEDED" {print $2}'); do
		ldd "$b" | awk -v n="$n" '$1 == n && $3 ~ /^\// {print $3}'
	done
done | sort -u | while read -r lib; do
	real=$(readlink -f "$lib")
	dpkg -S "$lib" 2>/dev/null || dpkg -S "$real" 2>/dev/null || dpkg -S "${real#/usr}" 2>/dev/null ||
		{ echo "deb: no package ships $lib" >&2; exit 1; }
done | cut -d: -f1 | sort -u)
[ -n "$deps" ] || { echo "deb: found no library packages" >&2; exit 1; }
glibc=$(dpkg-query -W -f='${Version}' libc6 | sed 's/-[^-]*$//')
depends="$(for p in $deps; do
	case $p in
	libc6) echo "libc6 (>= $glibc)" ;;
	*) echo "$p" ;;
	esac
done | paste -sd, | sed 's/,/, /g'), python3"
size=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
sed -e "s|@VERSION@|$VERSION|" -e "s|@ARCH@|$ARCH|" -e "s|@SIZE@|$size|" \
    -e "s|@DEPENDS@|$depends|" config/debian/control.in >"$STAGE/DEBIAN/control"
echo /etc/agentcg/agentcgd.json >"$STAGE/DEBIAN/conffiles"
for s in postinst prerm postrm; do
	install -m 0755 "config/debian/$s" "$STAGE/DEBIAN/$s"
done
dpkg-deb --root-owner-group --build "$STAGE" "$OUT" >/dev/null
echo "deb: $OUT ($(du -k "$OUT" | cut -f1) kB; Depends: $depends)"
