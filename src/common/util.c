/* String, buffer, hex and random helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/error.h"
#include "common/util.h"

char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

int str_set(char **dst, const char *s)
{
	char *c = NULL;
	if (s && !(c = strdup(s)))
		return AE_NOMEM;
	free(*dst);
	*dst = c;
	return 0;
}

void buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void buf_done(struct buf *b)
{
	if (!b)
		return;
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static int buf_grow(struct buf *b, size_t need)
{
	if (need + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need + 1)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (!p)
		return AE_NOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int buf_reserve(struct buf *b, size_t n)
{
	if (n > b->max)
		return AE_TOOBIG;
	if (n + 1 <= b->cap)
		return 0;
	char *p = realloc(b->data, n + 1);
	if (!p)
		return AE_NOMEM;
	b->data = p;
	b->cap = n + 1;
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->max || b->len + n < b->len)
		return AE_TOOBIG;
	int rc = buf_grow(b, b->len + n);
	if (rc < 0)
		return rc;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return AE_INVAL;
	if ((size_t)n < sizeof(small))
		return buf_append(b, small, (size_t)n);
	char *big = malloc((size_t)n + 1);
	if (!big)
		return AE_NOMEM;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	int rc = buf_append(b, big, (size_t)n);
	free(big);
	return rc;
}

char *buf_steal(struct buf *b)
{
	char *d = b->data;
	b->data = NULL;
	b->len = b->cap = 0;
	return d;
}

void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = 0;
}

uint64_t rand_u64(void)
{
	uint64_t r;
	randombytes_buf(&r, sizeof(r));
	return r;
}

/* xorshift64*, seeded once per thread from the system's generator: for jitter, not secrets. */
uint64_t rand_fast(void)
{
	static __thread uint64_t x;
	while (!x)
		x = rand_u64();
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Random bytes from a per-thread pool refilled 4 KiB at a time from the system's generator, so
 * that ids do not cost a getrandom() each. */
static void pooled_random(unsigned char *out, size_t n)
{
	static __thread unsigned char pool[4096];
	static __thread size_t left;
	while (n) {
		if (!left) {
			randombytes_buf(pool, sizeof(pool));
			left = sizeof(pool);
		}
		size_t take = n < left ? n : left;
		memcpy(out, pool + sizeof(pool) - left, take);
		sodium_memzero(pool + sizeof(pool) - left, take);
		left -= take;
		out += take;
		n -= take;
	}
}

void uuid_v4(char out[37])
{
	unsigned char b[16];
	pooled_random(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	static const char digits[] = "0123456789abcdef";
	char *p = out;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = digits[b[i] >> 4];
		*p++ = digits[b[i] & 15];
	}
	*p = 0;
}

bool uuid_valid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	if (!s || strlen(s) != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool hex = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
			   (s[i] >= 'A' && s[i] <= 'F');
		if (shape[i] == '-' ? s[i] != '-' : !hex)
			return false;
	}
	return true;
}
