/* http_conn.c - the transport's slow-client limits (http.h, "Slow clients"). Every
 * connection has a record (http_conn, MHD's socket context) in a list kept in arrival
 * order, with its phase (waiting for a head, receiving a body, being answered) and when
 * that phase began. A new connection closes the oldest ones still waiting for a head past
 * max_pending / max_pending_per_ip; the watchdog thread closes those past their head
 * deadline or below the body rate. Closing is shutdown(2) on the socket under the list's
 * mutex: MHD's connection thread then sees the end of the stream and closes the
 * connection itself, and since MHD reports MHD_CONNECTION_NOTIFY_CLOSED (which takes the
 * record out of the list under the same mutex) before it closes the socket, the
 * descriptor shut down is always still the connection's own. */
#include "http_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
    if (a->ss_family != b->ss_family) return false;
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr == ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    if (a->ss_family == AF_INET6)
        return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr,
                       sizeof(struct in6_addr));
    return true;
}

static void list_unlink(http_server *h, http_conn *c) {
    if (c->prev) c->prev->next = c->next;
    else h->first = c->next;
    if (c->next) c->next->prev = c->prev;
    else h->last = c->prev;
    c->prev = c->next = NULL;
}

static void list_append(http_server *h, http_conn *c) {
    c->prev = h->last;
    c->next = NULL;
    if (h->last) h->last->next = c;
    else h->first = c;
    h->last = c;
}

/* Closes c's connection (MHD finishes the close). Under h->mu. */
static void conn_cut(http_conn *c, const char *why) {
    if (c->phase == HTTP_PHASE_CUT) return;
    pp_log(PP_LOG_DEBUG, "closing a slow connection: %s", why);
    shutdown(c->fd, SHUT_RDWR);
    c->phase = HTTP_PHASE_CUT;
}

/* Past max_pending waiting connections (or max_pending_per_ip of fresh's address), closes
 * the oldest waiting ones but fresh. Under h->mu. */
static void pending_trim(http_server *h, const http_conn *fresh) {
    unsigned n_all = 0, n_ip = 0;
    for (http_conn *c = h->first; c; c = c->next)
        if (c->phase == HTTP_PHASE_HEAD) {
            n_all++;
            n_ip += same_addr(&c->addr, &fresh->addr);
        }
    for (http_conn *c = h->first; c && (n_all > h->p.max_pending || n_ip > h->p.max_pending_per_ip); c = c->next) {
        if (c == fresh || c->phase != HTTP_PHASE_HEAD) continue;
        bool mine = same_addr(&c->addr, &fresh->addr);
        if (n_all > h->p.max_pending || (mine && n_ip > h->p.max_pending_per_ip)) {
            conn_cut(c, "too many connections waiting for a request head");
            n_all--;
            n_ip -= mine;
        }
    }
}

void http_conn_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
    http_server *h = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *ad = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        http_conn *c = fd ? calloc(1, sizeof *c) : NULL;
        *socket_context = c;
        if (!c) return; /* untracked: only MHD's own limits apply */
        c->fd = fd->connect_fd;
        if (ad && ad->client_addr) {
            socklen_t n = ad->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                                 : sizeof(struct sockaddr_in);
            memcpy(&c->addr, ad->client_addr, n);
        }
        c->phase = HTTP_PHASE_HEAD;
        c->t0_ms = now_ms();
        pthread_mutex_lock(&h->mu);
        list_append(h, c);
        pending_trim(h, c);
        pthread_mutex_unlock(&h->mu);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        http_conn *c = *socket_context;
        if (!c) return;
        pthread_mutex_lock(&h->mu);
        list_unlink(h, c);
        pthread_mutex_unlock(&h->mu);
        free(c);
        *socket_context = NULL;
    }
}

static http_conn *conn_of(struct MHD_Connection *conn) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* Moves conn's record to phase ph (a cut connection stays cut); HEAD goes to the back of
 * the list, which stays ordered by how long a connection has been waiting. */
void http_conn_phase(http_server *h, struct MHD_Connection *conn, http_phase ph) {
    http_conn *c = conn_of(conn);
    if (!c) return;
    pthread_mutex_lock(&h->mu);
    if (c->phase != HTTP_PHASE_CUT) {
        c->phase = ph;
        c->t0_ms = now_ms();
        c->body_bytes = 0;
        if (ph == HTTP_PHASE_HEAD) {
            list_unlink(h, c);
            list_append(h, c);
        }
    }
    pthread_mutex_unlock(&h->mu);
}

void http_conn_body_bytes(http_server *h, struct MHD_Connection *conn, size_t n) {
    http_conn *c = conn_of(conn);
    if (!c) return;
    pthread_mutex_lock(&h->mu);
    c->body_bytes += n;
    pthread_mutex_unlock(&h->mu);
}

/* The watchdog: closes connections past their head deadline or below the body rate. */
static void *watch_main(void *arg) {
    http_server *h = arg;
    pthread_mutex_lock(&h->mu);
    while (!h->watch_stop) {
        int64_t t = now_ms();
        for (http_conn *c = h->first; c; c = c->next) {
            int64_t age = t - c->t0_ms;
            if (c->phase == HTTP_PHASE_HEAD && age >= h->p.head_ms)
                conn_cut(c, "request head not complete in time");
            else if (c->phase == HTTP_PHASE_BODY && age >= h->p.body_grace_ms &&
                     c->body_bytes * 1000 < (uint64_t)h->p.body_min_rate * (uint64_t)age)
                conn_cut(c, "request body too slow");
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += HTTP_WATCH_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&h->cv_watch, &h->mu, &ts);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

bool http_watch_start(http_server *h) {
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv_watch, NULL);
    if (pthread_create(&h->watch, NULL, watch_main, h) == 0) return true;
    pthread_cond_destroy(&h->cv_watch);
    pthread_mutex_destroy(&h->mu);
    return false;
}

void http_watch_join(http_server *h) {
    pthread_mutex_lock(&h->mu);
    h->watch_stop = true;
    pthread_cond_signal(&h->cv_watch);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->watch, NULL);
    pthread_cond_destroy(&h->cv_watch);
    pthread_mutex_destroy(&h->mu);
}
