/* The IPC frame codec (see ipc.h and docs/ipc.md). Frame header, 16 bytes, little-endian:
 *   u32 body length | u8 version | u8 type | u16 flags (0) | u64 id
 * then fields: u16 tag | u32 length | value. Every length is checked before it is used. */
#include "sandbox/ipc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/error.h"

#define RBUF_CHUNK 65536

enum kind { K_NONE, K_INT, K_STR };

static enum kind tag_kind(unsigned tag)
{
	static const uint8_t ints[] = {
	    IPC_T_VERSION,    IPC_T_PID,       IPC_T_UID,	IPC_T_FLAGS,
	    IPC_T_STEP_ID,    IPC_T_MAX_TRACE, IPC_T_OPERATION, IPC_T_DEPTH,
	    IPC_T_CREATED_ON, IPC_T_ATTEMPT,   IPC_T_RESULT,	IPC_T_DELAY_MS,
	    IPC_T_STARTED_ON, IPC_T_EXEC_MS,   IPC_T_OOM,	IPC_T_LANDLOCK_ABI,
	};
	if (tag == 0 || tag >= IPC_TAG_MAX_)
		return K_NONE;
	for (size_t i = 0; i < sizeof(ints); i++)
		if (ints[i] == tag)
			return K_INT;
	return K_STR;
}

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* ---- encoding ---- */

void ipc_wbuf_init(struct ipc_wbuf *w)
{
	memset(w, 0, sizeof(*w));
}

void ipc_wbuf_done(struct ipc_wbuf *w)
{
	if (!w)
		return;
	for (int i = 0; i < w->n_fds; i++)
		close(w->fds[i].fd);
	free(w->data);
	memset(w, 0, sizeof(*w));
}

size_t ipc_wbuf_pending(const struct ipc_wbuf *w)
{
	return w->len - w->off;
}

/* Move the unsent bytes to the front once enough was sent. */
static void wbuf_compact(struct ipc_wbuf *w)
{
	size_t off = w->off;
	if (!off || (off < w->len && off < w->cap / 2))
		return;
	memmove(w->data, w->data + off, w->len - off);
	w->len -= off;
	w->frame_start -= off;
	w->off = 0;
	for (int i = 0; i < w->n_fds; i++)
		w->fds[i].at -= off;
}

/* Room for n more bytes. */
static int wbuf_reserve(struct ipc_wbuf *w, size_t n)
{
	wbuf_compact(w);
	if (n > (size_t)IPC_MAX_BODY + IPC_HEADER_SIZE || w->len + n > (size_t)IPC_MAX_BODY * 4)
		return AE_TOOBIG;
	if (w->len + n <= w->cap)
		return 0;
	size_t cap = w->cap ? w->cap : 4096;
	while (cap < w->len + n)
		cap *= 2;
	uint8_t *p = realloc(w->data, cap);
	if (!p)
		return AE_NOMEM;
	w->data = p;
	w->cap = cap;
	return 0;
}

static uint8_t *wbuf_grow(struct ipc_wbuf *w, size_t n)
{
	int rc = w->error ? w->error : wbuf_reserve(w, n);
	if (rc < 0) {
		w->error = rc;
		return NULL;
	}
	uint8_t *p = w->data + w->len;
	w->len += n;
	return p;
}

void ipc_frame_begin(struct ipc_wbuf *w, enum ipc_type type, uint64_t id)
{
	w->error = 0;
	wbuf_compact(w);
	w->frame_start = w->len;
	uint8_t *p = wbuf_grow(w, IPC_HEADER_SIZE);
	if (!p)
		return;
	put_u32(p, 0);
	p[4] = IPC_VERSION;
	p[5] = (uint8_t)type;
	put_u16(p + 6, 0);
	put_u64(p + 8, id);
}

static uint8_t *put_field(struct ipc_wbuf *w, enum ipc_tag tag, size_t n)
{
	if (n > IPC_MAX_BODY) {
		w->error = AE_TOOBIG;
		return NULL;
	}
	uint8_t *p = wbuf_grow(w, IPC_FIELD_HEADER_SIZE + n);
	if (!p)
		return NULL;
	put_u16(p, (uint16_t)tag);
	put_u32(p + 2, (uint32_t)n);
	return p + IPC_FIELD_HEADER_SIZE;
}

void ipc_put_int(struct ipc_wbuf *w, enum ipc_tag tag, int64_t v)
{
	uint8_t *p = put_field(w, tag, 8);
	if (p)
		put_u64(p, (uint64_t)v);
}

void ipc_put_strn(struct ipc_wbuf *w, enum ipc_tag tag, const char *s, size_t n)
{
	uint8_t *p = put_field(w, tag, n + 1);
	if (!p)
		return;
	memcpy(p, s, n);
	p[n] = 0;
	for (uint8_t *z = memchr(p, 0, n); z; z = memchr(z, 0, n - (size_t)(z - p)))
		*z = '?';
}

