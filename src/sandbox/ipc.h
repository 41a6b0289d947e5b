/* The IPC frame codec between the host and its sandbox workers (docs/ipc.md): versioned,
 * length-prefixed frames of tagged fields, an output buffer that frames are encoded into (with
 * descriptors to pass along with SCM_RIGHTS) and a stream reader that splits what arrives into
 * frames, checking every length against its bounds. It knows no job semantics (ipc_job.c does)
 * and no processes (sandbox.c, worker/serve.c do). */
#ifndef ASYNCD_IPC_H
#define ASYNCD_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPC_VERSION 1
#define IPC_HEADER_SIZE 16
#define IPC_FIELD_HEADER_SIZE 6
#define IPC_MAX_BODY ((uint32_t)128 << 20) /* host -> worker: a job's data may be 64 MiB */
#define IPC_MAX_FDS 8			   /* descriptors one buffer may carry at once */

enum ipc_type {
	IPC_HELLO = 1,	  /* worker -> host: started, with the isolation it applied */
	IPC_JOB = 2,	  /* host -> worker: run a job (id = job id) */
	IPC_RESULT = 3,	  /* worker -> host: a job's outcome (id = job id) */
	IPC_LOAD = 4,	  /* host -> worker: a library's descriptor (SCM_RIGHTS) and its sha256 */
	IPC_UNLOAD = 5,	  /* host -> worker: unload a library (no job of it is queued) */
	IPC_PING = 6,	  /* host -> worker (id = sequence) */
	IPC_PONG = 7,	  /* worker -> host (id = the ping's sequence) */
	IPC_RECALL = 8,	  /* host -> worker: give back a queued job that has not started */
	IPC_RECALLED = 9, /* worker -> host: that job was dropped unstarted */
	IPC_STOP = 10,	  /* host -> worker: drop the job if queued (RECALLED), else should_stop */
	IPC_QUIT = 11,	  /* host -> worker: exit once the queued work is done */
	IPC_RETIRE = 12,  /* worker -> host: replace me (CPU budget half spent) */
	IPC_FATAL = 13,	  /* worker -> host: could not start (message), then exits */
	IPC_TYPE_MAX_
};

/* HELLO's IPC_T_FLAGS: what isolation the worker applied to itself. */
enum {
	IPC_ISOLATE_USER = 1,	       /* changed to the sandbox user */
	IPC_ISOLATE_NO_NEW_PRIVS = 2,  /* PR_SET_NO_NEW_PRIVS */
	IPC_ISOLATE_SECCOMP = 4,       /* the seccomp filter is loaded */
	IPC_ISOLATE_AS_LIMIT = 8,      /* RLIMIT_AS is set (not in sanitizer builds) */
	IPC_ISOLATE_LANDLOCK_FS = 16,  /* Landlock: only the system's files and the private dir */
	IPC_ISOLATE_SIGNAL_SCOPE = 32, /* Landlock: no signal to a process outside the worker */
	IPC_ISOLATE_SOCKET_SCOPE = 64, /* Landlock: no abstract UNIX socket outside the worker */
	IPC_ISOLATE_SECCOMP_SIGNALS = 128,  /* seccomp: signals and pid calls only to itself */
	IPC_ISOLATE_NETWORK_DENIED = 256,   /* seccomp: no socket but socketpair (network deny) */
	IPC_ISOLATE_LANDLOCK_NET = 512,	    /* Landlock: no TCP bind or connect (network deny) */
	IPC_ISOLATE_PRIVATE_DIR = 1024,	    /* cwd, TMPDIR and HOME are its private directory */
	IPC_ISOLATE_NO_UNIX_SOCKETS = 2048, /* seccomp: socket(AF_UNIX) refused */
};

/* Field tags. Every tag has one kind: INT (8 bytes, little-endian, signed) or STR (bytes ending
 * in one NUL, none before it). Unknown tags are skipped, so fields may be added. */
enum ipc_tag {
	IPC_T_VERSION = 1,
	IPC_T_PID,
	IPC_T_UID,
	IPC_T_FLAGS,
	IPC_T_SHA256,
	IPC_T_TYPE,
	IPC_T_STEP_ID,
	IPC_T_CONFIG,
	IPC_T_SECURE_CONFIG,
	IPC_T_MAX_TRACE,
	IPC_T_OPERATION, /* 11 */
	IPC_T_MESSAGE_NAME,
	IPC_T_ENTITY,
	IPC_T_ENTITY_ID,
	IPC_T_DATA,
	IPC_T_DEPTH,
	IPC_T_CORRELATION_ID,
	IPC_T_REQUEST_ID,
	IPC_T_OWNER,
	IPC_T_CREATED_ON,
	IPC_T_ATTEMPT, /* 21 */
	IPC_T_PLUGIN_TYPE,
	IPC_T_RESULT,
	IPC_T_DELAY_MS,
	IPC_T_ERROR_CODE,
	IPC_T_MESSAGE,
	IPC_T_TRACE,
	IPC_T_OUTPUT,
	IPC_T_RAISED,
	IPC_T_STARTED_ON,
	IPC_T_EXEC_MS, /* 31 */
	IPC_T_TEXT,
	IPC_T_OOM,
	IPC_T_LANDLOCK_ABI, /* HELLO: the kernel's Landlock ABI, 0 for none */
	IPC_TAG_MAX_
};

