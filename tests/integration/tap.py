# SPDX-License-Identifier: GPL-2.0
"""TAP-style results for the Python integration tests: "ok - ..." and
"not ok - ... (why)" lines, counted; run.sh counts the lines."""

counts = {"passed": 0, "failed": 0}


def ok(desc):
    counts["passed"] += 1
    print("ok - " + desc, flush=True)


def nok(desc, why=""):
    counts["failed"] += 1
    why = " ".join(str(why).split())
    if len(why) > 700:
        why = why[:700] + "..."
    print("not ok - %s%s" % (desc, " (%s)" % why if why else ""), flush=True)


def summary(name):
    """The closing line; the exit status (1 if anything failed)."""
    print("# %d passed, %d failed (%s)" % (counts["passed"], counts["failed"], name), flush=True)
    return 1 if counts["failed"] else 0
