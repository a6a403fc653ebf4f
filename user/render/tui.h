/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The live full-screen view (ncurses). It draws views and handles keys; the source behind it
 * does all the discovering and collecting, so the TUI never touches BPF maps or sockets.
 */
#ifndef REUSETOP_TUI_H
#define REUSETOP_TUI_H

#include <signal.h>
#include <stddef.h>

#include "observe/model.h"

struct rt_source {
	/*
	 * Take a new sample and build the view (valid until the next call). Returns 0, or -errno
	 * with a one-line reason in err.
	 */
	int (*update)(void *arg, struct rt_view *view, char *err, size_t errlen);
	void *arg;
};

/*
 * Run until the user quits (q), *stop becomes non-zero (SIGINT, SIGTERM, SIGHUP), `iterations`
 * updates were shown (0: no limit) or an update fails. The terminal is restored on every path.
 * Returns 0, or -errno with a one-line reason in err.
 */
int tui_run(const struct rt_source *src, double delay_s, unsigned long iterations,
	    volatile sig_atomic_t *stop, char *err, size_t errlen);

#endif
