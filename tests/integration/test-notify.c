/* Integration test of asyncd under a service manager (issue 11 item 3): the test plays systemd.
 * It binds a datagram Unix socket, gives it to asyncd as NOTIFY_SOCKET with a short WATCHDOG_USEC,
 * and reads what asyncd says: READY=1 with a STATUS once it serves, WATCHDOG=1 at half the
 * interval, no more pings while the writer is stuck (the test-only fault seam
 * ASYNCD_TEST_WRITER_HANG_FILE), pings again once it is free, and STOPPING=1 with "draining: N
 * jobs left" on SIGTERM. Every wait is bounded by a count of watchdog ticks or by time. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define WATCHDOG_USEC "1000000" /* a tick every 500 ms */
#define PINGS_WANTED 3
#define STUCK_TICKS 5 /* ticks in a row without a ping while the writer hangs */
#define MSG_MAX 4096
#define QUEUE_MAX 100000

static int sock_fd = -1;
static char sock_dir[64], sock_path[96], hang_path[96];

/* The service manager reads at once (a Unix datagram socket holds ~10 messages; asyncd's
 * sd_notify would block on a full one): a thread takes every message into a queue. */
static struct {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *msgs[QUEUE_MAX];
	size_t head, tail; /* msgs[head..tail) not read yet */
	bool stop;
} q = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void *reader_main(void *arg)
{
	char buf[MSG_MAX];
	(void)arg;
	for (;;) {
		struct pollfd p = {.fd = sock_fd, .events = POLLIN};
		int rc = poll(&p, 1, 100);
		pthread_mutex_lock(&q.lock);
		bool stop = q.stop;
		pthread_mutex_unlock(&q.lock);
		if (stop)
			return NULL;
		ssize_t got = rc > 0 ? recv(sock_fd, buf, sizeof(buf) - 1, MSG_DONTWAIT) : -1;
		if (got < 0)
			continue;
		buf[got] = 0;
		pthread_mutex_lock(&q.lock);
		if (q.tail < QUEUE_MAX)
			q.msgs[q.tail++] = strdup(buf);
		pthread_cond_signal(&q.cond);
		pthread_mutex_unlock(&q.lock);
	}
}

/* The next message within timeout_ms into buf; false when none came. */
static bool next_message(char *buf, size_t n, int timeout_ms)
{
	int64_t end = h_mono_ms() + timeout_ms;
	bool got = false;
	pthread_mutex_lock(&q.lock);
	while (q.head == q.tail && h_mono_ms() < end) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&q.cond, &q.lock, &ts);
	}
	if (q.head < q.tail) {
		snprintf(buf, n, "%s", q.msgs[q.head]);
		free(q.msgs[q.head++]);
		got = true;
	}
	pthread_mutex_unlock(&q.lock);
	return got;
}

static bool has_line(const char *msg, const char *line)
{
	size_t len = strlen(line);
	for (const char *p = msg; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, line, len) && (p[len] == '\n' || p[len] == 0))
			return true;
	return false;
}

/* Read messages until one has the line want (and, unless NULL, the text also); fails the test
 * after timeout_ms. */
static void expect_message(const char *want, const char *also, int timeout_ms, char *buf, size_t n)
{
	int64_t end = h_mono_ms() + timeout_ms;
	while (h_mono_ms() < end) {
		if (!next_message(buf, n, (int)(end - h_mono_ms())))
			break;
		if ((!want || has_line(buf, want)) && (!also || strstr(buf, also)))
			return;
	}
	fail_msg("no notification with %s%s%s within %d ms", want ? want : "", also ? " and " : "",
		 also ? also : "", timeout_ms);
}

static void count_pings(int wanted)
{
	char buf[MSG_MAX];
	for (int i = 0; i < wanted; i++)
		expect_message("WATCHDOG=1", NULL, H_WAIT_TIMEOUT_MS, buf, sizeof(buf));
}

static int setup(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sock_dir, sizeof(sock_dir), "/tmp/asyncd-notify.XXXXXX");
	if (!mkdtemp(sock_dir))
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/notify.sock", sock_dir);
	snprintf(hang_path, sizeof(hang_path), "%s/writer-hang", sock_dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	sock_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock_fd < 0 || bind(sock_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	if (pthread_create(&q.thread, NULL, reader_main, NULL) != 0)
		return -1;
	setenv("NOTIFY_SOCKET", sock_path, 1);
	setenv("WATCHDOG_USEC", WATCHDOG_USEC, 1);
	setenv("ASYNCD_TEST_WRITER_HANG_FILE", hang_path, 1);
	return h_setup(state);
}

static int teardown(void **state)
{
	unlink(hang_path); /* a writer still held would keep asyncd from stopping */
	h_teardown(state);
	pthread_mutex_lock(&q.lock);
	q.stop = true;
	pthread_mutex_unlock(&q.lock);
	pthread_join(q.thread, NULL);
	while (q.head < q.tail)
		free(q.msgs[q.head++]);
	close(sock_fd);
	unlink(sock_path);
	rmdir(sock_dir);
	return 0;
}

static void test_ready_then_pings(void **state)
{
	(void)state;
	char buf[MSG_MAX];
	expect_message("READY=1",
		       "STATUS=running: listening on http://127.0.0.1:", H_START_TIMEOUT_MS, buf,
		       sizeof(buf));
	count_pings(PINGS_WANTED);
}

static void test_stuck_writer_stops_pings(void **state)
{
	(void)state;
	char buf[MSG_MAX];
	int fd = open(hang_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	/* the probe in flight may still be answered; the next one is not */
	expect_message(NULL, "STATUS=not alive: the writer has not committed", H_WAIT_TIMEOUT_MS,
		       buf, sizeof(buf));
	assert_false(has_line(buf, "WATCHDOG=1"));
	/* every tick says so again (the time grows) and none pings */
	for (int i = 0; i < STUCK_TICKS; i++) {
		if (!next_message(buf, sizeof(buf), H_WAIT_TIMEOUT_MS))
			fail_msg("asyncd stopped talking while its writer was stuck");
		if (has_line(buf, "WATCHDOG=1"))
			fail_msg("a watchdog ping while the writer was stuck: %s", buf);
		h_expect_text(buf, "not alive: the writer", "a tick's STATUS");
	}
	unlink(hang_path);
	count_pings(PINGS_WANTED);
}

static void test_stop_drains_with_status(void **state)
{
	struct harness *h = *state;
	char buf[MSG_MAX];
	h_register_samples(h);
	int64_t id = h_submit(
	    h, json_pack("{s:s,s:{s:i}}", "plugin_type", "samples.sleep", "data", "ms", 3000));
	json_decref(h_wait_state(h, id, 2, H_WAIT_TIMEOUT_MS));
	count_pings(1);
	h_stop(h);
	expect_message("STOPPING=1", "STATUS=draining", H_WAIT_TIMEOUT_MS, buf, sizeof(buf));
	expect_message(NULL, "STATUS=draining: 1 jobs left", H_WAIT_TIMEOUT_MS, buf, sizeof(buf));
}

int main(void)
{
	h_filter_from_env();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ready_then_pings),
	    cmocka_unit_test(test_stuck_writer_stops_pings),
	    cmocka_unit_test(test_stop_drains_with_status),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
