/* Array literals for unnest() batches (see pg_array.h). */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "store/pg/pg_array.h"
#include "store/pg/pg_int.h"

#define PGA_MAX ((size_t)512 << 20)

void pga_init(struct pga *a)
{
	buf_init(&a->b, PGA_MAX);
	a->first = true;
	a->rc = buf_append(&a->b, "{", 1);
}

static bool pga_sep(struct pga *a)
{
	if (a->rc < 0)
		return false;
	if (!a->first)
		a->rc = buf_append(&a->b, ",", 1);
	a->first = false;
	return a->rc == 0;
}

void pga_text(struct pga *a, const char *v)
{
	if (!pga_sep(a))
		return;
	if (!v) {
		a->rc = buf_append(&a->b, "NULL", 4);
		return;
	}
	a->rc = buf_append(&a->b, "\"", 1);
	for (const char *c = v; a->rc == 0 && *c;) {
		size_t run = strcspn(c, "\"\\");
		if (run) {
			a->rc = buf_append(&a->b, c, run);
			c += run;
			continue;
		}
		char esc[2] = {'\\', *c++};
		a->rc = buf_append(&a->b, esc, 2);
	}
	if (a->rc == 0)
		a->rc = buf_append(&a->b, "\"", 1);
}

void pga_int(struct pga *a, int64_t v)
{
	if (pga_sep(a))
		a->rc = buf_printf(&a->b, "%lld", (long long)v);
}

void pga_int_or_null(struct pga *a, int64_t v, bool null)
{
	if (!null)
		pga_int(a, v);
	else if (pga_sep(a))
		a->rc = buf_append(&a->b, "NULL", 4);
}

const char *pga_end(struct pga *a)
{
	if (a->rc == 0)
		a->rc = buf_append(&a->b, "}", 1);
	return a->rc == 0 ? a->b.data : NULL;
}

int pga_rc(const struct pga *a)
{
	return a->rc;
}

void pga_done(struct pga *a)
{
	buf_done(&a->b);
}

char *pga_ints(const int64_t *v, size_t n)
{
	struct pga a;
	pga_init(&a);
	for (size_t i = 0; i < n; i++)
		pga_int(&a, v[i]);
	if (!pga_end(&a)) {
		pga_done(&a);
		return NULL;
	}
	return buf_steal(&a.b);
}

int pga_bind(struct pga *cols, int n, struct pgp *p)
{
	int rc = 0;
	for (int c = 0; c < n; c++) {
		pgp_text(p, pga_end(&cols[c]));
		if (rc == 0)
			rc = pga_rc(&cols[c]);
	}
	return rc;
}

void pga_done_all(struct pga *cols, int n)
{
	for (int c = 0; c < n; c++)
		pga_done(&cols[c]);
}
