#!/bin/bash
# The man pages of config/man/ against the code they describe:
#
#  1. render: each page formats without a warning, with groff -man -Tutf8
#     -ww (-z, and formatted in full, which is where "can't break line"
#     comes from) and, where mandoc is installed, mandoc -Tlint; its .TH
#     names the file and its section.
#  2. keys: agentcgd.json.5 has an entry (a .TP tagged with the key's
#     dotted path, e.g. containment.stall or tenants.NAME.users) for every
#     key userspace/common/config.c accepts: the strcmp(key, "...") of its
#     parser, and the names of the tables it parses keys with
#     (ac_priority_parse(key, ...) takes priority_names[]). The extraction
#     must find keys, and every key of config/agentcgd.json; and every
#     entry of a key config/agentcgd.json sets states that default.
#  3. commands and options: every command 'agentcg --help' lists is in
#     agentcg.1's SYNOPSIS and is a tag of its COMMANDS, every long option
#     of 'agentcg --help' and of each command's help is in agentcg.1, and
#     every long option of 'agentcgd --help' is a tag of agentcgd.8's
#     OPTIONS.
#  4. example: the example configuration of agentcgd.json.5 parses with
#     the daemon's own parser (BUILD/libagentcg-common.a); and the parser's
#     built-in values are those of config/agentcgd.json but for its
#     tenants, as the page says.
#
#   bash tests/check_man.sh [BUILD]             check config/man/ (make check-man)
#   bash tests/check_man.sh --selftest [BUILD]  show that each check fails on
#                                               a broken copy of the pages
#
# Prints every finding and exits 1 if there is one.
set -u
cd "$(dirname "$0")/.." || exit 1

PAGES="agentcg.1 agentcg-sh.1 agentcgd.8 agentcgd.json.5"

# render DIR: warnings of groff (and mandoc), and .TH against the file name.
render() {
	local dir=$1 p out name sec th
	for p in $PAGES; do
		[ -e "$dir/$p" ] || { echo "render: $p is missing"; continue; }
		out=$(groff -man -Tutf8 -ww -z "$dir/$p" 2>&1 >/dev/null)
		[ -n "$out" ] && sed "s|^|render: $p: groff -z: |" <<<"$out"
		out=$(groff -man -Tutf8 -ww "$dir/$p" 2>&1 >/dev/null)
		[ -n "$out" ] && sed "s|^|render: $p: groff: |" <<<"$out"
		if command -v mandoc >/dev/null; then
			out=$(mandoc -Tlint -W warning "$dir/$p" 2>&1)
			[ -n "$out" ] && sed "s|^|render: $p: |" <<<"$out"
		fi
		name=${p%.*}
		sec=${p##*.}
		th=$(sed -n 's/^\.TH  *\([^ ]*\)  *\([^ ]*\).*/\1 \2/p' "$dir/$p" | head -1)
		[ "$th" = "${name^^} $sec" ] || echo "render: $p: .TH is '$th', not '${name^^} $sec'"
	done
}

# helps BUILD: the help of agentcg, of each of its commands (and of each
# session subcommand), and of agentcgd, into files of $work; a --help that
# does not exit 0 is a finding.
helps() {
	local build=$1 cmd sub rc
	"$build/agentcg" --help >"$work/agentcg.help" 2>&1 || echo "help: agentcg --help exits $?"
	"$build/agentcgd" --help >"$work/agentcgd.help" 2>&1 || echo "help: agentcgd --help exits $?"
	: >"$work/commands.help"
	for cmd in $(sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z]*\).*/\1/p' "$work/agentcg.help" | sort -u); do
		"$build/agentcg" "$cmd" --help >>"$work/commands.help" 2>&1
		rc=$?
		[ "$rc" -eq 0 ] || echo "help: agentcg $cmd --help exits $rc"
	done
	for sub in $("$build/agentcg" session --help 2>/dev/null |
		sed -n 's/^ *\(Usage: \)\{0,1\}agentcg session \([a-z]*\).*/\2/p'); do
		"$build/agentcg" session "$sub" --help >/dev/null 2>&1
		rc=$?
		[ "$rc" -eq 0 ] || echo "help: agentcg session $sub --help exits $rc"
	done
}

