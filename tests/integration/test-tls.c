/* Integration tests of TLS for hosts on other machines (issue 13 item 7): a CA and a server
 * certificate made now with openssl; asyncd serves https with them (asyncd.url says so); asyncctl
 * and libcurl verify the certificate (with --cacert it works, without it or with another CA it
 * fails with a message), plain http to the TLS port gets no answer; a key others may read is
 * refused; a listen address beyond loopback without TLS is refused naming --insecure-listen, and
 * allowed (warned) with it. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "harness.h"

extern char **environ;

#define ONCE_TIMEOUT_MS 15000

/* The certificates of the whole program: made once in a directory of their own. */
static char pki[64] = "/tmp/asyncd-tls.XXXXXX";
static char ca[128], other_ca[128], cert[128], key[128], open_key[128];

/* Make a CA (and another one), and a server certificate for 127.0.0.1 and localhost signed by
 * the first, with openssl. */
static int make_pki(void **state)
{
	char cmd[2048];
	(void)state;
	if (!mkdtemp(pki))
		return -1;
	snprintf(ca, sizeof(ca), "%s/ca.pem", pki);
	snprintf(other_ca, sizeof(other_ca), "%s/other.pem", pki);
	snprintf(cert, sizeof(cert), "%s/server.pem", pki);
	snprintf(key, sizeof(key), "%s/server.key", pki);
	snprintf(open_key, sizeof(open_key), "%s/open.key", pki);
	snprintf(
	    cmd, sizeof(cmd),
	    "set -e; cd %s; umask 077\n"
	    "K='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'\n"
	    "openssl req -x509 $K -days 2 -subj '/CN=asyncd test CA' -keyout ca.key -out ca.pem\n"
	    "openssl req -x509 $K -days 2 -subj '/CN=another CA' -keyout other.key "
	    "-out other.pem\n"
	    "openssl req $K -subj '/CN=localhost' -keyout server.key -out server.csr\n"
	    "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ext.cnf\n"
	    "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
	    "-days 2 -extfile ext.cnf -out server.pem\n"
	    "cp server.key open.key; chmod 644 open.key\n",
	    pki);
	if (system(cmd) != 0) {
		fprintf(stderr, "openssl could not make the test certificates in %s\n", pki);
		return -1;
	}
	return 0;
}

static int remove_pki(void **state)
{
	char cmd[256];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pki);
	return system(cmd) == 0 ? 0 : -1;
}

/* A harness whose asyncd serves https with the test certificate (and extra arguments). */
static struct harness *start_tls(const char *listen)
{
	struct harness *h = h_start();
	snprintf(h->cacert, sizeof(h->cacert), "%s", ca);
	h_restart_args(h, "--tls-cert", cert, "--tls-key", key, "--listen", listen, NULL);
	return h;
}

/* Run asyncd on h's state directory with args (NULL-terminated) and expect it to exit by itself
 * within ONCE_TIMEOUT_MS; its exit status and its output (stdout and stderr) in ret. */
static void asyncd_once(struct harness *h, struct h_cmd *ret, ...)
{
	char bin[1200], out[300];
	char *argv[24] = {bin, "--state-dir", h->dir};
	int n = 3, st = 0;
	pid_t pid;
	va_list ap;

	snprintf(bin, sizeof(bin), "%s/src/bin/asyncd", h->build);
	snprintf(out, sizeof(out), "%s.once.out", h->dir);
	va_start(ap, ret);
	for (char *a; n < 20 && (a = va_arg(ap, char *));)
		argv[n++] = a;
	va_end(ap);
	if (h->store[0]) {
		argv[n++] = (char *)"--store";
		argv[n++] = h->store;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	int rc = posix_spawn(&pid, bin, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	assert_int_equal(rc, 0);
	int64_t end = h_mono_ms() + ONCE_TIMEOUT_MS;
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (h_mono_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			fail_msg("asyncd kept running for %d ms instead of refusing to start",
				 ONCE_TIMEOUT_MS);
		}
		h_sleep_ms(H_POLL_MS);
	}
	*ret = (struct h_cmd){.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1,
			      .out = h_read_file(out, NULL),
			      .err = strdup("")};
	unlink(out);
	assert_non_null(ret->out);
}

/* GET url/healthz with libcurl verifying against cafile (NULL: the system's CAs); returns the
 * HTTP status, 0 when no answer came (the reason in err). */
static long curl_get(const char *url, const char *cafile, char *err)
{
	char full[512];
	long status = 0;
	CURL *c = curl_easy_init();

	assert_non_null(c);
	snprintf(full, sizeof(full), "%s/healthz", url);
	err[0] = 0;
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fwrite);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, stderr);
	if (cafile)
		curl_easy_setopt(c, CURLOPT_CAINFO, cafile);
	curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	return status;
}

static void test_https_with_the_ca(void **state)
{
	struct harness *h = start_tls("127.0.0.1:0");
	struct h_cmd c;
	char err[CURL_ERROR_SIZE];

	*state = h;
	assert_true(strncmp(h->url, "https://127.0.0.1:", 18) == 0);
	json_decref(h_get(h, "/api/v1/jobs", 200)); /* the harness's client verifies with ca */
	assert_int_equal(curl_get(h->url, ca, err), 200);
	h_ctl(h, &c, "--cacert", ca, "job", "list", NULL);
	assert_int_equal(c.status, 0);
	h_expect_text(c.out, "Cleanup", "asyncctl job list over https");
	h_cmd_done(&c);
	setenv("ASYNCD_CACERT", ca, 1);
	h_ctl(h, &c, "job", "list", NULL);
	unsetenv("ASYNCD_CACERT");
	assert_int_equal(c.status, 0);
	h_cmd_done(&c);
}

