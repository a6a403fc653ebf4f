// SPDX-License-Identifier: GPL-2.0
/*
 * The live view's drawing (curses): the header with the totals and anything degraded, a line
 * per group, the rows in the columns that fit, the key bar and the help overlay.
 */
#include <curses.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "render/tui_int.h"
#include "steer/steer.h"
#include "util.h"

#define LINE_LEN 1024 /* wider terminals are drawn 1023 columns wide */

/* Pieces of a one-line summary: the highest `drop` goes first when the line is too long. */
struct piece {
	char text[96];
	int drop;
};

static void fit_pieces(struct piece *p, size_t n, int width, char *out, size_t len)
{
	bool keep[16];
	int total = -2;

	n = n > 16 ? 16 : n;
	for (size_t i = 0; i < n; i++) {
		keep[i] = p[i].text[0] != '\0';
		total += keep[i] ? (int)strlen(p[i].text) + 2 : 0;
	}
	while (total > width) {
		size_t worst = n;

		for (size_t i = 0; i < n; i++)
			if (keep[i] && p[i].drop && (worst == n || p[i].drop >= p[worst].drop))
				worst = i;
		if (worst == n)
			break;
		keep[worst] = false;
		total -= (int)strlen(p[worst].text) + 2;
	}
	out[0] = '\0';
	for (size_t i = 0, used = 0; i < n; i++) {
		if (!keep[i])
			continue;
		used += (size_t)snprintf(out + used, used < len ? len - used : 0, "%s%s",
					 used ? "  " : "", p[i].text);
	}
}

static const char *fmt_rate(char *buf, size_t len, double v, int decimals)
{
	if (isfinite(v))
		snprintf(buf, len, "%.*f", decimals, v);
	else
		snprintf(buf, len, "-");
	return buf;
}

static const char *fmt_pct(char *buf, size_t len, double v)
{
	if (isfinite(v))
		snprintf(buf, len, "%.1f%%", v * 100);
	else
		snprintf(buf, len, "-");
	return buf;
}

static void add_piece(struct piece *p, size_t *n, int drop, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Appends a piece of a summary line; drop as in struct piece. */
static void add_piece(struct piece *p, size_t *n, int drop, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p[*n].text, sizeof(p[*n].text), fmt, ap);
	va_end(ap);
	p[(*n)++].drop = drop;
}

int screen_width(void)
{
	return COLS < LINE_LEN ? COLS : LINE_LEN - 1;
}

/* A line of text, cut at the screen's width, with attributes. */
static void put_line(int y, const char *s, attr_t attr)
{
	if (y < 0 || y >= LINES)
		return;
	attron(attr);
	mvaddnstr(y, 0, s, screen_width());
	attroff(attr);
}

/*
 * The group's steering by `reusetop steer`, compact: the policy and its fallbacks; in shadow
 * mode what the policy would have done beside what the kernel's hash did (max share, Jain).
 */
static void steer_piece(struct piece *p, size_t *n, const struct rt_group_view *g)
{
	const struct steer_group_stats *st = g->steering;
	uint64_t would[STEER_MAX_MEMBERS], real[STEER_MAX_MEMBERS];
	struct rt_imbalance w, r;
	char a[32], b[32], c[32], d[32];
	size_t k = 0;

	if (!st)
		return;
	if (!st->shadow) {
		add_piece(p, n, 1, "steer %s fallbacks %llu", st->policy,
			  (unsigned long long)st->fallbacks);
		return;
	}
	for (size_t i = 0; i < g->nsocks && k < STEER_MAX_MEMBERS; i++) {
		const struct steer_member_stats *m = g->socks[i].steered;

		if (!m)
			continue;
		would[k] = m->would_select;
		real[k++] = m->selected + m->hashed;
	}
	w = imbalance_of(would, k);
	r = imbalance_of(real, k);
	add_piece(p, n, 1, "shadow %s: would max %s jain %s, real max %s jain %s", st->policy,
		  fmt_pct(a, sizeof(a), w.max_share), fmt_rate(b, sizeof(b), w.jain, 3),
		  fmt_pct(c, sizeof(c), r.max_share), fmt_rate(d, sizeof(d), r.jain, 3));
}

