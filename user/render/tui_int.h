/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the parts of the live view share: the rows the layout makes, the column table, the key
 * table and the state of one run (struct tui, passed to every part). tui_columns.c has the
 * columns, tui_layout.c the layout, tui_draw.c the drawing, tui.c the keys and the loop. Only
 * these include it.
 */
#ifndef REUSETOP_TUI_INT_H
#define REUSETOP_TUI_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "observe/model.h"

#define CELL_LEN   128 /* longest cell, including the bar */
#define FILTER_LEN 64

/* ---- rows: what the layout produces ------------------------------------------------------- */

enum row_kind {
	ROW_GROUP,
	ROW_SOCK,
	ROW_ACCEPTOR,
};

struct row {
	enum row_kind kind;
	const struct rt_group_view *g;
	const struct rt_sock_view *s; /* ROW_SOCK */
	const struct rt_acceptor_view *a; /* ROW_ACCEPTOR */
	bool last; /* the last acceptor under its socket */
	bool handoff; /* a task that received connections passed to it: a = its counts as accepts */
	size_t idx; /* position in the model's order: ties keep it */
};

/* ---- the column table ----------------------------------------------------------------------- */

/*
 * One column of member and acceptor rows. A new measurement is one entry in the table
 * (tui_columns.c) and one more in NCOLUMNS: cell() writes the text (width characters at most;
 * "" when the column does not apply to the row, "-" when the value is unknown), key() the value
 * rows sort by (NAN: unknown, always last), group_key() the group's total groups sort by (NULL:
 * groups go by their conn/s).
 */
struct column {
	const char *name;
	int width; /* the bar's is its minimum: it takes what the others leave, up to BAR_MAX */
	int drop; /* narrow terminals drop the highest first (the rightmost of equals); 0 never */
	bool left; /* left aligned */
	bool asc; /* sorts ascending unless reversed (identifiers); counts sort descending */
	bool bar;
	void (*cell)(const struct rt_view *v, const struct row *r, char *buf, int width);
	double (*key)(const struct rt_view *v, const struct row *r);
	const char *(*text_key)(const struct row *r); /* sorts by this string instead of key */
	double (*group_key)(const struct rt_view *v, const struct rt_group_view *g);
	const char *help;
};

/* Left to right (tui_columns.c); NCOLUMNS is checked against the table where it is defined. */
#define NCOLUMNS 19
extern const struct column columns[];

struct placed {
	size_t col;
	int x, width;
};

/*
 * Which columns fit in width characters, and where (out has room for NCOLUMNS); containers:
 * include the CONTAINER column. Returns how many were placed.
 */
size_t place_columns(int width, bool containers, struct placed *out);
/* Whether a socket's owner or a task of v runs in a container (the CONTAINER column). */
bool view_has_containers(const struct rt_view *v);
/* The container of a row's process, NULL when none is known. */
const struct rt_identity *row_identity(const struct row *r);
/* The column of that name, or the first. */
size_t column_named(const char *name);
bool sortable(size_t c);
bool interval_basis(const struct rt_group_view *g);
double key_acc_rate(const struct rt_view *v, const struct row *r);

/* ---- state and layout ----------------------------------------------------------------------- */

/* A task that received hand-offs, shown as an acceptor row (tui_layout.c). */
struct tui_receiver {
	struct rt_acceptor_sample a;
	struct rt_acceptor_view v;
	bool placed;
};

struct tui {
	/* what the user chose */
	size_t sort_col;
	bool reverse, paused, help, tree;
	char filter[FILTER_LEN];
	int scroll;
	/* the filter prompt while it is open */
	bool prompt;
	char input[FILTER_LEN];
	/* the last view; valid until the next update */
	struct rt_view view;
	bool have_view;
	double delay_s;
	/* the layout of that view */
	struct row *rows;
	size_t nrows, cap;
	/* receivers of hand-offs as acceptor rows: their received connections as accepts */
	struct tui_receiver *recv;
	size_t nrecv, recv_cap;
	size_t groups_shown;
	/* the screen */
	bool colors;
	int body_h; /* rows of the scrolling part at the last draw */
};

/* Whether rows sort descending now. */
bool sort_desc(const struct tui *t);
/* The view, filtered and sorted, into t->rows (tui_layout.c). */
int layout(struct tui *t);

/* ---- drawing (tui_draw.c) ---------------------------------------------------------------- */

enum {
	PAIR_BAR = 1,
	PAIR_WARN,
	PAIR_SORT,
	PAIR_KEYS,
};

/* COLS, at most LINE_LEN - 1 (tui_draw.c). */
int screen_width(void);
/* The whole screen from t's last layout. */
void draw(struct tui *t);

/* ---- keys (tui.c) ----------------------------------------------------------------------- */

enum action {
	ACT_NONE,
	ACT_QUIT,
	ACT_HELP,
	ACT_SORT_NEXT,
	ACT_SORT_PREV,
	ACT_REVERSE,
	ACT_PAUSE,
	ACT_FILTER,
	ACT_TREE,
	ACT_UP,
	ACT_DOWN,
	ACT_PAGE_UP,
	ACT_PAGE_DOWN,
	ACT_HOME,
	ACT_END,
	ACT_REDRAW,
};

/* The key table, htop style: the keys of each action, and what the help overlay says of them. */
struct binding {
	enum action action;
	int keys[4]; /* 0 ends */
	const char *names, *what;
};

#define NBINDINGS 15
extern const struct binding bindings[];

#endif
