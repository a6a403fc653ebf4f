# SPDX-License-Identifier: GPL-2.0
# reusetop: clang builds the BPF objects, bpftool turns them into skeletons, gcc builds the tool.
# Quiet by default; `make V=1` shows the commands.

OUTPUT    ?= build
CLANG     ?= clang
BPFTOOL   ?= bpftool
CC        ?= gcc
PREFIX    ?= /usr/local
DESTDIR   ?=
VERSION   := 0.1.0

# The BPF target architecture (libbpf's __TARGET_ARCH_*); the arm64 VM build sets ARCH=arm64.
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/')
VMLINUX_DIR := vmlinux/$(ARCH)

BPF_NAMES := accept select wakeup udp ready handoff steer steer_example
BPF_OBJS  := $(patsubst %,$(OUTPUT)/%.bpf.o,$(BPF_NAMES))
SKELS     := $(patsubst %,$(OUTPUT)/%.skel.h,$(BPF_NAMES))

# user/: main, options, setup, util, kernel features; observe/, render/, steer/ by concern.
USER_SRCS := $(wildcard user/*.c user/*/*.c)
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/obj/%.o,$(USER_SRCS))
# The pure modules unit tests link against (no BPF, no skeletons).
PURE_SRCS := $(addprefix user/,util.c opts.c observe/model.c observe/model_handoff.c \
	     observe/owner.c observe/retention.c observe/container.c \
	     render/json.c render/text_render.c render/json_render.c render/prom_render.c \
	     steer/options.c steer/policy.c)
# discovery and what it needs, for the tests that drive it alone.
DISCOVERY_SRCS := $(addprefix user/observe/,discovery.c netns.c sockdiag.c holders.c waiters.c) \
		  user/util.c
DISCOVERY_HDRS := user/observe/discovery.h user/observe/discovery_int.h user/observe/waiters.h \
		  user/util.h

WARN      := -Wall -Wextra -Wshadow -Werror
CFLAGS    ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -I$(OUTPUT) -Iuser -Ibpf \
	      -DREUSETOP_VERSION='"$(VERSION)"' -MMD -MP
LDLIBS    := -lbpf -lelf -lz -lm -lncursesw -ltinfo -lmicrohttpd -lpthread
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# clang 14's BPF backend crashes on atomics whose result is used unless -mcpu=v3.
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -I$(VMLINUX_DIR) -Ibpf $(WARN) \
	      -Wno-unused-parameter -Wno-unused-function

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SECONDARY: $(BPF_OBJS) $(SKELS)
.PHONY: all clean install uninstall check test tests-build unit deps demo vmlinux format bench stress \
	deb static bench-vm

all: reusetop

$(OUTPUT) $(OUTPUT)/san $(OUTPUT)/tests:
	$(Q)mkdir -p $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c bpf/*.h $(VMLINUX_DIR)/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

# User objects wait for the skeletons (-MMD then tracks which ones each really includes).
$(OUTPUT)/obj/%.o: user/%.c | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@
# The example custom steering policy (reusetop steer --object): built, tested and installed.
all: $(OUTPUT)/steer_example.bpf.o

reusetop: $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

# The same tool built with AddressSanitizer and UBSan: the integration tests run this one. Only
# it has fault injection (REUSETOP_FAULT=apply:PHASE, tests/steer_undo_cases.sh).
SAN_OBJS := $(patsubst user/%.c,$(OUTPUT)/san/obj/%.o,$(USER_SRCS))
$(OUTPUT)/san/obj/%.o: user/%.c | $(SKELS)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -DRT_FAULT_INJECTION -c $< -o $@
$(OUTPUT)/san/reusetop: $(SAN_OBJS) | $(OUTPUT)/san
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) $^ $(LDLIBS) -o $@

# Test programs: the ground-truth rig and the unit tests (sanitized).
TEST_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -O1 -g -pthread -Iuser -Ibpf -I$(OUTPUT) $(SAN_FLAGS)
$(OUTPUT)/tests/rig_server: tests/rig_server.c tests/rig_handoff.c $(wildcard tests/rig_*.h) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(TEST_CFLAGS) $< -o $@
$(OUTPUT)/tests/rig_client: tests/rig_client.c $(wildcard tests/rig_*.h) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(TEST_CFLAGS) $< -o $@
$(OUTPUT)/tests/shortlived: tests/shortlived.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(TEST_CFLAGS) $< -o $@
# Prints what discovery finds, like ss -ltnp, with the cost of each scan (a debugging aid).
$(OUTPUT)/tests/discovery_probe: tests/discovery_probe.c $(DISCOVERY_SRCS) $(DISCOVERY_HDRS) \
				  | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(TEST_CFLAGS) tests/discovery_probe.c $(DISCOVERY_SRCS) -o $@
# discovery_refresh() against real sockets: the filtered path taken, and exact (root, own netns).
$(OUTPUT)/tests/refresh_check: tests/refresh_check.c $(DISCOVERY_SRCS) $(DISCOVERY_HDRS) \
				 | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(TEST_CFLAGS) tests/refresh_check.c $(DISCOVERY_SRCS) -o $@
$(OUTPUT)/tests/unit: tests/unit.c $(PURE_SRCS) $(wildcard user/*.h user/*/*.h) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(TEST_CFLAGS) tests/unit.c $(PURE_SRCS) -lm -o $@

