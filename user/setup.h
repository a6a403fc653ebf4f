/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Process setup shared by reusetop's modes (observing, steer): privileges, signals, the file
 * systems BPF needs, libbpf's messages and reusetop's own one-line errors on stderr.
 */
#ifndef REUSETOP_SETUP_H
#define REUSETOP_SETUP_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The capabilities loading BPF programs needs that this process lacks, as "CAP_BPF, CAP_PERFMON"
 * in missing ("" when none: root, CAP_SYS_ADMIN, or both). Returns 0 or -errno.
 */
int missing_bpf_caps(char *missing, size_t len);
/*
 * SIGINT, SIGTERM and SIGHUP call handler, without SA_RESTART so that sleeps and blocking calls
 * end at once; SIGPIPE is ignored (a closed pipe is seen as EPIPE on write).
 */
void install_stop_signals(void (*handler)(int));

/* Mount tracefs at /sys/kernel/tracing when no tracefs is reachable (tracepoint ids live there). */
int ensure_tracefs(void);
/* Mount bpffs at /sys/fs/bpf when it is not there (pinning needs it). */
int ensure_bpffs(void);

/*
 * libbpf's own messages (verifier logs, ...) on stderr when verbose, hidden otherwise: probing
 * tiers fails on purpose on many kernels, and those logs are noise unless asked for.
 */
void setup_libbpf_print(bool verbose);
bool verbose_enabled(void);

/* "reusetop: MESSAGE" on stderr; returns status, so that `return report_error(2, ...)` reads. */
int report_error(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "reusetop: warning: MESSAGE" on stderr. */
void report_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
