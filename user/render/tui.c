// SPDX-License-Identifier: GPL-2.0
/*
 * The live view, after top and htop: a header with the totals and anything degraded, one block
 * per reuseport group with a row per member socket (and, under shared listeners, the tasks that
 * accept from them), a key bar at the bottom.
 *
 * Four parts, kept apart: the column table (tui_columns.c: what a column shows, how wide it is,
 * when it goes on narrow terminals, how it sorts), the layout (tui_layout.c: the view, filtered
 * and sorted, into rows; no curses), the drawing (tui_draw.c), and here the keys, the terminal
 * and the loop. The view belongs to the model and stays valid until the next update, so while
 * paused no update is taken and the last view is drawn again.
 */
#include <ctype.h>
#include <curses.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "render/tui.h"
#include "render/tui_int.h"
#include "util.h"

/* Control keys as the terminal sends them. */
enum { KEY_CTRL_H = 8, KEY_CTRL_L = 12, KEY_CTRL_U = 21, KEY_ESC = 27, KEY_DEL = 127 };

/* The keys of each action, and what the help overlay says of them. */
const struct binding bindings[] = {
	{ACT_QUIT, {'q', 'Q', KEY_F(10)}, "q  F10  Ctrl-C", "quit"},
	{ACT_HELP, {'h', '?', KEY_F(1)}, "h  ?  F1", "this help (any key closes it)"},
	{ACT_SORT_NEXT, {'s', '>', '.', KEY_F(6)}, "s  >  .  F6", "sort by the next column"},
	{ACT_SORT_PREV, {'<', ','}, "<  ,", "sort by the previous column"},
	{ACT_REVERSE, {'r', 'I'}, "r  I", "reverse the order"},
	{ACT_PAUSE, {'p', 'Z'}, "p  Z", "pause / resume (the last sample stays on screen)"},
	{ACT_FILTER,
	 {'f', '/', KEY_F(4)},
	 "f  /  F4",
	 "filter: port (exact), command or container (part)"},
	{ACT_TREE, {'t'}, "t", "show / hide the tasks accepting from shared listeners"},
	{ACT_UP, {KEY_UP, 'k'}, "Up  k", "scroll up a line"},
	{ACT_DOWN, {KEY_DOWN, 'j'}, "Down  j", "scroll down a line"},
	{ACT_PAGE_UP, {KEY_PPAGE}, "PgUp", "scroll up a page"},
	{ACT_PAGE_DOWN, {KEY_NPAGE, ' '}, "PgDn  Space", "scroll down a page"},
	{ACT_HOME, {KEY_HOME, 'g'}, "Home  g", "first line"},
	{ACT_END, {KEY_END, 'G'}, "End  G", "last line"},
	{ACT_REDRAW, {KEY_CTRL_L}, "Ctrl-L", "redraw the screen"},
};

_Static_assert(ARRAY_LEN(bindings) == NBINDINGS, "NBINDINGS is the number of bindings");

static enum action action_of(int key)
{
	for (size_t i = 0; i < NBINDINGS; i++)
		for (size_t k = 0; k < 4 && bindings[i].keys[k]; k++)
			if (bindings[i].keys[k] == key)
				return bindings[i].action;
	return ACT_NONE;
}

/* ---- keys ------------------------------------------------------------------------------------ */

/* Next sortable column to the right (dir 1) or left (-1) among those on screen, wrapping. */
static void move_sort(struct tui *t, int dir)
{
	struct placed pl[NCOLUMNS];
	bool shown[NCOLUMNS] = {};
	size_t npl = place_columns(screen_width(), view_has_containers(&t->view), pl),
	       c = t->sort_col;

	for (size_t i = 0; i < npl; i++)
		shown[pl[i].col] = true;
	for (size_t i = 0; i < NCOLUMNS; i++) {
		c = (c + NCOLUMNS + (size_t)dir) % NCOLUMNS;
		if (sortable(c) && shown[c]) {
			t->sort_col = c;
			return;
		}
	}
}

/* A key while the filter prompt is open. */
static void prompt_key(struct tui *t, int key)
{
	size_t n = strlen(t->input);

	if (key == '\n' || key == '\r' || key == KEY_ENTER) {
		char *s = t->input, *e;

		/* Trimmed; empty clears the filter. */
		while (isspace((unsigned char)*s))
			s++;
		e = s + strlen(s);
		while (e > s && isspace((unsigned char)e[-1]))
			*--e = '\0';
		snprintf(t->filter, sizeof(t->filter), "%s", s);
		t->prompt = false;
		t->scroll = 0;
	} else if (key == KEY_ESC) {
		t->prompt = false;
	} else if (key == KEY_BACKSPACE || key == KEY_DEL || key == KEY_CTRL_H) {
		if (n)
			t->input[n - 1] = '\0';
	} else if (key == KEY_CTRL_U) {
		t->input[0] = '\0';
	} else if (key >= 32 && key < 127 && n + 1 < sizeof(t->input)) {
		t->input[n] = (char)key;
		t->input[n + 1] = '\0';
	}
}

