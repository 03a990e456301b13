# agentcg — build, demo and tests. `make demo` and `make check` install
# the Debian packages they need first (see the `deps` target).

BUILD     ?= build
CC        ?= cc
CFLAGS    ?= -O2 -g
WARN      := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wformat=2 -Werror
CPPFLAGS  += -Iinclude -D_GNU_SOURCE
PKGS      := jansson
LDLIBS_COMMON := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -ljansson)
LDLIBS_BPF := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz)
# agentcgd's sd_notify and sd_listen_fds (userspace/daemon/service.c)
LDLIBS_SYSTEMD := $(shell pkg-config --libs libsystemd 2>/dev/null || echo -lsystemd)
CLANG     ?= clang
BPFTOOL   ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)

COMMON_SRC := $(wildcard userspace/common/*.c)
CGROUP_SRC := $(wildcard userspace/cgroup/*.c)
DAEMON_SRC := $(wildcard userspace/daemon/*.c)
CLI_SRC    := $(wildcard userspace/cli/*.c)
SH_SRC     := $(wildcard userspace/shell/*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
BENCH_LAUNCH_SRC := $(wildcard bench/launch/*.c)

COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o) $(BUILD)/userspace/common/config_blob.o
CGROUP_OBJ := $(CGROUP_SRC:%.c=$(BUILD)/%.o)
DAEMON_OBJ := $(DAEMON_SRC:%.c=$(BUILD)/%.o) $(BUILD)/userspace/daemon/runner_blob.o
CLI_OBJ    := $(CLI_SRC:%.c=$(BUILD)/%.o)
# agentcg's modules but its main(): agentcg-sh links them too
CLI_LIB_OBJ := $(filter-out $(BUILD)/userspace/cli/agentcg.o,$(CLI_OBJ))
SH_OBJ     := $(SH_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_LAUNCH_OBJ := $(BENCH_LAUNCH_SRC:%.c=$(BUILD)/%.o)

# The BPF side: CO-RE object built against the running kernel's BTF, and
# its skeleton header, which userspace/daemon/bpf.c includes.
VMLINUX_H := $(BUILD)/include/vmlinux.h
BPF_OBJ   := $(BUILD)/bpf/agentcg.bpf.o
BPF_SKEL  := $(BUILD)/include/agentcg.skel.h

AGENTCGD := $(BUILD)/agentcgd
AGENTCG  := $(BUILD)/agentcg
# The drop-in shell (userspace/shell/), installed as /usr/lib/agentcg/bash.
AGENTCG_SH := $(BUILD)/agentcg-sh
LIBCLI   := $(BUILD)/libagentcg-cli.a
LIBCOMMON := $(BUILD)/libagentcg-common.a
# The bottom layer: the cgroup backends and the stub spawner (the daemon
# and bench/ link the same code).
LIBCGROUP := $(BUILD)/libagentcg-cgroup.a
# The launch-cost benchmark (bench/launch/, bench/run_launch.sh): its
# replica of a call links the same cgroup and spawn code as the daemon.
LAUNCH_BENCH := $(BUILD)/bench/launch_bench

# Debian packages the build, the tests and the benchmarks need, with a file
# that tells whether each is there.
DEPS := \
	gcc:/usr/bin/gcc \
	make:/usr/bin/make \
	pkg-config:/usr/bin/pkg-config \
	libjansson-dev:/usr/include/jansson.h \
	libcmocka-dev:/usr/include/cmocka.h \
	libbpf-dev:/usr/include/bpf/libbpf.h \
	libsystemd-dev:/usr/include/systemd/sd-daemon.h \
	systemd:/usr/bin/systemd-socket-activate \
	groff:/usr/bin/groff \
	clang:/usr/bin/clang \
	llvm:/usr/bin/llvm-strip \
	bpftool:/usr/sbin/bpftool \
	python3:/usr/bin/python3 \
	nodejs:/usr/bin/node \
	npm:/usr/bin/npm \
	python3-matplotlib:/usr/lib/python3/dist-packages/matplotlib/__init__.py \
	python3-pytest:/usr/lib/python3/dist-packages/pytest/__init__.py \
	cgroup-tools:/usr/bin/cgexec \
	procps:/usr/bin/pgrep \
	prometheus:/usr/bin/promtool \
	qemu-system-x86:/usr/bin/qemu-system-x86_64 \
	busybox-static:/bin/busybox \
	mmdebstrap:/usr/bin/mmdebstrap \
	e2fsprogs:/usr/sbin/mke2fs
# More for one target only (make check-stress: stress-ng).
EXTRA_DEPS ?=

.PHONY: all deps demo check check-stress soak unit integration vmtest bench clean install deb \
	fuzz fuzz-build fuzz-bins check-asan asan-build
.DEFAULT_GOAL := all

all: $(AGENTCGD) $(AGENTCG) $(AGENTCG_SH) $(LAUNCH_BENCH)

deps:
	@missing=""; for d in $(DEPS) $(EXTRA_DEPS); do pkg=$${d%%:*}; f=$${d#*:}; \
	  [ -e "$$f" ] || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "deps: need root to apt-get install$$missing" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	fi
	@# clang's sanitizer and libFuzzer runtimes (make fuzz, make check-asan)
	@# come in a package of their own on Debian 12 (libclang-rt-14-dev),
	@# named after clang's major version.
	@rt=$$($(CLANG) -print-file-name=libclang_rt.fuzzer-x86_64.a); \
	if [ ! -e "$$rt" ]; then \
	  pkg=libclang-rt-$$($(CLANG) -dumpversion | cut -d. -f1)-dev; \
	  echo "deps: installing $$pkg"; \
	  if [ "$$(id -u)" != 0 ]; then echo "deps: need root to apt-get install $$pkg" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  { apt-get install -y -qq --no-install-recommends $$pkg >/dev/null 2>&1 || \
	    { apt-get update -qq && apt-get install -y -qq --no-install-recommends $$pkg >/dev/null; }; } || exit 1; \
	fi

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -MMD -MP -c -o $@ $<

$(VMLINUX_H):
	@mkdir -p $(dir $@)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(BPF_OBJ): bpf/agentcg.bpf.c include/agentcg/bpf_abi.h $(VMLINUX_H)
	@mkdir -p $(dir $@)
	$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -I$(BUILD)/include -Iinclude \
	  -Wall -Werror -c -o $@ $<

$(BPF_SKEL): $(BPF_OBJ)
	$(BPFTOOL) gen skeleton $< name agentcg_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/userspace/daemon/%.o: CPPFLAGS += -I$(BUILD)/include
$(BUILD)/userspace/daemon/bpf.o: $(BPF_SKEL)

$(BUILD)/userspace/common/config_blob.o: userspace/common/config_blob.S config/agentcgd.json
	@mkdir -p $(dir $@)
	$(CC) -c -o $@ $<

$(BUILD)/userspace/daemon/runner_blob.o: userspace/daemon/runner_blob.S userspace/runner/agentcg_runner.py
	@mkdir -p $(dir $@)
	$(CC) -c -o $@ $<

# Built afresh each time: `ar r` into an existing archive would keep the
# member of a source file that was renamed or removed.
$(LIBCOMMON): $(COMMON_OBJ)
	rm -f $@ && ar rcs $@ $^

$(LIBCGROUP): $(CGROUP_OBJ)
	rm -f $@ && ar rcs $@ $^

$(AGENTCGD): $(DAEMON_OBJ) $(LIBCGROUP) $(LIBCOMMON)
	$(CC) $(CFLAGS) -o $@ $(DAEMON_OBJ) $(LIBCGROUP) $(LIBCOMMON) $(LDLIBS_COMMON) $(LDLIBS_BPF) \
	  $(LDLIBS_SYSTEMD) -pthread

$(LIBCLI): $(CLI_LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(AGENTCG): $(BUILD)/userspace/cli/agentcg.o $(LIBCLI) $(LIBCOMMON)
	$(CC) $(CFLAGS) -o $@ $< $(LIBCLI) $(LIBCOMMON) $(LDLIBS_COMMON)

$(AGENTCG_SH): $(SH_OBJ) $(LIBCLI) $(LIBCOMMON)
	$(CC) $(CFLAGS) -o $@ $(SH_OBJ) $(LIBCLI) $(LIBCOMMON) $(LDLIBS_COMMON)

$(LAUNCH_BENCH): $(BENCH_LAUNCH_OBJ) $(LIBCGROUP) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(BENCH_LAUNCH_OBJ) $(LIBCGROUP) $(LIBCOMMON) $(LDLIBS_COMMON)

$(BUILD)/tests/%: tests/unit/%.c $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ $< $(LIBCOMMON) $(LDLIBS_COMMON) -lcmocka

# The daemon's deadline heap, linked with stubs for what a deadline does.
$(BUILD)/tests/test_call_timers: tests/unit/test_call_timers.c userspace/daemon/call_timers.c $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Iuserspace/daemon $(CFLAGS) $(WARN) -o $@ $< userspace/daemon/call_timers.c \
	  $(LIBCOMMON) $(LDLIBS_COMMON) -lcmocka

# The daemon's Prometheus text builder and HTTP request check: pure, linked alone.
$(BUILD)/tests/test_metrics: tests/unit/test_metrics.c userspace/daemon/metrics.c userspace/daemon/http.c $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Iuserspace/daemon $(CFLAGS) $(WARN) -o $@ $< userspace/daemon/metrics.c \
	  userspace/daemon/http.c $(LIBCOMMON) $(LDLIBS_COMMON) -lcmocka -lm

# agentcg-sh's command line, label and intent parsing: pure, linked alone.
SH_UNIT_SRC := userspace/shell/sh_args.c userspace/shell/sh_env.c
$(BUILD)/tests/test_sh: tests/unit/test_sh.c $(SH_UNIT_SRC) userspace/shell/sh.h $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ $< $(SH_UNIT_SRC) $(LIBCOMMON) $(LDLIBS_COMMON) -lcmocka

# agentcg mcp's tools and results, with the CLI modules they use (what
# those need from the rest of the CLI is stubbed in the test).
MCP_UNIT_SRC := userspace/cli/mcp_tools.c userspace/cli/mcp_result.c userspace/cli/cli_intent.c \
	userspace/cli/cli_format.c
$(BUILD)/tests/test_mcp_tools: tests/unit/test_mcp_tools.c $(MCP_UNIT_SRC) $(wildcard userspace/cli/*.h) \
		$(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ $< $(MCP_UNIT_SRC) $(LIBCOMMON) $(LDLIBS_COMMON) -lcmocka

unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do echo "== $$t"; $$t || fail=1; done; \
	echo "== tests/unit/test_runner.py"; python3 tests/unit/test_runner.py || fail=1; \
	echo "== tests/unit/test_replay_plot.py"; python3 tests/unit/test_replay_plot.py || fail=1; \
	exit $$fail

integration: all
	bash tests/integration/run.sh $(BUILD)

# The integration suite again, on a pure cgroup v2 kernel (Debian 6.12)
# under qemu TCG; the kernel and initramfs are cached in $(BUILD)/vm/.
vmtest: all
	bash vmtests/run.sh $(BUILD)

# The systemd units under a real systemd as PID 1: a minimal Debian rootfs
# (mmdebstrap, cached in $(BUILD)/vm/) booted on the same kernel, the
# package installed, socket activation, stop and SIGKILL checked there.
.PHONY: vmtest-systemd
vmtest-systemd: deb
	bash vmtests/run_systemd.sh $(BUILD)

# Launch cost side by side (bare, cgroup-tools, agentcg run, call.run);
# see bench/README.md and bench/RESULTS.md.
bench: deps
	$(MAKE) all
	bash bench/run_launch.sh --breakdown

# The BPF layer side by side: fork/exec overhead with and without the
# programs, and budget reaction vs cgroup-file pollers (bench/README.md).
# Installs nothing.
.PHONY: bench-bpf
bench-bpf: all
	bash bench/run_bpf.sh

# Interpreter sessions side by side with a Jupyter kernel: a cell's round
# trip, session start, stateless execs (bench/README.md). Installs Debian's
# python3-ipykernel and python3-jupyter-client when jupyter_client is missing.
# What agentcg-sh adds to a bash -c (bench/run_shell.sh): real bash, the
# drop-in shell and agentcg run, interleaved; p50/p95 and ratios.
.PHONY: bench-shell
bench-shell: all
	bash bench/run_shell.sh

.PHONY: bench-sessions
bench-sessions: all
	@if [ ! -d /usr/lib/python3/dist-packages/jupyter_client ]; then \
		echo "bench-sessions: installing python3-ipykernel python3-jupyter-client"; \
		apt-get install -y python3-ipykernel python3-jupyter-client || \
		{ apt-get update && apt-get install -y python3-ipykernel python3-jupyter-client; }; \
	fi
	bash bench/run_sessions.sh

# Debian's matplotlib, for the replay's figures (bench/replay_plot.py).
define need_matplotlib
	@if [ ! -e /usr/lib/python3/dist-packages/matplotlib/__init__.py ]; then \
		echo "$@: installing python3-matplotlib"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -qq --no-install-recommends python3-matplotlib >/dev/null || \
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends \
		  python3-matplotlib >/dev/null; } || exit 1; \
	fi
endef

# Real agent traces replayed at once on a memory budget below the sum of
# their peaks: one shared budget (the OOM killer decides), static per-agent
# limits, and agentcg's containment, each against the traces alone
# (bench/README.md). About 7 minutes. The figure of the shared passes goes
# to $(BUILD)/bench/replay.png. Installs python3-matplotlib when missing.
.PHONY: bench-replay
bench-replay: all
	$(need_matplotlib)
	mkdir -p $(BUILD)/bench
	bash bench/run_replay.sh --plot $(BUILD)/bench/replay.png

# The replay over issue 14's grid (bench/replay_grid.py): the paper's
# experiment, no pressure, and 0.6/0.45/0.3 of the peaks with top and
# three random selections, every pass side by side in each cell; one
# table in bench/results/<date>_<rev>_grid/table.md. Several hours on a
# 2-core machine: GRID_ARGS="--cells paper,top-0.3" picks cells,
# "--second" runs the disjoint selection; a figure per cell beside its
# JSON. Installs python3-matplotlib when missing.
.PHONY: bench-replay-grid
bench-replay-grid: all
	$(need_matplotlib)
	mkdir -p $(BUILD)/bench
	cc -O2 -Wall -Wextra -D_GNU_SOURCE bench/tracealloc.c -o $(BUILD)/bench/tracealloc
	python3 bench/replay_grid.py --build $(BUILD) $(GRID_ARGS)

# Unit tests, the integration suite, then the VM suite; every phase runs,
# and the end prints each one's time and a closing "check: N passed, N failed".
check: deps
	$(MAKE) all $(UNIT_BIN)
	bash tests/check.sh $(BUILD)

# The integration suite while both cores are kept busy (stress-ng, started
# and stopped here): run it before you say an issue is resolved. The whole
# check under load: bash tests/with_cpu_load.sh make check.
check-stress:
	$(MAKE) deps EXTRA_DEPS=stress-ng:/usr/bin/stress-ng
	$(MAKE) all
	bash tests/with_cpu_load.sh bash tests/integration/run.sh $(BUILD)

# Soaks, out of make check: 100 000 calls through the BPF layer, 8 at a
# time (the BPF map empties, no record lost, the daemon's memory and open
# files stay bounded). make check runs the same test on 3 000 calls.
# About 8 minutes here; figures in bench/RESULTS.md.
soak: all
	AGENTCG_CHURN_CALLS=$${AGENTCG_CHURN_CALLS:-100000} AGENTCG_SUITE_TIMEOUT=$${AGENTCG_SUITE_TIMEOUT:-5400} \
	  bash tests/integration/run.sh $(BUILD) test_bpf_churn.sh

# The man pages (config/man/) against the code: they render without a
# warning, agentcgd.json.5 has every key config.c accepts and its default,
# agentcg.1 and agentcgd.8 every command and option of their --help
# (tests/check_man.sh, which first shows on broken copies that it fails).
.PHONY: check-man
check-man: $(AGENTCGD) $(AGENTCG)
	bash tests/check_man.sh --selftest $(BUILD) && bash tests/check_man.sh $(BUILD)

# ---- fuzzing and sanitizers ----------------------------------------------
#
# libFuzzer harnesses (tests/fuzz/): the request path from a client's
# socket through the dispatcher and its handlers, intents, sizes and
# durations, the configuration. Built with clang into $(FUZZ_BUILD)/,
# every object with ASan+UBSan and coverage. make fuzz runs each harness
# for FUZZ_TIME seconds, one at a time, and prints its executions, coverage
# and crashes; make check runs each for 30 s. New inputs are kept in
# $(FUZZ_BUILD)/corpus/, crashes in $(FUZZ_BUILD)/crashes/.
FUZZ_BUILD   ?= build-fuzz
FUZZ_TIME    ?= 300
FUZZ_TARGETS := rpc intent units config
SAN_FLAGS    := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  := -O1 -g $(SAN_FLAGS) -fsanitize=fuzzer-no-link
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
# The daemon without its main(): the harness builds the context as main.c does.
DAEMON_LIB_OBJ := $(filter-out %/main.o,$(DAEMON_OBJ))

fuzz-build: deps
	$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(CLANG) CFLAGS="$(FUZZ_CFLAGS)" fuzz-bins

fuzz-bins: $(FUZZ_BIN)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fsanitize=fuzzer $(WARN) -o $@ $< $(LIBCOMMON) $(LDLIBS_COMMON)

# The request path links the daemon's own objects; the one place that
# starts a process, and kill(2), are wrapped (see tests/fuzz/fuzz_rpc.c).
$(BUILD)/fuzz/fuzz_rpc: tests/fuzz/fuzz_rpc.c $(DAEMON_LIB_OBJ) $(LIBCGROUP) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -I$(BUILD)/include -Iuserspace/daemon -Iuserspace/cgroup $(CFLAGS) \
	  -fsanitize=fuzzer $(WARN) -Wl,--wrap=ac_stub_start -Wl,--wrap=kill -o $@ $< \
	  $(DAEMON_LIB_OBJ) $(LIBCGROUP) $(LIBCOMMON) $(LDLIBS_COMMON) $(LDLIBS_BPF) $(LDLIBS_SYSTEMD)

fuzz: fuzz-build
	bash tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_TIME) $(FUZZ_TARGETS)

# agentcgd and agentcg built with ASan+UBSan into $(ASAN_BUILD)/, and the
# host integration suite run against them; any sanitizer report fails it
# (tests/check_asan.sh). make check runs it as its phase "asan".
ASAN_BUILD ?= build-asan

asan-build: deps
	$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) CC=$(CLANG) CFLAGS="-O1 -g $(SAN_FLAGS)" \
	  $(ASAN_BUILD)/agentcgd $(ASAN_BUILD)/agentcg $(ASAN_BUILD)/agentcg-sh

check-asan: asan-build
	bash tests/check_asan.sh $(ASAN_BUILD)

demo: deps
	$(MAKE) all
	bash tests/demo.sh $(BUILD)

# make install [PREFIX=/usr/local] [DESTDIR=]: the binaries, the systemd
# units, the configuration in $(SYSCONFDIR)/agentcg (an operator's file
# is never overwritten) and the man pages (config/install.sh says where).
# make deb: $(BUILD)/agentcg_$(VERSION)_<arch>.deb, built with dpkg-deb.
VERSION := $(shell sed -n 's/^\#define ACD_VERSION "\(.*\)"/\1/p' userspace/daemon/daemon.h)
PREFIX ?= /usr/local
export PREFIX DESTDIR BINDIR SBINDIR MANDIR SYSCONFDIR UNITDIR

install: all
	bash config/install.sh $(BUILD)

deb: all
	bash config/debian/mkdeb.sh $(BUILD) $(VERSION)

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD) $(ASAN_BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
