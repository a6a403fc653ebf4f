/* SPDX-License-Identifier: GPL-2.0 */
/* Process setup shared by reusetop's modes (observing, steer): privileges and signals. */
#ifndef REUSETOP_SETUP_H
#define REUSETOP_SETUP_H

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

#endif
