/* Replays a fuzz corpus without libFuzzer, so that every build (gcc too) runs the fuzz targets'
 * checks on the committed inputs: `fuzz-ipc-replay DIR` calls LLVMFuzzerTestOneInput once per
 * file of DIR and prints TAP (one line per file). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (4 << 20)

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The regular files of dir, sorted (the caller frees them). */
static int list(const char *dir, char ***ret)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	int n = 0;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' && (v = realloc(v, (size_t)(n + 1) * sizeof(*v))))
			v[n++] = strdup(e->d_name);
	if (d)
		closedir(d);
	if (n)
		qsort(v, (size_t)n, sizeof(*v), cmp);
	*ret = v;
	return d ? n : -1;
}

static int replay(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(REPLAY_MAX_INPUT);
	size_t n = f && buf ? fread(buf, 1, REPLAY_MAX_INPUT, f) : 0;
	int ok = f && buf;
	if (ok)
		LLVMFuzzerTestOneInput(buf, n);
	if (f)
		fclose(f);
	free(buf);
	return ok;
}

int main(int argc, char **argv)
{
	char **files;
	int n = argc == 2 ? list(argv[1], &files) : -1;
	if (n <= 0) {
		printf("1..1\nnot ok 1 - no corpus in %s\n", argc == 2 ? argv[1] : "(none given)");
		return 1;
	}
	printf("1..%d\n", n);
	int bad = 0;
	for (int i = 0; i < n; i++) {
		int ok = replay(argv[1], files[i]);
		printf("%sok %d - %s\n", ok ? "" : "not ", i + 1, files[i]);
		bad += !ok;
		free(files[i]);
	}
	free(files);
	return bad ? 1 : 0;
}