static void draw_group(const struct tui *t, int y, const struct rt_group_view *g, int width)
{
	bool interval = interval_basis(g);
	struct rt_imbalance imb = interval ? g->interval_imbalance : g->imbalance;
	double wpc = isfinite(g->interval_wakeups_per_conn) ? g->interval_wakeups_per_conn
							    : g->wakeups_per_conn;
	struct piece p[11] = {};
	char addr[96], rate[32], line[LINE_LEN];
	size_t n = 0;

	endpoint_str(g->family, g->addr, g->bound_dev, g->port, addr, sizeof(addr));
	add_piece(p, &n, 0, "%s %s%s%s", g->proto == IPPROTO_UDP ? "UDP" : "TCP", addr,
		  g->v6only > 0 ? " v6only" : "", g->closed ? " closed" : "");
	add_piece(p, &n, 2, "members %zu", g->nsocks);
	steer_piece(p, &n, g);
	add_piece(p, &n, 0, "conn/s %s", fmt_rate(rate, sizeof(rate), g->enqueued_rate, 1));
	add_piece(p, &n, 4, "acc/s %s", fmt_rate(rate, sizeof(rate), g->accepted_rate, 1));
	add_piece(p, &n, 3, "max-share %s", fmt_pct(rate, sizeof(rate), imb.max_share));
	add_piece(p, &n, 5, "jain %s", fmt_rate(rate, sizeof(rate), imb.jain, 3));
	/* 1.0 is ideal; N: N tasks woke for each connection (the herd). */
	add_piece(p, &n, 6, "wakeups/conn %s", fmt_rate(rate, sizeof(rate), wpc, 2));
	/* Shares are over the last interval; say so when they fell back to since-start. */
	if (!interval && isfinite(g->imbalance.max_share))
		add_piece(p, &n, 7, "(shares since start)");
	if (t->view.features.enqueued)
		add_piece(p, &n, 8, "enqueued %llu", (unsigned long long)g->enqueued);
	add_piece(p, &n, 9, "netns %llu", (unsigned long long)g->netns);
	fit_pieces(p, n, width, line, sizeof(line));
	put_line(y, line, A_BOLD);
}

static void draw_row(const struct tui *t, int y, const struct row *r, const struct placed *pl,
		     size_t npl, int width)
{
	char line[LINE_LEN];
	int bar_x = -1, bar_n = 0;

	if (r->kind == ROW_GROUP) {
		draw_group(t, y, r->g, width);
		return;
	}
	memset(line, ' ', (size_t)width);
	line[width] = '\0';
	for (size_t i = 0; i < npl; i++) {
		const struct column *c = &columns[pl[i].col];
		char cell[CELL_LEN] = "";
		int len, x;

		c->cell(&t->view, r, cell, pl[i].width);
		len = (int)strlen(cell);
		len = len > pl[i].width ? pl[i].width : len;
		x = c->left ? pl[i].x : pl[i].x + pl[i].width - len;
		if (x < 0 || x + len > width)
			continue;
		memcpy(line + x, cell, (size_t)len);
		if (c->bar && len) {
			bar_x = x + 1;
			bar_n = (int)strspn(cell + 1, "|");
		}
	}
	put_line(y, line, A_NORMAL);
	if (bar_x >= 0 && bar_n)
		mvchgat(y, bar_x, bar_n, t->colors ? A_NORMAL : A_BOLD, t->colors ? PAIR_BAR : 0,
			NULL);
}

static void draw_column_header(const struct tui *t, int y, const struct placed *pl, size_t npl,
			       int width)
{
	char line[LINE_LEN];
	int sort_x = -1, sort_w = 0;

	memset(line, ' ', (size_t)width);
	line[width] = '\0';
	for (size_t i = 0; i < npl; i++) {
		const struct column *c = &columns[pl[i].col];
		int len = (int)strlen(c->name);
		int x;

		len = len > pl[i].width ? pl[i].width : len;
		x = c->left ? pl[i].x : pl[i].x + pl[i].width - len;
		if (x < 0 || x + len > width)
			continue;
		memcpy(line + x, c->name, (size_t)len);
		if (pl[i].col == t->sort_col) {
			sort_x = pl[i].x;
			sort_w = pl[i].width;
		}
	}
	put_line(y, line, A_REVERSE);
	if (sort_x >= 0)
		mvchgat(y, sort_x, sort_w, A_REVERSE | A_BOLD, t->colors ? PAIR_SORT : 0, NULL);
}