void ipc_put_str(struct ipc_wbuf *w, enum ipc_tag tag, const char *s)
{
	if (s)
		ipc_put_strn(w, tag, s, strlen(s));
}

/* Drop the frame being encoded, and the descriptors attached to it. */
static void drop_frame(struct ipc_wbuf *w)
{
	w->len = w->frame_start;
	while (w->n_fds && w->fds[w->n_fds - 1].at >= w->frame_start)
		close(w->fds[--w->n_fds].fd);
}

int ipc_frame_end(struct ipc_wbuf *w)
{
	size_t body = w->len - w->frame_start - IPC_HEADER_SIZE;
	int rc = w->error ? w->error : body > IPC_MAX_BODY ? AE_TOOBIG : 0;
	w->error = 0;
	if (rc < 0) {
		drop_frame(w);
		return rc;
	}
	put_u32(w->data + w->frame_start, (uint32_t)body);
	w->frame_start = w->len;
	return 0;
}

int ipc_wbuf_append(struct ipc_wbuf *w, const void *bytes, size_t n)
{
	int rc = wbuf_reserve(w, n);
	if (rc < 0)
		return rc;
	memcpy(w->data + w->len, bytes, n);
	w->len += n;
	w->frame_start = w->len;
	return 0;
}

int ipc_wbuf_attach_fd(struct ipc_wbuf *w, int fd)
{
	if (w->n_fds >= IPC_MAX_FDS) {
		close(fd);
		return AE_TOOBIG;
	}
	w->fds[w->n_fds].at = w->len;
	w->fds[w->n_fds++].fd = fd;
	return 0;
}

static void drop_first_fd(struct ipc_wbuf *w)
{
	close(w->fds[0].fd);
	memmove(w->fds, w->fds + 1, (size_t)(w->n_fds - 1) * sizeof(w->fds[0]));
	w->n_fds--;
}

/* One send of bytes [off, end) with fd attached (-1: none). */
static long send_chunk(int sock, struct ipc_wbuf *w, size_t end, int fd)
{
	struct iovec iov = {w->data + w->off, end - w->off};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	ssize_t n;
	do
		n = sendmsg(sock, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : AE_IO;
	return n;
}

long ipc_send(int sock, struct ipc_wbuf *w)
{
	long total = 0;
	while (w->off < w->len) {
		bool fd_here = w->n_fds && w->fds[0].at <= w->off;
		size_t end = w->len;
		if (w->n_fds > (fd_here ? 1 : 0))
			end = w->fds[fd_here ? 1 : 0].at;
		if (end <= w->off) { /* a descriptor with no bytes after it yet */
			if (!fd_here)
				break;
			end = w->len;
		}
		long n = send_chunk(sock, w, end, fd_here ? w->fds[0].fd : -1);
		if (n <= 0)
			return n < 0 ? n : total;
		if (fd_here)
			drop_first_fd(w);
		w->off += (size_t)n;
		total += n;
	}
	wbuf_compact(w);
	return total;
}

/* ---- decoding ---- */

static int parse_fields(struct ipc_frame *f)
{
	const uint8_t *p = f->body, *end = f->body + f->len;
	while (p < end) {
		if ((size_t)(end - p) < IPC_FIELD_HEADER_SIZE)
			return AE_INVAL;
		unsigned tag = get_u16(p);
		uint32_t len = get_u32(p + 2);
		p += IPC_FIELD_HEADER_SIZE;
		if (len > (size_t)(end - p))
			return AE_INVAL;
		enum kind k = tag_kind(tag);
		if (k == K_INT && len != 8)
			return AE_INVAL;
		if (k == K_STR && (len == 0 || p[len - 1] != 0 || memchr(p, 0, len - 1)))
			return AE_INVAL;
		if (k != K_NONE) {
			if (f->f[tag].present)
				return AE_INVAL;
			f->f[tag] = (struct ipc_field){p, len, true};
		}
		p += len;
	}
	return 0;
}

int ipc_frame_parse(const uint8_t *buf, size_t n, uint32_t max_body, struct ipc_frame *ret,
		    size_t *ret_used)
{
	if (n < IPC_HEADER_SIZE)
		return 0;
	uint32_t len = get_u32(buf);
	if (buf[4] != IPC_VERSION || buf[5] == 0 || buf[5] >= IPC_TYPE_MAX_ || get_u16(buf + 6))
		return AE_INVAL;
	if (len > max_body)
		return AE_TOOBIG;
	if (n - IPC_HEADER_SIZE < len)
		return 0;
	memset(ret, 0, sizeof(*ret));
	ret->type = buf[5];
	ret->id = get_u64(buf + 8);
	ret->len = len;
	ret->body = buf + IPC_HEADER_SIZE;
	int rc = parse_fields(ret);
	if (rc < 0)
		return rc;
	*ret_used = IPC_HEADER_SIZE + (size_t)len;
	return 1;
}

int64_t ipc_int(const struct ipc_frame *f, enum ipc_tag tag, int64_t dflt)
{
	if ((unsigned)tag >= IPC_TAG_MAX_ || !f->f[tag].present || tag_kind(tag) != K_INT)
		return dflt;
	return (int64_t)get_u64(f->f[tag].p);
}

const char *ipc_str(const struct ipc_frame *f, enum ipc_tag tag)
{
	if ((unsigned)tag >= IPC_TAG_MAX_ || !f->f[tag].present || tag_kind(tag) != K_STR)
		return NULL;
	return (const char *)f->f[tag].p;
}

size_t ipc_strlen(const struct ipc_frame *f, enum ipc_tag tag)
{
	return ipc_str(f, tag) ? f->f[tag].len - 1 : 0;
}

void ipc_rbuf_init(struct ipc_rbuf *r, uint32_t max_body)
{
	memset(r, 0, sizeof(*r));
	r->max_body = max_body;
}

void ipc_rbuf_done(struct ipc_rbuf *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->n_fds; i++)
		close(r->fds[i]);
	free(r->data);
	memset(r, 0, sizeof(*r));
}

