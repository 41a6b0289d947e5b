/* Small helpers shared by every module: checked string duplication, a bounded growable buffer
 * (in the manner of curl's dynbuf), hex, random numbers and ids. */
#ifndef ASYNCD_UTIL_H
#define ASYNCD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* strdup that accepts NULL (returning NULL). */
char *xstrdup(const char *s);
/* Replace *dst with a copy of s; 0 or AE_NOMEM. */
int str_set(char **dst, const char *s);

/* A growable buffer that refuses to grow past max bytes. Always NUL-terminated when len > 0. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

void buf_init(struct buf *b, size_t max);
void buf_done(struct buf *b);
/* Make room for n bytes in all (exactly, when it has less): for a size known in advance, so
 * that the buffer is not grown by doubling. 0, AE_TOOBIG past max, or AE_NOMEM. */
int buf_reserve(struct buf *b, size_t n);
/* 0, AE_TOOBIG past max, or AE_NOMEM. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Give up ownership of the data (NUL-terminated, possibly NULL when empty). */
char *buf_steal(struct buf *b);

void hex_encode(const unsigned char *in, size_t n, char *out /* 2n+1 */);
/* A random 64-bit number (libsodium's generator). */
uint64_t rand_u64(void);
/* A cheap pseudo-random number (per-thread state): for jitter, never for secrets. */
uint64_t rand_fast(void);
/* A random RFC 4122 version 4 UUID into out (37 bytes). */
void uuid_v4(char out[37]);
bool uuid_valid(const char *s);

#endif
