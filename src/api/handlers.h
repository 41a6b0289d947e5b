/* Every HTTP handler, by resource; each answers through api_reply/api_error and returns 0 or a
 * negative AE_* code. The router's table decides who may call which. */
#ifndef ASYNCD_HANDLERS_H
#define ASYNCD_HANDLERS_H

#include "api/api.h"
#include "plugin/lifecycle.h"

int h_healthz(struct api_req *r);
int h_metrics(struct api_req *r);
int h_readyz(struct api_req *r);

int h_console(struct api_req *r);
enum api_start h_console_start(struct api_req *r);

int h_events_raise(struct api_req *r);
enum api_start h_events_start(struct api_req *r);

int h_jobs_submit(struct api_req *r);
int h_jobs_list(struct api_req *r);
int h_jobs_stats(struct api_req *r);
int h_job_get(struct api_req *r);
int h_job_delete(struct api_req *r);
int h_job_action(struct api_req *r);

int h_assemblies_register(struct api_req *r);
int h_assemblies_list(struct api_req *r);

int h_steps_create(struct api_req *r);
int h_steps_list(struct api_req *r);
int h_step_patch(struct api_req *r);
int h_step_delete(struct api_req *r);
int h_step_get(struct api_req *r);
int h_step_secure_config(struct api_req *r);
int h_assembly_delete(struct api_req *r);
int h_assembly_get(struct api_req *r);
int h_assembly_patch(struct api_req *r);

int h_settings_get(struct api_req *r);
int h_settings_patch(struct api_req *r);

int h_audit_list(struct api_req *r);

int h_services_list(struct api_req *r);
int h_hosts_list(struct api_req *r);
int h_service_action(struct api_req *r);
int h_service_configure(struct api_req *r);

int h_users_list(struct api_req *r);
int h_users_create(struct api_req *r);
int h_user_delete(struct api_req *r);
int h_tokens_create(struct api_req *r);
int h_tokens_list(struct api_req *r);
int h_token_revoke(struct api_req *r);

int h_login(struct api_req *r);
int h_logout(struct api_req *r);
int h_whoami(struct api_req *r);
/* bulk actions, bulk deletes, a recurring job's schedule (h_bulk.c) */
int h_jobs_bulk(struct api_req *r);
int h_jobs_stats_hourly(struct api_req *r);
int h_bulk_deletes_create(struct api_req *r);
int h_job_patch(struct api_req *r);
/* test-only (ASYNCD_TEST_CLOCK=1): shift the wall clock forward */
int h_debug_clock(struct api_req *r);

/* Adds "unfinished" counts of a step's or assembly's jobs to o. */
int api_add_unfinished(struct api_req *r, json_t *o, enum lc_kind kind, int64_t id);

#endif