# libFuzzer target for the option parser (clang's runtime from libclang-rt-14-dev).
FUZZ_SRCS := user/opts.c user/steer/options.c user/steer/policy.c user/util.c
$(OUTPUT)/tests/fuzz_opts: tests/fuzz_opts.c $(FUZZ_SRCS) $(wildcard user/*.h user/*/*.h) bpf/steer.h \
			   | $(OUTPUT)/tests
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) -std=c11 -D_GNU_SOURCE $(WARN) -g -O1 -Iuser -Ibpf \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all tests/fuzz_opts.c \
		$(FUZZ_SRCS) -o $@

TEST_BINS := $(OUTPUT)/tests/fuzz_opts $(OUTPUT)/san/reusetop $(OUTPUT)/tests/rig_server $(OUTPUT)/tests/rig_client \
	     $(OUTPUT)/tests/unit $(OUTPUT)/tests/discovery_probe $(OUTPUT)/static/reusetop $(OUTPUT)/static/rig_server \
	     $(OUTPUT)/static/rig_client $(OUTPUT)/tests/refresh_check $(OUTPUT)/tests/shortlived \
	     $(OUTPUT)/static/pty_drive
TEST_BINS += $(OUTPUT)/steer_example.bpf.o arm64-static

# Static builds for the VMs (tests/vm/): the host kernel allows only tracepoints, so the other
# tiers, and the kernels users run, are tested under qemu, whose busybox initramfs has no
# libraries. No sanitizers; reusetop reuses the ordinary objects. Debian 12's libelf.a
# needs only zlib; pkg-config --static adds whatever another distribution's needs (zstd...).
VM_CFLAGS     := -std=c11 -D_GNU_SOURCE $(WARN) -O2 -g -pthread -Iuser -Ibpf -I$(OUTPUT)
VM_LDLIBS     := $(or $(shell pkg-config --static --libs libbpf 2>/dev/null),-lbpf -lelf -lz) -lm \
		 $(or $(shell pkg-config --static --libs ncursesw 2>/dev/null),-lncursesw -ltinfo)
# A cross build (the arm64 one below) names a sysroot holding the target's headers and static
# libraries; the host's pkg-config knows nothing of them.
ifneq ($(SYSROOT),)
TRIPLE        := $(shell $(CC) -dumpmachine)
ALL_CFLAGS    += -isystem $(SYSROOT)/usr/include -isystem $(SYSROOT)/usr/include/$(TRIPLE)
VM_LDLIBS     := -L$(SYSROOT)/usr/lib/$(TRIPLE) -lbpf -lelf -lz -lm -lncursesw -ltinfo
endif
.PHONY: vm-smoke
$(OUTPUT)/static:
	$(Q)mkdir -p $@
# Debian has no static libraries for all of libmicrohttpd's TLS dependencies (libunistring,
# libp11-kit): the static build has no --prometheus (exporter.c built with RT_NO_EXPORTER).
STATIC_OBJS := $(filter-out $(OUTPUT)/obj/render/exporter.o,$(USER_OBJS)) $(OUTPUT)/static/exporter.o
$(OUTPUT)/static/exporter.o: user/render/exporter.c | $(OUTPUT)/static
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -DRT_NO_EXPORTER -c $< -o $@
$(OUTPUT)/static/reusetop: $(STATIC_OBJS) | $(OUTPUT)/static
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -static $^ $(VM_LDLIBS) -o $@
$(OUTPUT)/static/rig_server: tests/rig_server.c tests/rig_handoff.c $(wildcard tests/rig_*.h) | $(OUTPUT)/static
	$(call msg,CC,$@)
	$(Q)$(CC) $(VM_CFLAGS) -static $< -o $@
