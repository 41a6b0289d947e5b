/* Results of one benchmark run (see bench_report.h). The SVG is written by hand: horizontal bars,
 * one panel per unit family (throughput, latency, memory), each scaled to its own maximum. */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bench_report.h"

struct row {
	char test[48];
	char metric[64];
	double value;
	char unit[16];
	char note[160];
	bool na;
};

static struct row *rows;
static size_t n_rows, cap_rows;

static struct row *add_row(const char *test, const char *metric, const char *unit)
{
	if (n_rows == cap_rows) {
		size_t cap = cap_rows ? cap_rows * 2 : 32;
		struct row *r = realloc(rows, cap * sizeof(*r));
		if (!r)
			return NULL;
		rows = r;
		cap_rows = cap;
	}
	struct row *r = &rows[n_rows++];
	memset(r, 0, sizeof(*r));
	snprintf(r->test, sizeof(r->test), "%s", test);
	snprintf(r->metric, sizeof(r->metric), "%s", metric);
	snprintf(r->unit, sizeof(r->unit), "%s", unit);
	return r;
}

void report_add(const char *test, const char *metric, double value, const char *unit,
		const char *note, ...)
{
	struct row *r = add_row(test, metric, unit);
	if (!r)
		return;
	r->value = value;
	if (note) {
		va_list ap;
		va_start(ap, note);
		vsnprintf(r->note, sizeof(r->note), note, ap);
		va_end(ap);
	}
}

void report_na(const char *test, const char *metric, const char *unit, const char *note)
{
	struct row *r = add_row(test, metric, unit);
	if (!r)
		return;
	r->na = true;
	snprintf(r->note, sizeof(r->note), "%s", note ? note : "");
}

double report_get(const char *test, const char *metric)
{
	for (size_t i = 0; i < n_rows; i++)
		if (!rows[i].na && !strcmp(rows[i].test, test) && !strcmp(rows[i].metric, metric))
			return rows[i].value;
	return -1;
}

int report_failures(void)
{
	int n = 0;
	for (size_t i = 0; i < n_rows; i++)
		n += rows[i].na && !strncmp(rows[i].note, "failed", 6);
	return n;
}

static void format_value(const struct row *r, char *buf, size_t len)
{
	if (r->na)
		snprintf(buf, len, "n/a");
	else if (fabs(r->value) >= 100)
		snprintf(buf, len, "%.0f", r->value);
	else if (fabs(r->value) >= 10)
		snprintf(buf, len, "%.1f", r->value);
	else
		snprintf(buf, len, "%.2f", r->value);
}

void report_print(FILE *f, const char *title)
{
	char v[32];
	fprintf(f, "\n%s\n\n", title);
	fprintf(f, "%-31s %-34s %12s  %-9s %s\n", "test", "metric", "value", "unit", "notes");
	fprintf(f, "%-31s %-34s %12s  %-9s %s\n", "----", "------", "-----", "----", "-----");
	for (size_t i = 0; i < n_rows; i++) {
		format_value(&rows[i], v, sizeof(v));
		fprintf(f, "%-31s %-34s %12s  %-9s %s\n", rows[i].test, rows[i].metric, v,
			rows[i].unit, rows[i].note);
	}
	fflush(f);
}

/* CSV field: quoted when it holds a comma, a quote or a newline. */
static void csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

int report_csv(const char *path)
{
	char v[32];
	FILE *f = fopen(path, "we");
	if (!f)
		return -1;
	fputs("test,metric,value,unit,notes\n", f);
	for (size_t i = 0; i < n_rows; i++) {
		if (rows[i].na)
			snprintf(v, sizeof(v), "n/a");
		else
			snprintf(v, sizeof(v), "%.3f", rows[i].value);
		csv_field(f, rows[i].test);
		fputc(',', f);
		csv_field(f, rows[i].metric);
		fputc(',', f);
		fputs(v, f);
		fputc(',', f);
		csv_field(f, rows[i].unit);
		fputc(',', f);
		csv_field(f, rows[i].note);
		fputc('\n', f);
	}
	return fclose(f) == 0 ? 0 : -1;
}

/* ---- SVG ---- */

#define SVG_W 1080
#define LABEL_W 480
#define BAR_W 440
#define ROW_H 22
#define PANEL_GAP 40

struct panel {
	const char *title;
	const char *units[3];
	const char *color;
};

static const struct panel panels[] = {
    {"throughput (higher is better)", {"events/s", "jobs/s", NULL}, "#3b7dd8"},
    {"latency (lower is better)", {"ms", NULL, NULL}, "#d8843b"},
    {"memory (asyncd RSS)", {"MiB", NULL, NULL}, "#5aa55a"},
};

static bool in_panel(const struct panel *p, const struct row *r)
{
	for (size_t i = 0; i < 3 && p->units[i]; i++)
		if (!strcmp(p->units[i], r->unit))
			return true;
	return false;
}

static void xml_text(FILE *f, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			fputc(*s, f);
		}
}

static int panel_rows(const struct panel *p, double *ret_max)
{
	int n = 0;
	double max = 0;
	for (size_t i = 0; i < n_rows; i++)
		if (in_panel(p, &rows[i])) {
			n++;
			if (!rows[i].na && rows[i].value > max)
				max = rows[i].value;
		}
	*ret_max = max > 0 ? max : 1;
	return n;
}

static void bar(FILE *f, const struct row *r, double max, const char *color, int y)
{
	char label[160], v[32];
	snprintf(label, sizeof(label), "%s: %s", r->test, r->metric);
	format_value(r, v, sizeof(v));
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", LABEL_W - 8, y + 15);
	xml_text(f, label);
	fputs("</text>\n", f);
	int w = r->na ? 0 : (int)lround(BAR_W * r->value / max);
	if (w < 1 && !r->na)
		w = 1;
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n", LABEL_W,
		y + 3, w, ROW_H - 6, color);
	fprintf(f, "<text x=\"%d\" y=\"%d\">%s %s%s</text>\n", LABEL_W + w + 6, y + 15, v, r->unit,
		r->na ? " (see notes)" : "");
}

int report_svg(const char *path, const char *title)
{
	int height = 60;
	double max;
	for (size_t p = 0; p < sizeof(panels) / sizeof(panels[0]); p++) {
		int n = panel_rows(&panels[p], &max);
		if (n)
			height += 28 + n * ROW_H + PANEL_GAP;
	}
	FILE *f = fopen(path, "we");
	if (!f)
		return -1;
	fprintf(f,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"font-family=\"sans-serif\" font-size=\"12\">\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
		"<text x=\"10\" y=\"24\" font-size=\"16\" font-weight=\"bold\">",
		SVG_W, height);
	xml_text(f, title);
	fputs("</text>\n", f);
	int y = 50;
	for (size_t p = 0; p < sizeof(panels) / sizeof(panels[0]); p++) {
		if (!panel_rows(&panels[p], &max))
			continue;
		fprintf(f,
			"<text x=\"10\" y=\"%d\" font-size=\"14\" font-weight=\"bold\">%s</text>\n",
			y + 16, panels[p].title);
		y += 28;
		for (size_t i = 0; i < n_rows; i++)
			if (in_panel(&panels[p], &rows[i])) {
				bar(f, &rows[i], max, panels[p].color, y);
				y += ROW_H;
			}
		y += PANEL_GAP;
	}
	fputs("</svg>\n", f);
	return fclose(f) == 0 ? 0 : -1;
}

void report_free(void)
{
	free(rows);
	rows = NULL;
	n_rows = cap_rows = 0;
}