/* Top lines: totals, then what is degraded or lost, then sort/filter/pause. Returns the next y. */
static int draw_header(const struct tui *t, int width)
{
	const struct rt_view *v = &t->view;
	struct piece p[8] = {};
	char line[LINE_LEN], rate[32];
	size_t n = 0;
	int y = 0;

	add_piece(p, &n, 0, "reusetop %s", REUSETOP_VERSION);
	if (!t->have_view) {
		add_piece(p, &n, 0, "collecting the first %.1fs of counters...", t->delay_s);
	} else {
		struct tm tm;
		char when[16];

		localtime_r(&v->realtime.tv_sec, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		add_piece(p, &n, 5, "%s", when);
		add_piece(p, &n, 3, "attach %s", v->attach ? v->attach : "none");
		if (t->groups_shown != v->ngroups)
			add_piece(p, &n, 2, "groups %zu of %zu", t->groups_shown, v->ngroups);
		else
			add_piece(p, &n, 2, "groups %zu", v->ngroups);
		add_piece(p, &n, 4, "sockets %zu", v->nsockets);
		add_piece(p, &n, 0, "conn/s %s", fmt_rate(rate, sizeof(rate), v->enqueued_rate, 1));
		add_piece(p, &n, 2, "acc/s %s", fmt_rate(rate, sizeof(rate), v->accepted_rate, 1));
		add_piece(p, &n, 6, "interval %.2fs", v->interval_s);
	}
	fit_pieces(p, n, width, line, sizeof(line));
	put_line(y++, line, A_BOLD);

	if (t->have_view) {
		attr_t warn = t->colors ? COLOR_PAIR(PAIR_WARN) | A_BOLD : A_BOLD;

		for (size_t i = 0; v->degraded && v->degraded[i]; i++) {
			snprintf(line, sizeof(line), "degraded: %s", v->degraded[i]);
			put_line(y++, line, warn);
		}
		if (v->health.sock_map_full || v->health.acceptor_map_full ||
		    v->health.inflight_full) {
			snprintf(
				line, sizeof(line),
				"lost: socket map full %llu, acceptor map full %llu, in-flight map "
				"full %llu",
				(unsigned long long)v->health.sock_map_full,
				(unsigned long long)v->health.acceptor_map_full,
				(unsigned long long)v->health.inflight_full);
			put_line(y++, line, warn);
		}
	}

	snprintf(line, sizeof(line), "Sort: %s %s", columns[t->sort_col].name,
		 sort_desc(t) ? "(desc)" : "(asc)");
	if (t->filter[0]) {
		size_t len = strlen(line);

		snprintf(line + len, sizeof(line) - len, "   Filter: %s", t->filter);
	}
	put_line(y, line, A_NORMAL);
	if (t->paused) {
		int x = (int)strlen(line) + 3;

		if (x + 6 <= width) {
			attron(A_REVERSE | A_BOLD);
			mvaddstr(y, x, "PAUSED");
			attroff(A_REVERSE | A_BOLD);
		}
	}
	return y + 1;
}

struct key_hint {
	const char *key, *label;
};

/* The bottom line: the keys, htop style, or the filter prompt while it is open. */
static void draw_bottom(const struct tui *t, int width)
{
	const struct key_hint hints[] = {
		{"h", "Help"},
		{"s", "Sort"},
		{"r", "Reverse"},
		{"f", "Filter"},
		{"p", t->paused ? "Resume" : "Pause"},
		{"t", "Tree"},
		{"q", "Quit"},
	};
	int y = LINES - 1, x = 0;

	if (y < 1)
		return;
	move(y, 0);
	clrtoeol();
	if (t->prompt) {
		char line[LINE_LEN];

		snprintf(line, sizeof(line),
			 "Filter (port or command or container; Enter applies, Esc cancels): %s",
			 t->input);
		put_line(y, line, A_BOLD);
		move(y, (int)strlen(line) < width ? (int)strlen(line) : width - 1);
		return;
	}
	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
		int klen = (int)strlen(hints[i].key), llen = (int)strlen(hints[i].label);

		if (x + klen + llen + 2 > width)
			break;
		attron(A_BOLD);
		mvaddstr(y, x, hints[i].key);
		attroff(A_BOLD);
		x += klen;
		attron(t->colors ? COLOR_PAIR(PAIR_KEYS) : A_REVERSE);
		mvprintw(y, x, " %s ", hints[i].label);
		attroff(t->colors ? COLOR_PAIR(PAIR_KEYS) : A_REVERSE);
		x += llen + 3;
	}
}