# check DIR BUILD CONFIG_C: every finding on one line; returns how many.
check() {
	local dir=$1 build=$2 config_c=$3 out n msg
	rm -f "$work/example.json" "$work/counts"
	{
		render "$dir"
		helps "$build"
		python3 - "$dir" "$config_c" config/agentcgd.json userspace/common "$work" <<'EOF'
import json, os, re, sys

man, config_c, default_json, common, work = sys.argv[1:]

def say(what, msg):
    print(f"{what}: {msg}")

def roff_args(line):
    """The arguments of a macro line, as roff splits them."""
    args, cur, i, quoted, started = [], "", 0, False, False
    while i < len(line):
        ch = line[i]
        if quoted:
            if ch == '"' and line[i + 1:i + 2] == '"':
                cur += '"'; i += 1
            elif ch == '"':
                quoted = False
            else:
                cur += ch
        elif ch == '"' and not started:
            quoted = started = True
        elif ch in " \t":
            if started:
                args.append(cur); cur, started = "", False
        elif ch == '\\' and line[i + 1:i + 2] == ' ':
            cur += '\\ '; started = True; i += 1
        else:
            cur += ch; started = True
        i += 1
    if started:
        args.append(cur)
    return args

ESCAPES = [(r'\\f(\[[^]]*\]|\(..|.)', ''), (r'\\\(dq', '"'), (r'\\\(aq', "'"),
           (r'\\\((mu)', 'x'), (r'\\\((<=)', '<='), (r'\\\((em|bu)', '-'),
           (r'\\\(..', ''), (r'\\[-]', '-'), (r'\\e', '\\'), (r'\\[&c%]', ''),
           (r'\\ ', ' '), (r'\\~', ' ')]

def text(line):
    """A roff source line as the words it shows (near enough to match on)."""
    if line.startswith('.\\"') or line.startswith("'"):
        return ""
    if line.startswith('.'):
        name, _, rest = line[1:].partition(' ')
        args = roff_args(rest)
        if name in ("B", "I", "SH", "SS"):
            line = " ".join(args)
        elif re.fullmatch(r"[BIR]{2}", name):
            line = "".join(args)
        else:
            return ""
    for pat, rep in ESCAPES:
        line = re.sub(pat, lambda _m, r=rep: r, line)
    return line

def page(name):
    try:
        with open(os.path.join(man, name)) as f:
            return f.read().split("\n")
    except OSError as e:
        say("pages", str(e))
        return []

def sections(lines):
    """{".SH title": [lines]}, in order."""
    out, cur = {}, None
    for l in lines:
        if l.startswith(".SH "):
            cur = text(l).strip()
            out[cur] = []
        elif cur:
            out[cur].append(l)
    return out

def entries(lines):
    """[(tag text, [body text lines])] of the .TP entries of lines."""
    out, i = [], 0
    while i < len(lines):
        if lines[i].startswith(".TP") and i + 1 < len(lines):
            tag, body, i = text(lines[i + 1]).strip(), [], i + 2
            while i < len(lines) and not re.match(r"\.(TP|SH|SS|PP|RE)\b", lines[i]):
                body.append(text(lines[i])); i += 1
            out.append((tag, body))
        else:
            i += 1
    return out

# ---- 2. the configuration keys -------------------------------------------

src = open(config_c).read()
direct = set(re.findall(r'strcmp\(\s*key\s*,\s*"([^"\\]+)"\s*\)', src))
if not direct:
    say("keys", f"found no strcmp(key, \"...\") in {config_c}: the extraction is broken")
tables = set()
for fn in sorted(set(re.findall(r'\bac_(\w+)_parse\(\s*key\b', src))):
    names = None
    for f in sorted(os.listdir(common)):
        if f.endswith(".c"):
            m = re.search(r'\b%s_names\[\]\s*=\s*\{(.*?)\};' % fn,
                          open(os.path.join(common, f)).read(), re.S)
            if m:
                names = re.findall(r'"([^"\\]+)"', m.group(1))
    if not names:
        say("keys", f"config.c parses keys with ac_{fn}_parse, but no {fn}_names[] is in {common}")
    tables |= set(names or [])
accepted = direct | tables

# the shipped file: every key of it must be one the extraction found
raw = json.load(open(default_json), parse_float=str, parse_int=str,
                parse_constant=str)
leaves = []
def walk(path, v):
    if isinstance(v, dict):
        for k, x in v.items():
            if path != ("tenants",) and k not in accepted:
                say("keys", f"config/agentcgd.json has {'.'.join(path + (k,))}, but the "
                    "extraction from config.c did not find it")
            walk(path + (k,), x)
    else:
        leaves.append((path, v))
walk((), raw)

conf = page("agentcgd.json.5")
tags = {}
for tag, body in entries(conf):
    key = tag.split(" ")[0].rstrip(".,;:")
    if re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", key):
        tags[key] = " ".join(body)
components = {c for k in tags for c in k.split(".") if not c.isupper()}
for k in sorted(direct - components):
    say("keys", f"agentcgd.json.5 has no entry for the key {k} (config.c accepts it)")
words = set(re.findall(r"\w+", " ".join(text(l) for l in conf)))
for k in sorted(tables - words):
    say("keys", f"agentcgd.json.5 never names {k} (config.c accepts it as a key)")

def matches(tag, path):
    t = tag.split(".")
    return len(t) == len(path) and all(a == b or a.isupper() for a, b in zip(t, path))

def value_texts(v):
    """How the page writes a default: JSON's own text of it."""
    if isinstance(v, list):
        return ["[]"] if not v else [str(x) for x in v]
    if isinstance(v, bool):
        return [json.dumps(v)]
    return [str(v)]

for path, v in leaves:
    dotted = ".".join(path)
    found = [t for t in tags if matches(t, path)]
    if not found:
        say("keys", f"agentcgd.json.5 has no entry for {dotted}")
        continue
    for want in value_texts(v):
        if not re.search(r"(?<![\w.])%s(?!\w|\.\d)" % re.escape(want), tags[found[0]]):
            say("keys", f"agentcgd.json.5: the entry {found[0]} does not give {dotted}'s "
                f"default {want} (config/agentcgd.json)")
n_keys = len(accepted)

# ---- 3. commands and options ---------------------------------------------

def helptext(name):
    return open(os.path.join(work, name)).read()

cli, daemon = page("agentcg.1"), page("agentcgd.8")
main_help = helptext("agentcg.help")
commands = []
m = re.search(r"^Commands:\n(.*?)\n\n", main_help, re.S | re.M)
for line in (m.group(1).split("\n") if m else []):
    if not re.match(r"  [a-z]", line):
        continue  # the continuation of a command or of its text
    for spec in re.split(r",\s+", re.split(r"\s{2,}", line.strip())[0]):
        w = spec.split()
        if len(w) > 1 and re.fullmatch(r"[a-z]+(\|[a-z]+)*", w[1]):
            commands += [f"{w[0]} {sub}" for sub in w[1].split("|")]
        else:
            commands.append(w[0])
if not commands:
    say("commands", "found no command in 'agentcg --help'")
secs = sections(cli)
synopsis = re.sub(r"\s+", " ", " ".join(text(l) for l in secs.get("SYNOPSIS", [])))
tagged = [tag for tag, _ in entries(secs.get("COMMANDS", []))]
for c in commands:
    if not re.search(r"\bagentcg %s(?![\w-])" % re.escape(c), synopsis):
        say("commands", f"agentcg.1's SYNOPSIS has no 'agentcg {c}'")
    if not any(re.match(r"%s(?![\w-])" % re.escape(c), t) for t in tagged):
        say("commands", f"agentcg.1's COMMANDS has no entry '{c}'")

cli_text = " ".join(text(l) for l in cli)
opts = sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z-]*[a-z]", main_help + helptext("commands.help"))))
if len(opts) < 2:
    say("options", "found no long option in the help of agentcg and its commands")
for o in opts:
    if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(o), cli_text):
        say("options", f"agentcg.1 never names {o} (agentcg's help does)")

