#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make install: puts a built agentcg where PREFIX and DESTDIR say.
#
#   bash config/install.sh BUILD     (PREFIX, DESTDIR, SYSCONFDIR, UNITDIR,
#                                     BINDIR, SBINDIR, MANDIR, SHELLDIR from the
#                                     environment)
#
#   $SBINDIR/agentcgd, $BINDIR/agentcg            the binaries
#   $BINDIR/agentcg-sh, and $SHELLDIR/bash and sh linked to it: the drop-in
#       shell, a directory to put first in an agent's PATH (SHELLDIR
#       defaults to PREFIX/lib/agentcg)
#   $UNITDIR/agentcgd.service, agentcgd.socket    the units, ExecStart= and
#                                                 --config pointing here
#   $SYSCONFDIR/agentcg/agentcgd.json             the default configuration,
#       with the system group "agentcg" as operators; an operator's file
#       already there is never overwritten: the shipped default goes next
#       to it as agentcgd.json.default
#   $MANDIR/man1/agentcg.1, agentcg-sh.1, man5/agentcgd.json.5, man8/agentcgd.8
#
# PREFIX defaults to /usr/local; with PREFIX=/usr the configuration goes to
# /etc and the units to /usr/lib/systemd/system, else under PREFIX.
set -eu
BUILD=${1:-build}
cd "$(dirname "$0")/.."
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
BINDIR=${BINDIR:-$PREFIX/bin}
SBINDIR=${SBINDIR:-$PREFIX/sbin}
MANDIR=${MANDIR:-$PREFIX/share/man}
SHELLDIR=${SHELLDIR:-$PREFIX/lib/agentcg}
if [ "$PREFIX" = /usr ]; then
	SYSCONFDIR=${SYSCONFDIR:-/etc}
	UNITDIR=${UNITDIR:-/usr/lib/systemd/system}
else
	SYSCONFDIR=${SYSCONFDIR:-$PREFIX/etc}
	UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}
fi
for d in PREFIX BINDIR SBINDIR MANDIR SYSCONFDIR UNITDIR SHELLDIR; do
	case ${!d} in
	/*) ;;
	*) echo "install: $d must be an absolute path, not '${!d}'" >&2; exit 2 ;;
	esac
done
for f in "$BUILD/agentcgd" "$BUILD/agentcg" "$BUILD/agentcg-sh"; do
	[ -x "$f" ] || { echo "install: $f is not built (run make first)" >&2; exit 1; }
done

say() { echo "install: $*"; }

install -d "$DESTDIR$SBINDIR" "$DESTDIR$BINDIR" "$DESTDIR$UNITDIR" "$DESTDIR$SYSCONFDIR/agentcg"
install -m 0755 "$BUILD/agentcgd" "$DESTDIR$SBINDIR/agentcgd"
install -m 0755 "$BUILD/agentcg" "$DESTDIR$BINDIR/agentcg"
install -m 0755 "$BUILD/agentcg-sh" "$DESTDIR$BINDIR/agentcg-sh"
say "$DESTDIR$SBINDIR/agentcgd, $DESTDIR$BINDIR/agentcg, $DESTDIR$BINDIR/agentcg-sh"

# The drop-in shell's directory: bash and sh, and nothing else, so that
# putting it first in PATH changes only the shells.
install -d "$DESTDIR$SHELLDIR"
for sh in bash sh; do
	ln -sfn "$BINDIR/agentcg-sh" "$DESTDIR$SHELLDIR/$sh"
done
say "$DESTDIR$SHELLDIR/bash, sh -> $BINDIR/agentcg-sh"

# The units name where the daemon and its configuration really are.
for u in agentcgd.service agentcgd.socket; do
	sed -e "s|/usr/sbin/agentcgd|$SBINDIR/agentcgd|g" \
	    -e "s|/etc/agentcg/|$SYSCONFDIR/agentcg/|g" "config/systemd/$u" >"$DESTDIR$UNITDIR/$u.tmp"
	chmod 0644 "$DESTDIR$UNITDIR/$u.tmp"
	mv "$DESTDIR$UNITDIR/$u.tmp" "$DESTDIR$UNITDIR/$u"
done
say "$DESTDIR$UNITDIR/agentcgd.service, agentcgd.socket"

# The shipped configuration: the embedded default, with the group the
# package creates as operators.
conf=$DESTDIR$SYSCONFDIR/agentcg/agentcgd.json
tmp=$(mktemp "$conf.XXXXXX")
trap 'rm -f "$tmp"' EXIT
sed 's|"operators": { "users": \[\], "groups": \[\] }|"operators": { "users": [], "groups": ["agentcg"] }|' \
	config/agentcgd.json >"$tmp"
if ! grep -q '"groups": \["agentcg"\]' "$tmp"; then
	echo "install: config/agentcgd.json no longer has the operators line this script edits" >&2
	exit 1
fi
# 0640: it names every tenant and its members, which is no one else's
# business; the daemon (root) reads it, the CLI never does.
chmod 0640 "$tmp"
if [ -e "$conf" ] && ! cmp -s "$tmp" "$conf"; then
	mv "$tmp" "$conf.default"
	say "kept your $conf; the shipped default is $conf.default"
else
	mv "$tmp" "$conf"
	say "$conf"
fi

n=0
for page in config/man/*.[0-9]; do
	[ -e "$page" ] || continue
	sec=${page##*.}
	install -d "$DESTDIR$MANDIR/man$sec"
	install -m 0644 "$page" "$DESTDIR$MANDIR/man$sec/"
	n=$((n + 1))
done
say "$n man pages in $DESTDIR$MANDIR"
