/* beanstalk-bench: the no-op burn-down of scripts/bench-peers.sh on beanstalkd. Worker threads
 * (one connection each) reserve and delete in a loop, the delete and the next reserve sent in one
 * write; the main thread then puts N jobs in pipelined bursts on its own connection. Prints one
 * line: "RESULT beanstalkd INGEST E2E DRAIN" (events/s, jobs/s, jobs/s; DRAIN -1 when nearly all
 * were done during the ingest). Loopback only; every wait is bounded. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BURST 1000
#define MAX_WORKERS 64
#define LIMIT_S 900.0

struct conn {
	int fd;
	char buf[65536];
	size_t len, off;
};

static atomic_long deleted;
static atomic_int stop;
static int port;

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dial(struct conn *c)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int one = 1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("beanstalk-bench: connect");
		return -1;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

static int send_all(struct conn *c, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(c->fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One reply line (without CRLF) into line. */
static int read_line(struct conn *c, char *line, size_t cap)
{
	for (;;) {
		char *nl = memchr(c->buf + c->off, '\n', c->len - c->off);
		if (nl) {
			size_t n = (size_t)(nl - (c->buf + c->off));
			if (n && nl[-1] == '\r')
				n--;
			if (n >= cap)
				return -1;
			memcpy(line, c->buf + c->off, n);
			line[n] = 0;
			c->off = (size_t)(nl - c->buf) + 1;
			return 0;
		}
		if (c->off) {
			memmove(c->buf, c->buf + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		}
		if (c->len == sizeof(c->buf))
			return -1;
		ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
	}
}

/* Handle a reserve reply: *ret_id > 0 for a job (its body and CRLF skipped), 0 for TIMED_OUT. */
static int reserved(struct conn *c, unsigned long long *ret_id)
{
	char line[128], body[256];
	unsigned long long id;
	unsigned bytes;
	if (read_line(c, line, sizeof(line)) < 0)
		return -1;
	if (!strcmp(line, "TIMED_OUT") || !strcmp(line, "DEADLINE_SOON")) {
		*ret_id = 0;
		return 0;
	}
	if (sscanf(line, "RESERVED %llu %u", &id, &bytes) != 2 || bytes >= sizeof(body) ||
	    read_line(c, body, sizeof(body)) < 0) {
		fprintf(stderr, "beanstalk-bench: reserve: %s\n", line);
		return -1;
	}
	*ret_id = id;
	return 0;
}

static void *worker(void *arg)
{
	struct conn *c = arg;
	char cmd[128], line[128];
	unsigned long long id = 0;
	const char *reserve = "reserve-with-timeout 1\r\n";
	if (send_all(c, reserve, strlen(reserve)) < 0)
		return NULL;
	while (!atomic_load(&stop)) {
		if (reserved(c, &id) < 0)
			return NULL;
		if (!id) {
			if (send_all(c, reserve, strlen(reserve)) < 0)
				return NULL;
			continue;
		}
		int n = snprintf(cmd, sizeof(cmd), "delete %llu\r\n%s", id, reserve);
		if (send_all(c, cmd, (size_t)n) < 0 || read_line(c, line, sizeof(line)) < 0)
			return NULL;
		if (strcmp(line, "DELETED")) {
			fprintf(stderr, "beanstalk-bench: delete: %s\n", line);
			return NULL;
		}
		atomic_fetch_add(&deleted, 1);
	}
	return NULL;
}

/* Put n jobs in bursts of BURST commands, then read their replies. */
static int put_all(struct conn *c, long n)
{
	static char out[BURST * 64];
	char line[128];
	for (long i = 0; i < n; i += BURST) {
		size_t off = 0;
		long k = n - i < BURST ? n - i : BURST;
		for (long j = i; j < i + k; j++) {
			char body[32];
			int len = snprintf(body, sizeof(body), "{\"i\":%ld}", j);
			off += (size_t)snprintf(out + off, sizeof(out) - off,
						"put 1024 0 60 %d\r\n%s\r\n", len, body);
		}
		if (send_all(c, out, off) < 0)
			return -1;
		for (long j = 0; j < k; j++)
			if (read_line(c, line, sizeof(line)) < 0 || strncmp(line, "INSERTED ", 9)) {
				fprintf(stderr, "beanstalk-bench: put: %s\n", line);
				return -1;
			}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct conn conns[MAX_WORKERS];
	struct conn prod;
	pthread_t th[MAX_WORKERS];
	if (argc < 3) {
		fprintf(stderr, "usage: beanstalk-bench PORT N [WORKERS]\n");
		return 2;
	}
	port = atoi(argv[1]);
	long n = atol(argv[2]);
	int workers = argc > 3 ? atoi(argv[3]) : 8;
	if (port <= 0 || n <= 0 || workers < 1 || workers > MAX_WORKERS)
		return 2;
	for (int i = 0; i < workers; i++)
		if (dial(&conns[i]) < 0 || pthread_create(&th[i], NULL, worker, &conns[i]) != 0)
			return 1;
	if (dial(&prod) < 0)
		return 1;
	double t0 = mono_s();
	if (put_all(&prod, n) < 0)
		return 1;
	double t1 = mono_s();
	long at_t1 = atomic_load(&deleted);
	while (atomic_load(&deleted) < n && mono_s() < t0 + LIMIT_S)
		usleep(1000);
	double t2 = mono_s();
	long done = atomic_load(&deleted);
	atomic_store(&stop, 1);
	for (int i = 0; i < workers; i++)
		pthread_join(th[i], NULL);
	if (done < n) {
		fprintf(stderr, "beanstalk-bench: only %ld of %ld jobs done in %.0f s\n", done, n,
			LIMIT_S);
		return 1;
	}
	printf("RESULT beanstalkd %.0f %.0f %.0f\n", (double)n / (t1 - t0), (double)n / (t2 - t0),
	       n - at_t1 >= n / 20 ? (double)(n - at_t1) / (t2 - t1) : -1.0);
	return 0;
}
