/* api_task.h - management work that streams progress (pull, create) on task threads
 * (api_task.c). */
#ifndef PIPPA_API_TASK_H
#define PIPPA_API_TASK_H

#include "api_sched.h"
#include "http.h"

typedef struct api_task api_task;
typedef pp_status (*api_task_fn)(api_server *srv, api_job *j, void *ud, pp_err *err);
/* Runs fn(srv, j, ud) on its own thread (j gets a reference; ud_free(ud) afterwards). */
pp_status api_task_start(api_server *srv, api_job *j, api_task_fn fn, void *ud, void (*ud_free)(void *), pp_err *err);
/* One NDJSON line into j's output (steals line); api_task_status: {"status": status}. */
void api_task_emit(api_server *srv, api_job *j, json_t *line);
void api_task_status(api_server *srv, api_job *j, const char *status);
/* Streams the task's lines (plus {"error"} on failure), or waits and answers
 * {"status":"success"} / the error. Consumes the caller's job reference. */
enum MHD_Result api_task_respond(http_req *r, api_job *j, bool stream);
void api_task_join_all(api_server *srv);

#endif