static void test_unverified_certificate_fails(void **state)
{
	struct harness *h = start_tls("127.0.0.1:0");
	struct h_cmd c;
	char err[CURL_ERROR_SIZE], plain[300];

	*state = h;
	/* asyncctl without --cacert: the system's CAs do not know the test CA */
	h_ctl(h, &c, "job", "list", NULL);
	assert_int_equal(c.status, 3);
	h_expect_text(c.err, "cannot verify the certificate", "asyncctl without --cacert");
	h_expect_text(c.err, "--cacert", "asyncctl without --cacert");
	h_cmd_done(&c);
	/* asyncctl with another CA */
	h_ctl(h, &c, "--cacert", other_ca, "job", "list", NULL);
	assert_int_equal(c.status, 3);
	h_expect_text(c.err, "cannot verify the certificate", "asyncctl with another CA");
	h_cmd_done(&c);
	/* a CA file that is not there */
	h_ctl(h, &c, "--cacert", "/nonexistent/ca.pem", "job", "list", NULL);
	assert_int_equal(c.status, 2);
	h_expect_text(c.err, "cannot read the CA file", "asyncctl with a missing CA file");
	h_cmd_done(&c);
	/* libcurl with another CA, and with none */
	assert_int_equal(curl_get(h->url, other_ca, err), 0);
	h_expect_text(err, "certificate", "libcurl with another CA");
	assert_int_equal(curl_get(h->url, NULL, err), 0);
	/* plain http to the TLS port: no answer */
	snprintf(plain, sizeof(plain), "http://%s", h->url + strlen("https://"));
	assert_int_equal(curl_get(plain, NULL, err), 0);
	h_ctl(h, &c, "--url", plain, "--token", h->token, "job", "list", NULL);
	assert_int_equal(c.status, 3);
	h_expect_text(c.err, "does it serve https?", "asyncctl over http to the TLS port");
	h_cmd_done(&c);
	/* the server still serves the verified client */
	json_decref(h_get(h, "/healthz", 200));
}

static void test_key_readable_by_others_refused(void **state)
{
	struct harness *h = h_start();
	struct h_cmd c;

	*state = h;
	asyncd_once(h, &c, "--listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", open_key,
		    NULL);
	assert_int_not_equal(c.status, 0);
	h_expect_text(c.out, "may be read by other users", "asyncd with a key of mode 0644");
	h_expect_text(c.out, "chmod 600", "asyncd with a key of mode 0644");
	h_cmd_done(&c);
	asyncd_once(h, &c, "--listen", "127.0.0.1:0", "--tls-cert", cert, NULL);
	assert_int_not_equal(c.status, 0);
	h_expect_text(c.out, "--tls-key", "asyncd with --tls-cert alone");
	h_cmd_done(&c);
	asyncd_once(h, &c, "--listen", "127.0.0.1:0", "--tls-cert", other_ca, "--tls-key", key,
		    NULL);
	assert_int_not_equal(c.status, 0);
	h_expect_text(c.out, "cannot serve TLS", "asyncd with a key that is not the cert's");
	h_cmd_done(&c);
}

static void test_beyond_loopback_needs_tls(void **state)
{
	struct harness *h = h_start();
	struct h_cmd c;
	char log[300];

	*state = h;
	asyncd_once(h, &c, "--listen", "0.0.0.0:0", NULL);
	assert_int_not_equal(c.status, 0);
	h_expect_text(c.out, "refusing to listen on 0.0.0.0:0 without TLS",
		      "asyncd on 0.0.0.0 without TLS");
	h_expect_text(c.out, "--insecure-listen", "asyncd on 0.0.0.0 without TLS");
	h_cmd_done(&c);
	h_restart_args(h, "--listen", "0.0.0.0:0", "--insecure-listen", NULL);
	assert_true(strncmp(h->url, "http://127.0.0.1:", 17) == 0);
	json_decref(h_get(h, "/api/v1/jobs", 200));
	snprintf(log, sizeof(log), "%s/asyncd.log", h->dir);
	char *text = h_read_file(log, NULL);
	assert_non_null(text);
	h_expect_text(text, "without TLS (--insecure-listen)", "asyncd's log");
	free(text);
}

static void test_beyond_loopback_with_tls(void **state)
{
	struct harness *h = start_tls("0.0.0.0:0");

	*state = h;
	assert_true(strncmp(h->url, "https://127.0.0.1:", 18) == 0);
	json_decref(h_get(h, "/healthz", 200));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_https_with_the_ca, h_teardown),
	    cmocka_unit_test_teardown(test_unverified_certificate_fails, h_teardown),
	    cmocka_unit_test_teardown(test_key_readable_by_others_refused, h_teardown),
	    cmocka_unit_test_teardown(test_beyond_loopback_needs_tls, h_teardown),
	    cmocka_unit_test_teardown(test_beyond_loopback_with_tls, h_teardown),
	};

	h_filter_from_env();
	return cmocka_run_group_tests_name("tls", tests, make_pki, remove_pki);
}