dopts = sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z-]*[a-z]", helptext("agentcgd.help"))))
if not dopts:
    say("options", "found no long option in 'agentcgd --help'")
dtags = " ".join(tag for tag, _ in entries(sections(daemon).get("OPTIONS", [])))
for o in dopts:
    if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(o), dtags):
        say("options", f"agentcgd.8's OPTIONS has no entry for {o} (agentcgd --help has it)")

# ---- 4. the example configuration ---------------------------------------

ex = "\n".join(conf).split("\n.SH EXAMPLES\n", 1)
block = re.search(r"^\.EX\n(.*?)\n\.EE$", ex[1], re.S | re.M) if len(ex) > 1 else None
if not block:
    say("example", "agentcgd.json.5 has no .EX block in EXAMPLES")
else:
    body = block.group(1)
    for a, b in (("\\-", "-"), ("\\(dq", '"'), ("\\&", ""), ("\\e", "\\")):
        body = body.replace(a, b)
    with open(os.path.join(work, "example.json"), "w") as f:
        f.write(body + "\n")

with open(os.path.join(work, "counts"), "w") as f:
    f.write(f"{n_keys} {len(leaves)} {len(commands)} {len(opts)} {len(dopts)}\n")
EOF
		if [ -e "$work/example.json" ]; then
			if ! [ -x "$work/parse" ] && ! cc -D_GNU_SOURCE -Iinclude -o "$work/parse" \
				"$work/parse.c" "$build/libagentcg-common.a" -ljansson; then
				echo "example: cannot build the config parser against $build/libagentcg-common.a"
			elif ! msg=$("$work/parse" "$work/example.json"); then
				echo "example: agentcgd would refuse the example of agentcgd.json.5: ${msg#"$work/"}"
			elif ! msg=$("$work/parse"); then
				echo "defaults: $msg, so agentcgd.json.5's defaults are not a file's"
			fi
		fi
	} >"$work/out" 2>&1
	out=$(cat "$work/out")
	n=$(grep -c . <<<"$out")
	[ -n "$out" ] && echo "$out"
	return "$n"
}

