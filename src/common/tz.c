/* Time zones from TZif files (RFC 8536): the 64-bit transitions of version 2+ (or the 32-bit ones
 * of version 1) and, after the last transition, the footer's POSIX TZ rule (so that "slim" files
 * that end their table early still give correct future offsets). Parsed zones are immutable and
 * cached under a mutex; lookups need no lock beyond the cache's. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/tz.h"

#define TZ_FILE_MAX (1 << 20)
#define TZ_NAME_MAX 128

struct tz_rule {
	char kind; /* 'M' (month.week.day), 'J' (1..365, no Feb 29), 'N' (0..365) */
	int m, w, d;
	int32_t time; /* seconds after local midnight */
};

struct tz {
	size_t n;
	int64_t *at;  /* transition times, ascending */
	int32_t *off; /* offset from at[i] on */
	int32_t off0; /* before the first transition */
	bool footer;  /* the rule below applies after the last transition */
	bool has_dst;
	int32_t std_off, dst_off;
	struct tz_rule start, end;
};

/* ---- calendar ---- */

int64_t tz_days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void tz_civil_from_days(int64_t z, int64_t *ret_y, int *ret_m, int *ret_d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int d = (int)(doy - (153 * mp + 2) / 5 + 1);
	int m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*ret_y = yoe + era * 400 + (m <= 2);
	*ret_m = m;
	*ret_d = d;
}

int tz_weekday(int64_t days)
{
	/* 1970-01-01 was a Thursday (3) */
	int64_t w = (days + 3) % 7;
	return (int)(w < 0 ? w + 7 : w);
}