$(OUTPUT)/static/rig_client: tests/rig_client.c $(wildcard tests/rig_*.h) | $(OUTPUT)/static
	$(call msg,CC,$@)
	$(Q)$(CC) $(VM_CFLAGS) -static $< -o $@
# The live view's terminal in the VMs, which have no tmux.
$(OUTPUT)/static/pty_drive: tests/pty_drive.c | $(OUTPUT)/static
	$(call msg,CC,$@)
	$(Q)$(CC) $(VM_CFLAGS) -static $< -o $@
STATIC_BINS := $(OUTPUT)/static/reusetop $(OUTPUT)/static/rig_server $(OUTPUT)/static/rig_client \
	       $(OUTPUT)/static/pty_drive
.PHONY: static-bins arm64-static
static-bins: $(STATIC_BINS) $(OUTPUT)/steer_example.bpf.o
	@:

# The same for the arm64 VM, in $(OUTPUT)/arm64: Debian's cross compiler, the arm64 libraries
# tests/vm/fetch-sysroot.sh unpacks under .cache/, BPF objects for arm64 (vmlinux/arm64, from
# the arm64 kernel's BTF by `make vmlinux-arm64`).
ARM64_CC := aarch64-linux-gnu-gcc
arm64-static:
	$(Q)sysroot=$$(tests/vm/fetch-sysroot.sh) && \
		$(MAKE) --no-print-directory OUTPUT=$(OUTPUT)/arm64 ARCH=arm64 CC=$(ARM64_CC) \
			SYSROOT=$$sysroot static-bins

# Boot the 6.1 kernel (fetched once, with qemu, by tests/vm/fetch-kernel.sh) and run the static
# reusetop with each tier: tests/vm/smoke.sh. VM_TIMEOUT=SECONDS bounds the run (default 300).
vm-smoke: deps
	$(Q)$(MAKE) --no-print-directory $(OUTPUT)/static/reusetop
	$(Q)tests/vm/run-vm.sh tests/vm/smoke.sh $(OUTPUT)/static/reusetop

# Packages the build and the tests need, installed only when missing (Debian/Ubuntu).
DEB_PACKAGES := valgrind clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool make gcc pkg-config \
		iproute2 jq libclang-rt-14-dev qemu-system-x86 qemu-system-arm busybox-static cpio \
		gcc-aarch64-linux-gnu libc6-dev-arm64-cross libncurses-dev tmux \
		libmicrohttpd-dev prometheus curl groff-base dpkg-dev lintian python3-yaml file \
		nginx-light haproxy socat python3-gunicorn nodejs unbound dnsperf libnuma-dev