/* ---- encoding ---- */

/* An output buffer: frames are appended, then sent from off. Descriptors queued with
 * ipc_wbuf_attach_fd() go out with the first byte of the frame that follows them. */
struct ipc_wbuf {
	uint8_t *data;
	size_t len, cap, off;
	size_t frame_start; /* of the frame being encoded */
	int error;	    /* an append failed (AE_NOMEM, AE_TOOBIG): the frame is dropped */
	int n_fds;
	struct {
		size_t at;
		int fd;
	} fds[IPC_MAX_FDS];
};

void ipc_wbuf_init(struct ipc_wbuf *w);
/* Free the buffer and close descriptors not sent. Accepts NULL. */
void ipc_wbuf_done(struct ipc_wbuf *w);
/* Bytes not sent yet. */
size_t ipc_wbuf_pending(const struct ipc_wbuf *w);

/* Start a frame; add fields; end it (0, or AE_TOOBIG/AE_NOMEM, and the frame is removed). */
void ipc_frame_begin(struct ipc_wbuf *w, enum ipc_type type, uint64_t id);
void ipc_put_int(struct ipc_wbuf *w, enum ipc_tag tag, int64_t v);
/* A string field (NULL: no field). */
void ipc_put_str(struct ipc_wbuf *w, enum ipc_tag tag, const char *s);
/* n bytes of s as a string field; interior NULs become '?'. */
void ipc_put_strn(struct ipc_wbuf *w, enum ipc_tag tag, const char *s, size_t n);
int ipc_frame_end(struct ipc_wbuf *w);
/* Append already encoded frames (bytes of another buffer). 0 or AE_NOMEM. */
int ipc_wbuf_append(struct ipc_wbuf *w, const void *bytes, size_t n);
/* Pass fd (the buffer owns it from now) with the next frame appended. 0, or AE_TOOBIG when
 * IPC_MAX_FDS are waiting (fd is then closed). */
int ipc_wbuf_attach_fd(struct ipc_wbuf *w, int fd);

/* Send what is pending on a stream socket. Returns bytes sent (0 when it would block), or AE_IO
 * (errno says why). Descriptors are closed once sent. */
long ipc_send(int sock, struct ipc_wbuf *w);

/* ---- decoding ---- */

struct ipc_field {
	const uint8_t *p;
	uint32_t len;
	bool present;
};

/* A frame inside a reader's buffer: valid until the reader reads again. */
struct ipc_frame {
	uint8_t type;
	uint64_t id;
	uint32_t len;
	const uint8_t *body;
	struct ipc_field f[IPC_TAG_MAX_];
};

/* Parse one frame at the start of buf (n bytes): 1 with *ret and *ret_used set, 0 when more
 * bytes are needed, AE_INVAL when the bytes break the format, AE_TOOBIG when the frame's body
 * is over max_body. Never reads past buf + n. */
int ipc_frame_parse(const uint8_t *buf, size_t n, uint32_t max_body, struct ipc_frame *ret,
		    size_t *ret_used);

/* The value of an INT field, or dflt when absent. */
int64_t ipc_int(const struct ipc_frame *f, enum ipc_tag tag, int64_t dflt);
/* The value of a STR field (NUL-terminated, inside the frame), or NULL when absent. */
const char *ipc_str(const struct ipc_frame *f, enum ipc_tag tag);
/* Its length without the NUL (0 when absent). */
size_t ipc_strlen(const struct ipc_frame *f, enum ipc_tag tag);

/* A stream reader: bytes come in with ipc_recv(), frames go out with ipc_rbuf_next(). */
struct ipc_rbuf {
	uint8_t *data;
	size_t len, cap, off;
	uint32_t max_body;
	int fds[IPC_MAX_FDS]; /* received descriptors not taken yet, in order */
	int n_fds;
	bool fd_overflow; /* more descriptors came than fit: a protocol error */
};

void ipc_rbuf_init(struct ipc_rbuf *r, uint32_t max_body);
/* Free the buffer and close descriptors not taken. Accepts NULL. */
void ipc_rbuf_done(struct ipc_rbuf *r);
/* Add n bytes (tests and the fuzzer feed bytes without a socket). 0 or AE_NOMEM. */
int ipc_rbuf_feed(struct ipc_rbuf *r, const void *bytes, size_t n);
/* The next complete frame: 1, 0 (none yet) or a negative error (the stream is broken). */
int ipc_rbuf_next(struct ipc_rbuf *r, struct ipc_frame *ret);
/* The oldest received descriptor (the caller owns it), or -1. */
int ipc_rbuf_take_fd(struct ipc_rbuf *r);

/* Read what the socket has (with descriptors). Returns bytes read, 0 at end of stream, AE_BUSY
 * when nothing is there, AE_NOMEM, or AE_IO (errno says why). */
long ipc_recv(int sock, struct ipc_rbuf *r);

/* Replace every byte of s[0..n) that is not part of well-formed UTF-8 with '?'. */
void ipc_utf8_sanitize(char *s, size_t n);

#endif
