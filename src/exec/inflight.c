/* The in-process run journal (see inflight.h). File layout: one 64-byte header, then SLOTS slots
 * of 64 bytes (one cache line each, so that pool threads do not share a line), each starting
 * with the job id (0: idle) and the attempt. A thread takes a free slot at its first in-process
 * run and gives it back when it exits. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "exec/inflight.h"

#define SLOTS 4160 /* async.max_concurrent_jobs is at most 4096, and a restarted pool overlaps */
#define MAGIC "asyncdR1"

struct slot {
	int64_t id;
	int64_t attempt;
	char pad[48];
};

struct journal {
	char magic[8];
	int64_t pid;
	int64_t slots;
	char pad[40];
	struct slot slot[SLOTS];
};

static struct journal *journal; /* set before the pool starts, never unmapped */
static unsigned char taken[SLOTS];
static pthread_key_t slot_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static __thread int my_slot = -1;

static void journal_path(const char *state_dir, char *buf, size_t n)
{
	snprintf(buf, n, "%s/asyncd.running", state_dir);
}

static int read_marks(int fd, struct inflight_mark **ret_marks, size_t *ret_n)
{
	struct journal *j = malloc(sizeof(*j));
	struct inflight_mark *m = calloc(SLOTS, sizeof(*m));
	size_t n = 0;
	if (!j || !m) {
		free(j);
		free(m);
		return AE_NOMEM;
	}
	ssize_t got = pread(fd, j, sizeof(*j), 0);
	bool ok = got == (ssize_t)sizeof(*j) && !memcmp(j->magic, MAGIC, 8) && j->slots == SLOTS;
	for (size_t i = 0; ok && i < SLOTS; i++)
		if (j->slot[i].id > 0)
			m[n++] = (struct inflight_mark){j->slot[i].id, j->slot[i].attempt};
	free(j);
	*ret_marks =
	    m; /* a journal of another layout marks nothing: only the unclean exit counts */
	*ret_n = n;
	return 0;
}

int inflight_previous(const char *state_dir, bool *ret_unclean, struct inflight_mark **ret_marks,
		      size_t *ret_n)
{
	char path[4200];
	journal_path(state_dir, path, sizeof(path));
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		*ret_unclean = false;
		*ret_marks = NULL;
		*ret_n = 0;
		return 0;
	}
	if (fd < 0)
		return AE_IO;
	int rc = read_marks(fd, ret_marks, ret_n);
	close(fd);
	if (rc == 0)
		*ret_unclean = true;
	return rc;
}

/* A new, fully allocated journal at tmp (no SIGBUS on a full disk later); its descriptor. */
static int create_file(const char *tmp)
{
	int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return AE_IO;
	struct journal head = {.pid = getpid(), .slots = SLOTS};
	memcpy(head.magic, MAGIC, 8);
	if (posix_fallocate(fd, 0, sizeof(struct journal)) != 0 ||
	    pwrite(fd, &head, offsetof(struct journal, slot), 0) < 0) {
		close(fd);
		unlink(tmp);
		return AE_IO;
	}
	return fd;
}

int inflight_open(const char *state_dir)
{
	char path[4200], tmp[4300];
	journal_path(state_dir, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = create_file(tmp);
	if (fd < 0)
		return fd;
	void *map = mmap(NULL, sizeof(struct journal), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED || rename(tmp, path) < 0) {
		if (map != MAP_FAILED)
			munmap(map, sizeof(struct journal));
		unlink(tmp);
		return AE_IO;
	}
	journal = map;
	return 0;
}

static void slot_release(void *p)
{
	int i = (int)(intptr_t)p - 1;
	__atomic_store_n(&journal->slot[i].id, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&taken[i], 0, __ATOMIC_RELEASE);
}

static void make_key(void)
{
	pthread_key_create(&slot_key, slot_release);
}

/* This thread's slot, taken at its first run; -1 when none is free. */
static int slot_get(void)
{
	if (my_slot >= 0)
		return my_slot;
	pthread_once(&key_once, make_key);
	for (int i = 0; i < SLOTS; i++) {
		unsigned char free_slot = 0;
		if (__atomic_compare_exchange_n(&taken[i], &free_slot, 1, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED)) {
			my_slot = i;
			pthread_setspecific(slot_key, (void *)(intptr_t)(i + 1));
			return i;
		}
	}
	return -1;
}

void inflight_begin(int64_t id, int64_t attempt)
{
	if (!journal)
		return;
	int i = slot_get();
	if (i < 0)
		return;
	__atomic_store_n(&journal->slot[i].attempt, attempt, __ATOMIC_RELAXED);
	__atomic_store_n(&journal->slot[i].id, id, __ATOMIC_RELEASE);
}

void inflight_end(void)
{
	if (journal && my_slot >= 0)
		__atomic_store_n(&journal->slot[my_slot].id, 0, __ATOMIC_RELEASE);
}

void inflight_close_clean(const char *state_dir)
{
	char path[4200];
	if (!journal)
		return;
	journal_path(state_dir, path, sizeof(path));
	unlink(path);
}
