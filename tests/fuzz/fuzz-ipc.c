/* libFuzzer entry for the IPC frame decoder (src/sandbox/ipc.c, ipc_job.c): the input is cut into
 * chunks (sizes taken from its first bytes) and fed to a stream reader as a worker's or a host's
 * socket would deliver it; every frame that parses is decoded as the host decodes a worker's
 * RESULT and as a worker decodes a JOB, and what decodes is encoded again and must decode to the
 * same values. Any crash, sanitizer report or abort() is a finding. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/ipc.h"
#include "sandbox/ipc_job.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_BODY (1u << 20)

static void check(int ok)
{
	if (!ok)
		abort();
}

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static void roundtrip_job(const struct ipc_job *j)
{
	struct ipc_wbuf w;
	struct ipc_frame f;
	struct ipc_job k;
	size_t used;
	ipc_wbuf_init(&w);
	check(ipc_job_encode(&w, j) == 0);
	check(ipc_frame_parse(w.data, w.len, IPC_MAX_BODY, &f, &used) == 1 && used == w.len);
	check(ipc_job_decode(&f, &k) == 0);
	check(k.job.id == j->job.id && k.step_id == j->step_id && k.max_trace == j->max_trace);
	check(same_str(k.sha256, j->sha256) && same_str(k.type, j->type));
	check(same_str(k.job.data, j->job.data) && same_str(k.config, j->config));
	check(k.job.attempt == j->job.attempt && k.job.depth == j->job.depth);
	ipc_wbuf_done(&w);
}

static void roundtrip_result(const struct ipc_result *r)
{
	struct ipc_wbuf w;
	struct ipc_frame f;
	struct ipc_result s;
	size_t used;
	ipc_wbuf_init(&w);
	check(ipc_result_encode(&w, r) == 0);
	check(ipc_frame_parse(w.data, w.len, IPC_MAX_RESULT_BODY, &f, &used) == 1);
	check(ipc_result_decode(&f, &s) == 0);
	check(s.job_id == r->job_id && s.result == r->result && s.delay_ms == r->delay_ms);
	check(s.error_code == r->error_code && same_str(s.message, r->message));
	check(s.trace_len == r->trace_len && same_str(s.output, r->output));
	ipc_wbuf_done(&w);
}

static void use_frame(const struct ipc_frame *f)
{
	struct ipc_job j;
	struct ipc_result r;
	check(f->type > 0 && f->type < IPC_TYPE_MAX_ && f->len <= FUZZ_MAX_BODY);
	if (ipc_job_decode(f, &j) == 0)
		roundtrip_job(&j);
	if (ipc_result_decode(f, &r) == 0) {
		char *copy = r.trace ? strndup(r.trace, r.trace_len) : NULL;
		if (copy)
			ipc_utf8_sanitize(copy, r.trace_len);
		free(copy);
		roundtrip_result(&r);
	}
	for (int tag = 0; tag < IPC_TAG_MAX_ + 2; tag++) {
		const char *s = ipc_str(f, (enum ipc_tag)tag);
		check(!s || strlen(s) == ipc_strlen(f, (enum ipc_tag)tag));
		(void)ipc_int(f, (enum ipc_tag)tag, 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_rbuf rb;
	struct ipc_frame f;
	size_t chunk = size ? (size_t)data[0] % 61 + 1 : 1;
	ipc_rbuf_init(&rb, FUZZ_MAX_BODY);
	for (size_t at = 0; at < size; at += chunk) {
		size_t n = size - at < chunk ? size - at : chunk;
		if (ipc_rbuf_feed(&rb, data + at, n) < 0)
			break;
		int rc;
		while ((rc = ipc_rbuf_next(&rb, &f)) == 1)
			use_frame(&f);
		if (rc < 0)
			break;
	}
	ipc_rbuf_done(&rb);
	return 0;
}
