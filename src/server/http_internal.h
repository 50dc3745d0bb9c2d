/* http_internal.h - what the transport's two files share: the daemon object and the
 * slow-client bookkeeping of http_conn.c (connection records, phases, the watchdog) that
 * http.c calls at each step of a request. Not for the API layer. */
#ifndef PIPPA_HTTP_INTERNAL_H
#define PIPPA_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "http.h"

typedef enum http_phase {
    HTTP_PHASE_HEAD,             /* waiting for a request head (also between requests) */
    HTTP_PHASE_BODY,             /* head in, receiving the body */
    HTTP_PHASE_WORK,             /* request complete: a handler or a response is running */
    HTTP_PHASE_CUT,              /* shut down by us, MHD is closing it */
} http_phase;

/* One open connection (MHD's socket context). Fields [mu] of the server. */
typedef struct http_conn {
    struct http_conn *prev, *next; /* the server's list, oldest first */
    int fd;
    struct sockaddr_storage addr;  /* the client's address (port ignored) */
    http_phase phase;
    int64_t t0_ms;                 /* when the phase began (CLOCK_MONOTONIC) */
    uint64_t body_bytes;           /* HTTP_PHASE_BODY: bytes received so far */
} http_conn;

struct http_server {
    http_server_params p;
    char host[HTTP_HOST_MAX];    /* p.host points here */
    struct MHD_Daemon *daemon;
    uint16_t port;
    atomic_int n_active;         /* requests between the first handler call and completion */
    pthread_mutex_t mu;          /* the connection list and the watchdog's stop flag */
    pthread_cond_t cv_watch;
    http_conn *first, *last;     /* [mu] */
    bool watch_stop;             /* [mu] */
    pthread_t watch;
};

/* MHD_OPTION_NOTIFY_CONNECTION (cls = the server): a record per connection; a new one
 * closes the oldest waiting ones past the pending limits. */
void http_conn_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                      enum MHD_ConnectionNotificationCode code);
/* conn's request moved to phase ph (its deadline restarts). */
void http_conn_phase(http_server *h, struct MHD_Connection *conn, http_phase ph);
/* n more body bytes arrived on conn. */
void http_conn_body_bytes(http_server *h, struct MHD_Connection *conn, size_t n);
/* Initialises h's list and its locks and starts the watchdog; false when the thread
 * cannot start (nothing to free then). */
bool http_watch_start(http_server *h);
/* Stops and joins the watchdog, then destroys the list's locks. */
void http_watch_join(http_server *h);

#endif