/* Room for at least want more bytes after the unread ones. */
static int rbuf_reserve(struct ipc_rbuf *r, size_t want)
{
	if (r->off) {
		memmove(r->data, r->data + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
	}
	if (r->cap - r->len >= want)
		return 0;
	size_t cap = r->cap ? r->cap : RBUF_CHUNK;
	while (cap - r->len < want)
		cap *= 2;
	uint8_t *p = realloc(r->data, cap);
	if (!p)
		return AE_NOMEM;
	r->data = p;
	r->cap = cap;
	return 0;
}

int ipc_rbuf_feed(struct ipc_rbuf *r, const void *bytes, size_t n)
{
	if (n > (size_t)IPC_MAX_BODY * 2)
		return AE_TOOBIG;
	int rc = rbuf_reserve(r, n);
	if (rc < 0)
		return rc;
	memcpy(r->data + r->len, bytes, n);
	r->len += n;
	return 0;
}

int ipc_rbuf_next(struct ipc_rbuf *r, struct ipc_frame *ret)
{
	size_t used;
	if (r->fd_overflow)
		return AE_INVAL;
	int rc = ipc_frame_parse(r->data + r->off, r->len - r->off, r->max_body, ret, &used);
	if (rc == 1)
		r->off += used;
	return rc;
}

int ipc_rbuf_take_fd(struct ipc_rbuf *r)
{
	if (!r->n_fds)
		return -1;
	int fd = r->fds[0];
	memmove(r->fds, r->fds + 1, (size_t)(r->n_fds - 1) * sizeof(int));
	r->n_fds--;
	return fd;
}

static void keep_fds(struct ipc_rbuf *r, struct msghdr *m)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (r->n_fds < IPC_MAX_FDS) {
				r->fds[r->n_fds++] = fd;
			} else {
				close(fd);
				r->fd_overflow = true;
			}
		}
	}
}

/* How much to read next: the rest of the frame being received, at least a chunk. */
static size_t next_want(const struct ipc_rbuf *r)
{
	size_t have = r->len - r->off;
	if (have >= IPC_HEADER_SIZE) {
		size_t need = IPC_HEADER_SIZE + (size_t)get_u32(r->data + r->off);
		if (need > have && need - have > RBUF_CHUNK && need <= (size_t)r->max_body + 16)
			return need - have;
	}
	return RBUF_CHUNK;
}

long ipc_recv(int sock, struct ipc_rbuf *r)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * IPC_MAX_FDS)];
		struct cmsghdr align;
	} u;
	if (rbuf_reserve(r, next_want(r)) < 0)
		return AE_NOMEM;
	struct iovec iov = {r->data + r->len, r->cap - r->len};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = u.buf,
			   .msg_controllen = sizeof(u.buf)};
	ssize_t n;
	do
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? AE_BUSY : AE_IO;
	keep_fds(r, &m);
	if (m.msg_flags & MSG_CTRUNC)
		r->fd_overflow = true;
	r->len += (size_t)n;
	return n;
}

static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len = c < 0x80		      ? 1
		     : c >= 0xc2 && c <= 0xdf ? 2
		     : c >= 0xe0 && c <= 0xef ? 3
		     : c >= 0xf0 && c <= 0xf4 ? 4
					      : 0;
	if (len == 0 || len > n)
		return 0;
	for (size_t k = 1; k < len; k++)
		if ((s[k] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
		return 0;
	return len;
}

void ipc_utf8_sanitize(char *s, size_t n)
{
	unsigned char *p = (unsigned char *)s;
	for (size_t i = 0; i < n;) {
		size_t len = utf8_len(p + i, n - i);
		if (len == 0 || p[i] == 0) {
			p[i++] = '?';
			continue;
		}
		i += len;
	}
}
