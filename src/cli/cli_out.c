/* Tables, key/value lines and JSON printing for asyncctl (see cli_out.h). Widths count UTF-8
 * characters, not bytes; nothing here knows what a job or a step is. */
#include "cli/cli_out.h"

#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char ellipsis[] = "\xe2\x80\xa6"; /* … */

static size_t utf8_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* The byte length of s's first max characters. */
static size_t utf8_prefix(const char *s, size_t max)
{
	size_t i = 0, chars = 0;

	for (; s[i]; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80 && chars++ == max)
			break;
	}
	return i;
}

char *cli_clean(const char *s, size_t max)
{
	size_t len = strlen(s), keep = len;
	bool cut = max > 0 && utf8_width(s) > max;
	char *out;

	if (cut)
		keep = utf8_prefix(s, max - 1);
	out = malloc(keep + sizeof(ellipsis));
	if (!out)
		return NULL;
	memcpy(out, s, keep);
	for (size_t i = 0; i < keep; i++)
		if ((unsigned char)out[i] < ' ' || out[i] == 127)
			out[i] = ' ';
	strcpy(out + keep, cut ? ellipsis : "");
	return out;
}

char *cli_text(const json_t *v)
{
	if (!v || json_is_null(v))
		return NULL;
	if (json_is_string(v))
		return strdup(json_string_value(v));
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

char *cli_fmt_time(const json_t *row, const char *key)
{
	char *t = cli_text(json_object_get(row, key));
	char *frac, *end;

	if (!t || strlen(t) < 20 || !(frac = strchr(t + 19, '.')))
		return t;
	end = frac + 1 + strspn(frac + 1, "0123456789");
	memmove(frac, end, strlen(end) + 1);
	return t;
}

char *cli_fmt_bool(const json_t *row, const char *key)
{
	const json_t *v = json_object_get(row, key);

	if (!json_is_boolean(v))
		return cli_text(v);
	return strdup(json_is_true(v) ? "yes" : "no");
}

struct grid {
	size_t ncols, nrows;
	char **cells; /* (nrows + 1) * ncols, the header row first */
	size_t *width;
};

static void grid_free(struct grid *g)
{
	for (size_t i = 0; g->cells && i < (g->nrows + 1) * g->ncols; i++)
		free(g->cells[i]);
	free(g->cells);
	free(g->width);
}

static char *cell_text(const struct cli_col *c, const json_t *row)
{
	char *raw = c->fmt ? c->fmt(row, c->key) : cli_text(json_object_get(row, c->key));
	char *out = cli_clean(raw && *raw ? raw : "-", c->maxw);

	free(raw);
	return out;
}

static int grid_fill(struct grid *g, const struct cli_col *cols, const json_t *rows)
{
	for (size_t c = 0; c < g->ncols; c++) {
		g->cells[c] = strdup(cols[c].header);
		if (!g->cells[c])
			return CLI_EFAIL;
	}
	for (size_t r = 0; r < g->nrows; r++) {
		for (size_t c = 0; c < g->ncols; c++) {
			char **cell = &g->cells[(r + 1) * g->ncols + c];

			*cell = cell_text(&cols[c], json_array_get(rows, r));
			if (!*cell)
				return CLI_EFAIL;
		}
	}
	return 0;
}

static void grid_measure(struct grid *g)
{
	for (size_t i = 0; i < (g->nrows + 1) * g->ncols; i++) {
		size_t w = utf8_width(g->cells[i]);

		if (w > g->width[i % g->ncols])
			g->width[i % g->ncols] = w;
	}
}

static void grid_print(const struct grid *g)
{
	for (size_t r = 0; r <= g->nrows; r++) {
		for (size_t c = 0; c < g->ncols; c++) {
			const char *cell = g->cells[r * g->ncols + c];
			bool last = c + 1 == g->ncols;

			fputs(cell, stdout);
			if (!last)
				printf("%*s", (int)(g->width[c] - utf8_width(cell) + 2), "");
		}
		putchar('\n');
	}
}

int cli_table(const struct cli_col *cols, size_t ncols, const json_t *rows)
{
	struct grid g = {.ncols = ncols, .nrows = json_array_size(rows)};
	int r = CLI_EFAIL;

	if (g.nrows == 0)
		return 0;
	g.cells = calloc((g.nrows + 1) * ncols, sizeof(*g.cells));
	g.width = calloc(ncols, sizeof(*g.width));
	if (g.cells && g.width && grid_fill(&g, cols, rows) == 0) {
		grid_measure(&g);
		grid_print(&g);
		r = 0;
	}
	if (r < 0)
		cli_err("out of memory");
	grid_free(&g);
	return r;
}

void cli_kv(FILE *f, int width, const char *key, const char *value)
{
	char *clean = value ? cli_clean(value, 0) : NULL;
	int pad = width - (int)strlen(key);

	fprintf(f, "%s:%*s %s\n", key, pad > 0 ? pad : 0, "", clean ? clean : "-");
	free(clean);
}

int cli_print_json(const json_t *v)
{
	if (!v)
		return 0;
	if (json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY) < 0) {
		cli_err("cannot write the answer");
		return CLI_EFAIL;
	}
	putchar('\n');
	return 0;
}

void cli_next_cursor(const json_t *answer)
{
	const char *cursor = json_string_value(json_object_get(answer, "next_cursor"));
	char *clean;

	if (!cursor || !*cursor)
		return;
	clean = cli_clean(cursor, 0);
	fprintf(stderr, "more results: repeat with --cursor '%s'\n", clean ? clean : "?");
	free(clean);
}

void cli_put_text(FILE *f, const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		fputc((*p < ' ' && *p != '\n' && *p != '\t') || *p == 127 ? ' ' : *p, f);
	if (*text && text[strlen(text) - 1] != '\n')
		fputc('\n', f);
}