for tool in groff python3 cc; do
	if ! command -v "$tool" >/dev/null; then
		echo "not ok - check_man.sh needs $tool"
		exit 1
	fi
done
work=$(mktemp -d /tmp/agentcg-man.XXXXXX)
trap 'rm -rf "$work"' EXIT
# 4: the daemon's own parser: run on the example; and without an argument,
# whether the built-in values are the embedded file's but for its tenants,
# as agentcgd.json.5 says (a file's left-out keys keep the built-ins).
cat >"$work/parse.c" <<'EOF'
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "agentcg/config.h"

static struct ac_config cfg, builtin;

int main(int argc, char **argv)
{
	char err[512];

	ac_config_init(&cfg);
	if (argc < 2) {
		ac_config_init(&builtin);
		if (ac_config_load_default(&cfg, err, sizeof(err)) < 0) {
			printf("the embedded configuration: %s\n", err);
			return 1;
		}
		if (memcmp(&cfg, &builtin, offsetof(struct ac_config, n_tenants))) {
			printf("the built-in values (ac_config_init) differ from config/agentcgd.json\n");
			return 1;
		}
		return 0;
	}
	if (ac_config_load_file(&cfg, argv[1], err, sizeof(err)) < 0) {
		printf("%s\n", err);
		return 1;
	}
	return 0;
}
EOF

