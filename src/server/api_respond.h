/* api_respond.h - what the two API families (native Ollama in api_gen.c, OpenAI in
 * api_openai.c) and the management tasks share: starting a job and waiting for it with
 * hang-up checks, messages[] parsing, and answering with a stream or one object. A reply
 * carries its wire format as a table of callbacks (api_format), so this layer calls no
 * family's code by name and the transport only sees a stream source (http_stream_ops). */
#ifndef PIPPA_API_RESPOND_H
#define PIPPA_API_RESPOND_H

#include "api_sched.h"
#include "http.h"

/* The server object behind a request (http_server_params.app). */
static inline api_server *api_srv(const http_req *r) { return r->app; }

typedef struct api_format api_format;
/* What a formatter knows about the reply it writes. */
typedef struct api_reply {
    api_server *srv;
    api_job *job;                /* the reply's job (a reference held by the reply) */
    const api_format *fmt;
    char model[API_NAME_MAX];
    char id[48];                 /* streams: "chatcmpl-N" / "cmpl-N" (from srv->next_id) */
    int64_t created;             /* streams: unix seconds at the start */
    bool include_usage;          /* OpenAI stream_options.include_usage */
} api_reply;

/* One wire format. chunk: bytes for a piece of text; end: the final bytes once the job is
 * done (its result or its error); whole: the one object of a non-streamed reply (NULL for
 * tasks). Each returns false on OOM. */
struct api_format {
    const char *ctype;           /* "application/x-ndjson", "text/event-stream" */
    bool sse;                    /* server-sent events: Cache-Control: no-cache */
    bool chat;                   /* chat (message objects) rather than completion text */
    const char *id_prefix;       /* streams' ids: "chatcmpl" or "cmpl"; NULL = none (tasks) */
    bool (*chunk)(const api_reply *s, http_buf *out, const char *text, size_t n);
    bool (*end)(const api_reply *s, http_buf *out);
    json_t *(*whole)(const api_reply *s, const char *text, size_t n);
};

/* Appends obj as one NDJSON line, or one SSE event when sse (steals obj). */
bool api_out_json(http_buf *out, json_t *obj, bool sse);
/* "length" when the job stopped at num_predict, else "stop". */
const char *api_done_reason(const api_job *j);

/* Submits j and waits until it starts generating; on failure sends the error (*ret). */
bool api_job_start(http_req *r, const api_model *m, api_job *j, enum MHD_Result *ret);
/* Waits for j without streaming: returns false when the client went away (the job is
 * cancelled then). Collects all text into *text (caller frees). */
bool api_job_collect(http_req *r, api_job *j, char **text, size_t *n_text);
/* Streams j's output in format fmt (j already started; model_name may be NULL). Consumes
 * the caller's job reference. */
enum MHD_Result api_stream_start(http_req *r, const char *model_name, api_job *j, const api_format *fmt,
                                 bool include_usage);
/* Runs j and answers with a stream in fmt, or with fmt->whole(...) when !stream.
 * Consumes the caller's job reference. */
enum MHD_Result api_respond(http_req *r, const api_model *m, api_job *j, bool stream, const api_format *fmt,
                            bool include_usage);
/* messages[] (native or OpenAI content parts) into j->msgs. */
pp_status api_parse_messages(const json_t *msgs, api_job *j, pp_err *err);

#endif