static bool leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int tz_days_in_month(int64_t y, int m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && leap(y) ? 29 : dm[(m - 1) % 12];
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

/* ---- the footer's POSIX TZ rule ---- */

struct cur {
	const char *p, *end;
};

static bool at_end(const struct cur *c)
{
	return c->p >= c->end;
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool is_alpha(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int parse_name(struct cur *c)
{
	const char *start = c->p;
	if (!at_end(c) && *c->p == '<') {
		while (!at_end(c) && *c->p != '>')
			c->p++;
		if (at_end(c))
			return AE_INVAL;
		c->p++;
		return 0;
	}
	while (!at_end(c) && is_alpha(*c->p))
		c->p++;
	return c->p - start >= 3 ? 0 : AE_INVAL;
}

static int parse_num(struct cur *c, int max, int *ret)
{
	int v = 0;
	if (at_end(c) || !is_digit(*c->p))
		return AE_INVAL;
	while (!at_end(c) && is_digit(*c->p)) {
		v = v * 10 + (*c->p++ - '0');
		if (v > max)
			return AE_INVAL;
	}
	*ret = v;
	return 0;
}

/* [+-]hh[:mm[:ss]] in seconds (hours up to 167, as version 3 allows for rule times). */
static int parse_hms(struct cur *c, int32_t *ret)
{
	int sign = 1, h = 0, m = 0, s = 0;
	if (!at_end(c) && (*c->p == '+' || *c->p == '-'))
		sign = *c->p++ == '-' ? -1 : 1;
	if (parse_num(c, 167, &h) < 0)
		return AE_INVAL;
	if (!at_end(c) && *c->p == ':') {
		c->p++;
		if (parse_num(c, 59, &m) < 0)
			return AE_INVAL;
		if (!at_end(c) && *c->p == ':') {
			c->p++;
			if (parse_num(c, 59, &s) < 0)
				return AE_INVAL;
		}
	}
	*ret = sign * (h * 3600 + m * 60 + s);
	return 0;
}

static int parse_rule_date(struct cur *c, struct tz_rule *r)
{
	r->time = 7200;
	if (at_end(c))
		return AE_INVAL;
	if (*c->p == 'M') {
		c->p++;
		r->kind = 'M';
		if (parse_num(c, 12, &r->m) < 0 || r->m < 1 || at_end(c) || *c->p++ != '.' ||
		    parse_num(c, 5, &r->w) < 0 || r->w < 1 || at_end(c) || *c->p++ != '.' ||
		    parse_num(c, 6, &r->d) < 0)
			return AE_INVAL;
	} else if (*c->p == 'J') {
		c->p++;
		r->kind = 'J';
		if (parse_num(c, 365, &r->d) < 0 || r->d < 1)
			return AE_INVAL;
	} else {
		r->kind = 'N';
		if (parse_num(c, 365, &r->d) < 0)
			return AE_INVAL;
	}
	if (!at_end(c) && *c->p == '/') {
		c->p++;
		return parse_hms(c, &r->time);
	}
	return 0;
}

static int parse_footer(struct tz *z, const char *s, size_t n)
{
	struct cur c = {s, s + n};
	int32_t off;
	if (n == 0)
		return 0; /* no rule: the last transition's offset stays */
	if (parse_name(&c) < 0 || parse_hms(&c, &off) < 0)
		return AE_INVAL;
	z->std_off = -off; /* POSIX counts west positive */
	z->footer = true;
	if (at_end(&c))
		return 0;
	if (parse_name(&c) < 0)
		return AE_INVAL;
	z->dst_off = z->std_off + 3600;
	if (!at_end(&c) && *c.p != ',') {
		if (parse_hms(&c, &off) < 0)
			return AE_INVAL;
		z->dst_off = -off;
	}
	if (at_end(&c) || *c.p++ != ',' || parse_rule_date(&c, &z->start) < 0 || at_end(&c) ||
	    *c.p++ != ',' || parse_rule_date(&c, &z->end) < 0 || !at_end(&c))
		return AE_INVAL;
	z->has_dst = true;
	return 0;
}

/* The local day of year y on which rule r falls. */
static int64_t rule_day(const struct tz_rule *r, int64_t y)
{
	if (r->kind == 'J')
		return tz_days_from_civil(y, 1, 1) + r->d - 1 + (leap(y) && r->d >= 60);
	if (r->kind == 'N')
		return tz_days_from_civil(y, 1, 1) + r->d;
	int64_t first = tz_days_from_civil(y, r->m, 1);
	int first_sun0 = (tz_weekday(first) + 1) % 7; /* POSIX: 0 = Sunday */
	int day = 1 + (r->d - first_sun0 + 7) % 7 + (r->w - 1) * 7;
	while (day > tz_days_in_month(y, r->m))
		day -= 7;
	return first + day - 1;
}

static int32_t footer_offset(const struct tz *z, int64_t utc)
{
	if (!z->has_dst)
		return z->std_off;
	int64_t y;
	int m, d;
	tz_civil_from_days(floor_div(utc + z->std_off, 86400), &y, &m, &d);
	/* the change to DST happens at its time in standard time, the change back in DST */
	int64_t start = rule_day(&z->start, y) * 86400 + z->start.time - z->std_off;
	int64_t end = rule_day(&z->end, y) * 86400 + z->end.time - z->dst_off;
	bool dst = start < end ? (utc >= start && utc < end) : !(utc >= end && utc < start);
	return dst ? z->dst_off : z->std_off;
}

/* ---- TZif ---- */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_hdr {
	uint32_t isut, isstd, leap, time, type, chars;
};

static int read_hdr(const unsigned char *p, size_t n, struct tzif_hdr *h)
{
	if (n < 44 || memcmp(p, "TZif", 4) != 0)
		return AE_INVAL;
	h->isut = be32(p + 20);
	h->isstd = be32(p + 24);
	h->leap = be32(p + 28);
	h->time = be32(p + 32);
	h->type = be32(p + 36);
	h->chars = be32(p + 40);
	if (h->type == 0 || h->type > 256 || h->time > 100000 || h->leap > 100000 ||
	    h->chars > 100000 || h->isut > 256 || h->isstd > 256)
		return AE_INVAL;
	return 0;
}

static size_t block_size(const struct tzif_hdr *h, size_t tsize)
{
	return h->time * tsize + h->time + h->type * 6 + h->chars + h->leap * (tsize + 4) +
	       h->isstd + h->isut;
}

/* Fill z from the data block at p (times of tsize bytes). */
static int read_block(struct tz *z, const struct tzif_hdr *h, const unsigned char *p, size_t tsize)
{
	const unsigned char *idx = p + h->time * tsize, *types = idx + h->time;
	z->n = h->time;
	z->at = calloc(h->time ? h->time : 1, sizeof(*z->at));
	z->off = calloc(h->time ? h->time : 1, sizeof(*z->off));
	if (!z->at || !z->off)
		return AE_NOMEM;
	for (size_t i = 0; i < h->time; i++) {
		z->at[i] = tsize == 8 ? be64(p + i * 8) : (int32_t)be32(p + i * 4);
		if (idx[i] >= h->type || (i > 0 && z->at[i] <= z->at[i - 1]))
			return AE_INVAL;
		z->off[i] = (int32_t)be32(types + idx[i] * 6);
	}
	z->off0 = (int32_t)be32(types);
	for (size_t i = 0; i < h->type; i++) {
		int32_t o = (int32_t)be32(types + i * 6);
		if (o < -25 * 3600 || o > 26 * 3600)
			return AE_INVAL;
	}
	return 0;
}

/* The footer "\n<rule>\n" at p (n bytes left). */
static int read_footer(struct tz *z, const unsigned char *p, size_t n)
{
	if (n < 2 || p[0] != '\n')
		return AE_INVAL;
	const unsigned char *nl = memchr(p + 1, '\n', n - 1);
	if (!nl)
		return AE_INVAL;
	return parse_footer(z, (const char *)p + 1, (size_t)(nl - p - 1));
}

int tz_parse(const void *data, size_t n, struct tz **ret)
{
	const unsigned char *p = data;
	struct tzif_hdr h;
	struct tz *z = calloc(1, sizeof(*z));
	if (!z)
		return AE_NOMEM;
	int rc = read_hdr(p, n, &h);
	size_t tsize = 4, off = 44;
	if (rc == 0 && p[4] >= '2') {
		off += block_size(&h, 4);
		tsize = 8;
		rc = off <= n ? read_hdr(p + off, n - off, &h) : AE_INVAL;
		off += 44;
	}
	if (rc == 0 && (off > n || block_size(&h, tsize) > n - off))
		rc = AE_INVAL;
	if (rc == 0)
		rc = read_block(z, &h, p + off, tsize);
	off += rc == 0 ? block_size(&h, tsize) : 0;
	if (rc == 0 && tsize == 8)
		rc = read_footer(z, p + off, n - off);
	if (rc < 0) {
		tz_free(z);
		return rc;
	}
	*ret = z;
	return 0;
}

void tz_free(struct tz *z)
{
	if (!z)
		return;
	free(z->at);
	free(z->off);
	free(z);
}

int32_t tz_offset_at(const struct tz *z, int64_t utc)
{
	if (z->n == 0 || utc < z->at[0])
		return z->n == 0 && z->footer ? footer_offset(z, utc) : z->off0;
	if (utc >= z->at[z->n - 1] && z->footer)
		return footer_offset(z, utc);
	size_t lo = 0, hi = z->n; /* the last transition at or before utc */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (z->at[mid] <= utc)
			lo = mid;
		else
			hi = mid;
	}
	return z->off[lo];
}

int64_t tz_local_to_utc(const struct tz *z, int64_t local)
{
	/* offsets a day before and after: a zone changes at most once within two days */
	int32_t before = tz_offset_at(z, local - 86400), after = tz_offset_at(z, local + 86400);
	bool b_ok = tz_offset_at(z, local - before) == before;
	bool a_ok = tz_offset_at(z, local - after) == after;
	if (b_ok && a_ok)
		return local - (before > after ? before : after); /* twice: the first */
	if (a_ok)
		return local - after;
	return local - before; /* b_ok, or skipped: read with the offset before the change */
}

/* ---- the cache ---- */

struct tz_entry {
	char *name;
	struct tz *z;
	struct tz_entry *next;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tz_entry *cache;
static struct tz utc_zone;

const struct tz *tz_utc(void)
{
	return &utc_zone;
}

static bool name_safe(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > TZ_NAME_MAX || name[0] == '/' || strstr(name, ".."))
		return false;
	for (const char *p = name; *p; p++)
		if (!is_alpha(*p) && !is_digit(*p) && !strchr("/_-+.", *p))
			return false;
	return true;
}

static int read_file(const char *path, unsigned char **ret, size_t *ret_n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return AE_INVAL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > TZ_FILE_MAX) {
		close(fd);
		return AE_INVAL;
	}
	unsigned char *b = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (b && got < (size_t)st.st_size) {
		ssize_t r = read(fd, b + got, (size_t)st.st_size - got);
		if (r <= 0 && errno != EINTR)
			break;
		got += r > 0 ? (size_t)r : 0;
	}
	close(fd);
	if (!b || got < (size_t)st.st_size) {
		free(b);
		return b ? AE_INVAL : AE_NOMEM;
	}
	*ret = b;
	*ret_n = got;
	return 0;
}

static int load(const char *name, struct tz **ret)
{
	static const char *dir;
	if (!dir) /* under cache_lock */
		dir = getenv("TZDIR") && *getenv("TZDIR") ? getenv("TZDIR") : "/usr/share/zoneinfo";
	size_t n = strlen(dir) + strlen(name) + 2;
	char *path = malloc(n);
	unsigned char *bytes = NULL;
	size_t len = 0;
	if (!path)
		return AE_NOMEM;
	strcpy(path, dir);
	strcat(path, "/");
	strcat(path, name);
	int rc = read_file(path, &bytes, &len);
	free(path);
	if (rc == 0)
		rc = tz_parse(bytes, len, ret);
	free(bytes);
	return rc;
}

static const struct tz *cache_find(const char *name)
{
	for (struct tz_entry *e = cache; e; e = e->next)
		if (strcmp(e->name, name) == 0)
			return e->z;
	return NULL;
}

int tz_get(const char *name, const struct tz **ret)
{
	if (!name || !*name || strcmp(name, "UTC") == 0) {
		*ret = &utc_zone;
		return 0;
	}
	if (!name_safe(name))
		return AE_INVAL;
	pthread_mutex_lock(&cache_lock);
	const struct tz *found = cache_find(name);
	int rc = 0;
	if (!found) {
		struct tz *z = NULL;
		struct tz_entry *e = calloc(1, sizeof(*e));
		rc = e ? load(name, &z) : AE_NOMEM;
		if (rc == 0 && !(e->name = strdup(name)))
			rc = AE_NOMEM;
		if (rc == 0) {
			e->z = z;
			e->next = cache;
			cache = e;
			found = z;
		} else {
			tz_free(z);
			free(e);
		}
	}
	pthread_mutex_unlock(&cache_lock);
	if (found)
		*ret = found;
	return rc;
}