if [ "${1:-}" = "--selftest" ]; then
	BUILD=${2:-build}
	t=$work/pages
	fails=0
	# expect NAME PATTERN: the check of $t must fail with a line matching PATTERN
	expect() {
		local out
		out=$(check "$t" "$BUILD" "${cfg_c:-userspace/common/config.c}")
		if [ $? -gt 0 ] && grep -q -- "$2" <<<"$out"; then
			echo "ok - check_man.sh fails on $1"
		else
			echo "not ok - check_man.sh missed $1:"
			echo "$out" | sed 's/^/    /'
			fails=$((fails + 1))
		fi
	}
	fresh() { rm -rf "$t" && mkdir -p "$t" && cp config/man/* "$t/"; }

	fresh
	if out=$(check "$t" "$BUILD" userspace/common/config.c); then
		echo "ok - check_man.sh passes the pages as they are"
	else
		echo "not ok - the pages as they are fail:"
		echo "$out" | sed 's/^/    /'
		exit 1
	fi
	# a key's entry deleted (from its .TP to the next)
	fresh
	python3 - "$t/agentcgd.json.5" <<'EOF'
import re, sys
p = sys.argv[1]
s = open(p).read()
s = re.sub(r"\.TP\n\.B containment\.stall\n.*?(?=\n\.TP\n)", "", s, flags=re.S)
open(p, "w").write(s)
EOF
	expect "a key without its entry (containment.stall)" "no entry for the key stall"
	# a wrong default
	fresh
	sed -i 's/^\.BR \\(dq1\.5s\\(dq \.$/.BR \\(dq2s\\(dq ./' "$t/agentcgd.json.5"
	expect "a wrong default (containment.stall 2s)" "does not give containment.stall's default 1.5s"
	# a key config.c accepts that the page renamed
	fresh
	sed -i 's/forecast_high/forecast_hi/g' "$t/agentcgd.json.5"
	expect "a renamed key (forecast_high)" "no entry for the key forecast_high"
	# an extraction that finds nothing
	fresh
	sed 's/strcmp(key/strcmp(k/g' userspace/common/config.c >"$work/config.c"
	cfg_c=$work/config.c expect "a config.c it cannot read keys from" "the extraction is broken"
	# a command without its entry
	fresh
	sed -i 's/thaw/melt/g' "$t/agentcg.1"
	expect "a command missing from agentcg.1 (thaw)" "no 'agentcg thaw'"
	# an option of a command missing
	fresh
	sed -i 's/once/one/g' "$t/agentcg.1"
	expect "an option missing from agentcg.1 (top --once)" "never names --once"
	# a daemon option missing
	fresh
	sed -i 's/print\\-config/print\\-conf/g' "$t/agentcgd.8"
	expect "an option missing from agentcgd.8 (--print-config)" "no entry for --print-config"
	# groff warnings: an unknown macro, a line it cannot break
	fresh
	printf '.XY\n' >>"$t/agentcg.1"
	expect "an unknown macro" "macro 'XY' not defined"
	fresh
	printf '%s\n' ".TP" ".B x" "$(printf 'a%.0s' {1..200})" >>"$t/agentcgd.8"
	expect "a line groff cannot break" "can't break line"
	# an example the daemon would refuse
	fresh
	sed -i 's/"max_priority": "high"/"max_priority": "top"/' "$t/agentcgd.json.5"
	expect "an example the parser refuses" "max_priority: must be"
	[ "$fails" -eq 0 ] && exit 0
	exit 1
fi

BUILD=${1:-build}
for b in agentcg agentcgd libagentcg-common.a; do
	if [ ! -e "$BUILD/$b" ]; then
		echo "not ok - check_man.sh: no $BUILD/$b (build first)"
		exit 1
	fi
done
out=$(check config/man "$BUILD" userspace/common/config.c)
n=$?
[ -n "$out" ] && echo "$out"
if [ "$n" -eq 0 ]; then
	read -r keys leaves cmds opts dopts <"$work/counts"
	echo "ok - the man pages render cleanly$(command -v mandoc >/dev/null || echo ' (groff; no mandoc here)'); agentcgd.json.5 documents the $keys keys config.c accepts and the defaults of $leaves settings; agentcg.1 has its $cmds commands and $opts options, agentcgd.8 its $dopts options; the example configuration parses, and the built-ins are the embedded file's"
	exit 0
fi
echo "not ok - $n findings in the man pages (config/man/)"
exit 1