deps:
	$(Q)missing=$$(for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "  APT      $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# Everything the suite runs, built without running it.
tests-build: reusetop $(TEST_BINS)

check test: deps
	$(Q)$(MAKE) --no-print-directory tests-build
	$(Q)tests/run.sh

unit: $(OUTPUT)/tests/unit
	$(Q)$(OUTPUT)/tests/unit

demo: deps
	$(Q)$(MAKE) --no-print-directory reusetop $(OUTPUT)/tests/rig_server $(OUTPUT)/tests/rig_client
	$(Q)tests/demo.sh

# What reusetop costs, measured (not part of the suite; docs/performance.md): results on stdout
# and in bench/results.json. The rig is rebuilt without sanitizers for it, with bench/listeners.
BENCH_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -O2 -g -pthread -Iuser -Ibpf -I$(OUTPUT)
BENCH_BINS   := $(OUTPUT)/bench/rig_server $(OUTPUT)/bench/rig_client $(OUTPUT)/bench/listeners \
		$(OUTPUT)/bench/nop.bpf.o $(OUTPUT)/bench/hooks.bpf.o $(OUTPUT)/bench/hooks \
		$(OUTPUT)/bench/select_floor.bpf.o $(OUTPUT)/bench/unix_pingpong $(OUTPUT)/bench/trigger
$(OUTPUT)/bench:
	$(Q)mkdir -p $@
$(OUTPUT)/bench/rig_%: tests/rig_%.c $(wildcard tests/rig_*.h) | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(BENCH_CFLAGS) $< -o $@
# rig_server.c includes its handoff modes (tests/rig_handoff.c).
$(OUTPUT)/bench/rig_server: tests/rig_handoff.c
$(OUTPUT)/bench/listeners $(OUTPUT)/bench/unix_pingpong $(OUTPUT)/bench/trigger: \
		$(OUTPUT)/bench/%: bench/%.c bench/bench_util.h | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(BENCH_CFLAGS) $< -o $@
$(OUTPUT)/bench/%.bpf.o: bench/%.bpf.c $(wildcard bpf/*.h) $(VMLINUX_DIR)/vmlinux.h | $(OUTPUT)/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@
$(OUTPUT)/bench/hooks: bench/hooks.c | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(BENCH_CFLAGS) $< -lbpf -lelf -lz -o $@
# The fentry and kprobe tiers, measured in the qemu VM (bench/vm.sh): the VM's static builds, the
# tiers' hook rulers, their loader and a statistics reader that needs no bpftool.
BENCH_VM_BINS := $(OUTPUT)/static/reusetop $(OUTPUT)/static/rig_server $(OUTPUT)/static/rig_client \
		 $(OUTPUT)/static/hooks $(OUTPUT)/static/bpfstats \
		 $(OUTPUT)/bench/hooks_fentry.bpf.o $(OUTPUT)/bench/hooks_kprobe.bpf.o
$(OUTPUT)/static/hooks $(OUTPUT)/static/bpfstats: $(OUTPUT)/static/%: bench/%.c | $(OUTPUT)/static
	$(call msg,CC,$@)
	$(Q)$(CC) $(VM_CFLAGS) -static $< $(VM_LDLIBS) -o $@
bench: deps
	$(Q)$(MAKE) --no-print-directory reusetop $(BENCH_BINS) $(BENCH_VM_BINS)
	$(Q)BUILD=$(OUTPUT) BENCH_COMMAND="make bench" bench/run.sh
# Only the VM's section, merged into bench/results.json (VM_KERNEL="6.12 x86_64" by default).
bench-vm: deps
	$(Q)$(MAKE) --no-print-directory $(BENCH_VM_BINS)
	$(Q)BUILD=$(OUTPUT) BENCH_COMMAND="make bench-vm" bench/vm.sh

# Minutes of load and 10,000 sockets (tests/stress.sh); not part of make check.
stress: deps
	$(Q)$(MAKE) --no-print-directory reusetop $(OUTPUT)/bench/rig_server \
		$(OUTPUT)/bench/rig_client $(OUTPUT)/bench/listeners
	$(Q)tests/stress.sh

# Regenerate the checked-in vmlinux.h from the running kernel's BTF.
vmlinux:
	$(Q)mkdir -p $(VMLINUX_DIR)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX_DIR)/vmlinux.h

# The arm64 one from the BTF of the arm64 kernel the VM tests boot.
.PHONY: vmlinux-arm64
vmlinux-arm64:
	$(Q)image=$$(tests/vm/fetch-kernel.sh 6.1 aarch64) && mkdir -p vmlinux/arm64 && \
		tests/vm/extract-btf.sh $$image > vmlinux/arm64/vmlinux.h

format:
	clang-format -i $$(git ls-files -- 'user/*.[ch]' 'bpf/*.[ch]' 'tests/*.[ch]' 'bench/*.[ch]')

install: reusetop $(OUTPUT)/steer_example.bpf.o
	install -D -m 0755 reusetop $(DESTDIR)$(PREFIX)/sbin/reusetop
	install -d $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/reusetop
	sed 's|/usr/local/|$(PREFIX)/|g' man/reusetop.8 > $(DESTDIR)$(PREFIX)/share/man/man8/reusetop.8
	chmod 0644 $(DESTDIR)$(PREFIX)/share/man/man8/reusetop.8
	sed 's|/usr/local/sbin/|$(PREFIX)/sbin/|' dist/reusetop-exporter.service \
		> $(DESTDIR)$(PREFIX)/share/reusetop/reusetop-exporter.service
	chmod 0644 $(DESTDIR)$(PREFIX)/share/reusetop/reusetop-exporter.service
	install -D -m 0644 -t $(DESTDIR)$(PREFIX)/share/reusetop bpf/steer.h bpf/steer_example.bpf.c $(OUTPUT)/steer_example.bpf.o
	install -D -m 0644 -t $(DESTDIR)$(PREFIX)/share/reusetop/grafana dist/grafana/reusetop.json
	install -D -m 0644 -t $(DESTDIR)$(PREFIX)/share/reusetop/prometheus dist/prometheus/reusetop.rules.yml
	install -D -m 0644 -t $(DESTDIR)$(PREFIX)/share/reusetop/kubernetes \
		dist/kubernetes/reusetop-daemonset.yaml dist/kubernetes/Dockerfile

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/reusetop $(DESTDIR)$(PREFIX)/share/man/man8/reusetop.8
	rm -f $(DESTDIR)$(PREFIX)/share/reusetop/reusetop-exporter.service
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/share/reusetop/,steer.h steer_example.bpf.c steer_example.bpf.o)
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/share/reusetop/,grafana/reusetop.json \
		prometheus/reusetop.rules.yml kubernetes/reusetop-daemonset.yaml kubernetes/Dockerfile)
	-rmdir $(addprefix $(DESTDIR)$(PREFIX)/share/reusetop/,grafana prometheus kubernetes) \
		$(DESTDIR)$(PREFIX)/share/reusetop 2>/dev/null

# A Debian package of what `make install` installs with PREFIX=/usr, plus the package's own
# files (dist/deb/), built with dpkg-deb alone: the binary stripped, the manual compressed, the
# dependencies from dpkg-shlibdeps. lintian finds no error in it (tests/fleet_cases.sh).
DEB_ARCH  = $(shell dpkg --print-architecture)
DEB_FILE  = $(OUTPUT)/reusetop_$(VERSION)_$(DEB_ARCH).deb
DEB_ROOT := $(OUTPUT)/deb/root
deb: reusetop $(OUTPUT)/steer_example.bpf.o
	$(call msg,DEB,$(DEB_FILE))
	$(Q)rm -rf $(OUTPUT)/deb && mkdir -p $(DEB_ROOT)/DEBIAN $(OUTPUT)/deb/debian
	$(Q)$(MAKE) --no-print-directory -s install DESTDIR=$(abspath $(DEB_ROOT)) PREFIX=/usr >/dev/null
	$(Q)strip --remove-section=.comment --remove-section=.note --strip-unneeded \
		$(DEB_ROOT)/usr/sbin/reusetop
	$(Q)gzip -9n $(DEB_ROOT)/usr/share/man/man8/reusetop.8
	$(Q)# A BPF object is architecture-dependent (FHS): /usr/lib, not /usr/share.
	$(Q)install -D -m 0644 -t $(DEB_ROOT)/usr/lib/reusetop \
		$(DEB_ROOT)/usr/share/reusetop/steer_example.bpf.o
	$(Q)rm $(DEB_ROOT)/usr/share/reusetop/steer_example.bpf.o
	$(Q)install -D -m 0644 dist/deb/lintian-overrides \
		$(DEB_ROOT)/usr/share/lintian/overrides/reusetop
	$(Q)install -D -m 0644 dist/deb/copyright $(DEB_ROOT)/usr/share/doc/reusetop/copyright
	$(Q)gzip -9nc dist/deb/changelog >$(DEB_ROOT)/usr/share/doc/reusetop/changelog.gz
	$(Q)printf 'Source: reusetop\n\nPackage: reusetop\nArchitecture: any\n' \
		>$(OUTPUT)/deb/debian/control
	$(Q)cd $(OUTPUT)/deb && dpkg-shlibdeps -O root/usr/sbin/reusetop >substvars
	$(Q)depends=$$(sed -n 's/^shlibs:Depends=//p' $(OUTPUT)/deb/substvars) && \
		[ -n "$$depends" ] && size=$$(du -k -s --apparent-size $(DEB_ROOT)/usr | cut -f1) && \
		sed -e 's/@VERSION@/$(VERSION)/' -e 's/@ARCH@/$(DEB_ARCH)/' -e "s/@SIZE@/$$size/" \
			-e "s/@DEPENDS@/$$depends/" dist/deb/control >$(DEB_ROOT)/DEBIAN/control
	$(Q)cd $(DEB_ROOT) && find usr -type f | LC_ALL=C sort | xargs md5sum >DEBIAN/md5sums
	$(Q)chmod -R u+w,go-w,a+rX $(DEB_ROOT)
	$(Q)dpkg-deb --root-owner-group --build $(DEB_ROOT) $(DEB_FILE) >/dev/null

# One statically linked reusetop for any x86_64 (or arm64) Linux with BTF: the VMs' build,
# without the exporter (README.md, "Static binary").
static: $(OUTPUT)/static/reusetop
	@echo "  STATIC   $(OUTPUT)/static/reusetop"

clean:
	rm -rf $(OUTPUT) reusetop

-include $(USER_OBJS:.o=.d) $(SAN_OBJS:.o=.d) $(OUTPUT)/static/exporter.d