/* Returns false when the user quits. */
static bool handle_key(struct tui *t, int key)
{
	if (key == KEY_RESIZE)
		return true;
	if (t->prompt) {
		prompt_key(t, key);
		return true;
	}
	if (t->help) { /* any key closes it */
		t->help = false;
		return true;
	}
	switch (action_of(key)) {
	case ACT_QUIT:
		return false;
	case ACT_HELP:
		t->help = true;
		break;
	case ACT_SORT_NEXT:
		move_sort(t, 1);
		break;
	case ACT_SORT_PREV:
		move_sort(t, -1);
		break;
	case ACT_REVERSE:
		t->reverse = !t->reverse;
		break;
	case ACT_PAUSE:
		t->paused = !t->paused;
		break;
	case ACT_FILTER:
		t->prompt = true;
		snprintf(t->input, sizeof(t->input), "%s", t->filter);
		break;
	case ACT_TREE:
		t->tree = !t->tree;
		break;
	case ACT_UP:
		t->scroll--;
		break;
	case ACT_DOWN:
		t->scroll++;
		break;
	case ACT_PAGE_UP:
		t->scroll -= t->body_h > 1 ? t->body_h - 1 : 1;
		break;
	case ACT_PAGE_DOWN:
		t->scroll += t->body_h > 1 ? t->body_h - 1 : 1;
		break;
	case ACT_HOME:
		t->scroll = 0;
		break;
	case ACT_END:
		t->scroll = (int)t->nrows;
		break;
	case ACT_REDRAW:
		clearok(curscr, TRUE);
		break;
	case ACT_NONE:
		break;
	}
	return true;
}

/* ---- the terminal and the loop --------------------------------------------------------------- */

static SCREEN *screen;
static FILE *tty_in; /* /dev/tty when stdin is not the terminal */
static char *saved_ctype;

/* Restores the terminal; safe to call twice, and from atexit on paths that skip tui_run's. */
static void tui_end(void)
{
	if (screen) {
		endwin();
		delscreen(screen);
		screen = NULL;
	}
	if (tty_in) {
		fclose(tty_in);
		tty_in = NULL;
	}
	if (saved_ctype) {
		setlocale(LC_CTYPE, saved_ctype);
		free(saved_ctype);
		saved_ctype = NULL;
	}
}

static int tui_begin(struct tui *t, char *err, size_t errlen)
{
	static bool registered;
	const char *term = getenv("TERM");
	FILE *in = stdin;
	const char *ctype = setlocale(LC_CTYPE, NULL);
	char *cup;

	if (!registered && !atexit(tui_end))
		registered = true;
	/* ncursesw needs the terminal's character set; only LC_CTYPE, numbers stay "1.5". */
	saved_ctype = ctype ? strdup(ctype) : NULL;
	setlocale(LC_CTYPE, "");
	if (!isatty(STDIN_FILENO)) {
		tty_in = fopen("/dev/tty", "r");
		in = tty_in;
	}
	screen = in ? newterm(NULL, stdout, in) : NULL;
	if (!screen) {
		tui_end();
		snprintf(err, errlen,
			 "failed to start the live view on terminal type '%s' (use -b or -j)",
			 term ? term : "(unset)");
		return -ENOTTY;
	}
	/* "dumb" and the like: a full-screen view needs to move the cursor. */
	cup = tigetstr("cup");
	if (!cup || cup == (char *)-1) {
		tui_end();
		snprintf(err, errlen, "terminal type '%s' cannot move the cursor (use -b or -j)",
			 term ? term : "(unset)");
		return -ENOTTY;
	}
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(50);
	curs_set(0);
	if (has_colors() && !getenv("NO_COLOR") && start_color() == OK) {
		use_default_colors();
		init_pair(PAIR_BAR, COLOR_GREEN, -1);
		init_pair(PAIR_WARN, COLOR_YELLOW, -1);
		init_pair(PAIR_SORT, COLOR_BLACK, COLOR_CYAN);
		init_pair(PAIR_KEYS, COLOR_BLACK, COLOR_CYAN);
		t->colors = true;
	}
	return 0;
}

/* Wait for a key, a signal (stop, SIGWINCH) or the deadline; false when the terminal is gone. */
static bool wait_input(double deadline)
{
	struct pollfd pfd = {.fd = fileno(tty_in ? tty_in : stdin), .events = POLLIN};
	double left = deadline - mono_s();
	int ms = left <= 0 ? 0 : (int)ceil(left * 1000);

	return poll(&pfd, 1, ms) <= 0 || !(pfd.revents & (POLLHUP | POLLERR | POLLNVAL));
}

int tui_run(const struct rt_source *src, double delay_s, unsigned long iterations,
	    volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	struct tui t = {.sort_col = column_named("CONN/S"), .tree = true, .delay_s = delay_s};
	double start = mono_s(), next = start + delay_s;
	unsigned long shown = 0;
	bool quit = false;
	int ret = 0;

	if ((ret = tui_begin(&t, err, errlen)))
		return ret;
	draw(&t);
	while (!*stop && !quit) {
		bool dirty = false;
		int key;

		if (mono_s() >= next) {
			if (!t.paused) {
				if ((ret = src->update(src->arg, &t.view, err, errlen)))
					break;
				t.have_view = true;
				shown++;
			}
			/* The next tick on the grid, skipping those a stall (or a pause) missed. */
			next = start + (floor((mono_s() - start) / delay_s) + 1) * delay_s;
			dirty = true;
		} else if (!wait_input(next)) {
			break; /* hung up: nobody left to draw for */
		}
		while (!*stop && (key = getch()) != ERR) {
			quit = !handle_key(&t, key);
			dirty = true;
			if (quit)
				break;
		}
		if (dirty && !quit && !*stop) {
			if ((ret = layout(&t))) {
				snprintf(err, errlen, "failed to lay out the view: %s",
					 strerror(-ret));
				break;
			}
			draw(&t);
		}
		if (iterations && shown >= iterations)
			break;
	}
	tui_end();
	free(t.rows);
	free(t.recv);
	return ret;
}
