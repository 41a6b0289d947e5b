/* Copying a library into a memfd (see memfd.h), bounded to 1 GiB; the memfd belongs to the worker's
 * user, so dlopen() may open it again through /proc/self/fd. */
#include "worker/memfd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_LIBRARY ((off_t)1 << 30)

static int copy_all(int from, int to)
{
	char buf[65536];
	off_t at = 0;
	for (;;) {
		ssize_t n = pread(from, buf, sizeof(buf), at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return (int)n;
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(to, buf + done, (size_t)(n - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return -1;
			done += w;
		}
		at += n;
		if (at > MAX_LIBRARY) {
			errno = EFBIG;
			return -1;
		}
	}
}

int memfd_copy(int fd, char *err, size_t errlen)
{
	int m = memfd_create("asyncd-library", MFD_CLOEXEC);
	if (m < 0) {
		snprintf(err, errlen, "memfd_create: %s", strerror(errno));
		return -1;
	}
	if (copy_all(fd, m) < 0) {
		snprintf(err, errlen, "cannot read the library: %s", strerror(errno));
		close(m);
		return -1;
	}
	return m;
}