static void draw_help(int width)
{
	const int lines = (int)(NBINDINGS + NCOLUMNS + 3);
	int w = width - 4 < 78 ? width - 4 : 78, h = LINES - 2 < lines ? LINES - 2 : lines;
	int x0 = (width - w) / 2, y0 = (LINES - h) / 2, y;
	char line[LINE_LEN];

	if (w < 20 || h < 4)
		return;
	for (y = y0; y < y0 + h; y++)
		mvprintw(y, x0, "%*s", w, "");
	mvhline(y0, x0 + 1, ACS_HLINE, w - 2);
	mvhline(y0 + h - 1, x0 + 1, ACS_HLINE, w - 2);
	mvvline(y0 + 1, x0, ACS_VLINE, h - 2);
	mvvline(y0 + 1, x0 + w - 1, ACS_VLINE, h - 2);
	mvaddch(y0, x0, ACS_ULCORNER);
	mvaddch(y0, x0 + w - 1, ACS_URCORNER);
	mvaddch(y0 + h - 1, x0, ACS_LLCORNER);
	mvaddch(y0 + h - 1, x0 + w - 1, ACS_LRCORNER);
	attron(A_BOLD);
	mvaddstr(y0, x0 + 2, " reusetop keys ");
	attroff(A_BOLD);
	y = y0 + 1;
	for (size_t i = 0; i < NBINDINGS && y < y0 + h - 1; i++, y++) {
		snprintf(line, sizeof(line), " %-16s %s", bindings[i].names, bindings[i].what);
		mvaddnstr(y, x0 + 1, line, w - 2);
	}
	y++;
	for (size_t c = 0; c < NCOLUMNS && y < y0 + h - 1; c++) {
		if (!columns[c].help)
			continue;
		snprintf(line, sizeof(line), " %-9s %s", columns[c].name, columns[c].help);
		mvaddnstr(y++, x0 + 1, line, w - 2);
	}
}

void draw(struct tui *t)
{
	struct placed pl[NCOLUMNS];
	int width = screen_width(), y, end;
	size_t npl;

	erase();
	if (width < 1 || LINES < 1) {
		refresh();
		return;
	}
	npl = place_columns(width, t->have_view && view_has_containers(&t->view), pl);
	y = draw_header(t, width);
	draw_column_header(t, y++, pl, npl, width);
	end = LINES - 1; /* the key bar */
	t->body_h = end - y > 0 ? end - y : 0;
	if (t->scroll > (int)t->nrows - t->body_h)
		t->scroll = (int)t->nrows - t->body_h;
	if (t->scroll < 0)
		t->scroll = 0;
	if (!t->nrows && t->have_view)
		put_line(y,
			 t->filter[0] ? "  no group matches the filter"
				      : "  no listening sockets (or none match -p/-P)",
			 A_NORMAL);
	for (int i = 0; y < end && (size_t)(t->scroll + i) < t->nrows; i++, y++)
		draw_row(t, y, &t->rows[t->scroll + i], pl, npl, width);
	draw_bottom(t, width);
	if (t->help)
		draw_help(width);
	curs_set(t->prompt ? 1 : 0);
	refresh();
}
