/* Reading the API's certificate and key, and the loopback test of the listen policy (see
 * tls.h). The key's mode is checked on the descriptor the key is read from, so a file swapped
 * between the check and the read cannot slip through. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "host/tls.h"

/* The whole of fd (a regular file of at most TLS_FILE_MAX bytes) as a string. */
static int read_all(int fd, const struct stat *st, const char *path, char **ret, char *err,
		    size_t errlen)
{
	if (!S_ISREG(st->st_mode) || st->st_size > TLS_FILE_MAX) {
		snprintf(err, errlen, "%s: %s", path,
			 S_ISREG(st->st_mode) ? "larger than 1 MiB" : "not a regular file");
		return S_ISREG(st->st_mode) ? AE_TOOBIG : AE_INVAL;
	}
	size_t n = (size_t)st->st_size, got = 0;
	char *buf = malloc(n + 1);
	if (!buf)
		return AE_NOMEM;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = 0;
	if (got == 0 || strlen(buf) != got) {
		snprintf(err, errlen, "%s: %s", path, got ? "not PEM text" : "empty");
		explicit_bzero(buf, got);
		free(buf);
		return AE_INVAL;
	}
	*ret = buf;
	return 0;
}

/* Open path and read it; with key, refuse a mode that lets others in. */
static int read_file(const char *path, bool key, char **ret, bool *ret_group, char *err,
		     size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "cannot read the TLS %s %s: %s", key ? "key" : "certificate",
			 path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return AE_IO;
	}
	if (key && (st.st_mode & 07)) {
		snprintf(err, errlen,
			 "the TLS key %s may be read by other users (mode %04o): refused; run "
			 "chmod 600 %s (or 640 with a group such as ssl-cert)",
			 path, (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return AE_FORBIDDEN;
	}
	if (ret_group)
		*ret_group = (st.st_mode & 070) != 0;
	int rc = read_all(fd, &st, path, ret, err, errlen);
	close(fd);
	return rc;
}

int tls_pair_read(const char *cert_path, const char *key_path, struct tls_pair *ret, char *err,
		  size_t errlen)
{
	struct tls_pair p = {0};
	int rc = read_file(cert_path, false, &p.cert_pem, NULL, err, errlen);
	if (rc == 0)
		rc = read_file(key_path, true, &p.key_pem, &p.key_group_readable, err, errlen);
	if (rc < 0) {
		tls_pair_done(&p);
		return rc;
	}
	*ret = p;
	return 0;
}

void tls_pair_done(struct tls_pair *p)
{
	if (!p)
		return;
	if (p->key_pem)
		explicit_bzero(p->key_pem, strlen(p->key_pem));
	free(p->key_pem);
	free(p->cert_pem);
	*p = (struct tls_pair){0};
}

bool tls_listen_is_loopback(const char *listen)
{
	char host[64];
	struct in_addr a;
	const char *colon = strrchr(listen, ':');
	if (!colon || (size_t)(colon - listen) >= sizeof(host))
		return false;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
	return inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}
