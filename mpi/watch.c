/* watch.c - the peer watch (see watch.h): ring of TCP heartbeats beside MPI, built from POSIX
 * sockets (getifaddrs, non-blocking connect, poll) and one pthread. */
#define _GNU_SOURCE
#include "mpi/watch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { WATCH_MAX_ADDRS = 8, WATCH_HOST = 64 };
#define WATCH_BEAT 'h'
#define WATCH_BYE 'b'

/* What every rank publishes in the one MPI_Allgather. */
typedef struct {
    char host[WATCH_HOST];
    uint16_t port; /* network order; 0: this rank could not listen */
    uint16_t naddr;
    uint32_t addr[WATCH_MAX_ADDRS]; /* IPv4, network order, non-loopback interfaces that are up */
} watch_info;

typedef struct {
    int fd;
    int rank;
    int done; /* said goodbye (or never connected) */
    double seen;
} watch_peer;

static struct {
    MPI_Comm comm;
    int rank, size, running;
    double timeout;
    watch_peer peer[2]; /* [0] next (r+1), [1] prev (r-1) */
    int wake[2];        /* self-pipe: mpi_watch_stop wakes the thread */
    pthread_t thread;
    watch_info *info; /* every rank's, kept for messages and the placement line */
} W = {.wake = {-1, -1}};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void local_info(watch_info *me, int port)
{
    memset(me, 0, sizeof *me);
    if (gethostname(me->host, sizeof me->host - 1) != 0) strcpy(me->host, "?");
    me->port = htons((uint16_t)port);
    struct ifaddrs *ifa = NULL;
    if (getifaddrs(&ifa) != 0) return;
    for (struct ifaddrs *i = ifa; i && me->naddr < WATCH_MAX_ADDRS; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
        if (!(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK)) continue;
        me->addr[me->naddr++] = ((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr.s_addr;
    }
    freeifaddrs(ifa);
}

/* A listening socket on an ephemeral port of every interface; returns fd and *port, or -1. */
static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY), .sin_port = 0};
    socklen_t al = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* Non-blocking connect with a time limit; returns a connected blocking fd or -1. */
static int connect_to(uint32_t addr, uint16_t port, int ms)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = addr, .sin_port = port};
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    if (rc != 0 && errno == EINPROGRESS) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int e = 0;
        socklen_t el = sizeof e;
        rc = (poll(&p, 1, ms) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e == 0) ? 0 : -1;
    }
    if (rc != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *buf, size_t n, int ms)
{
    char *p = buf;
    double end = now() + ms / 1000.0;
    while (n) {
        struct pollfd q = {.fd = fd, .events = POLLIN};
        int left = (int)((end - now()) * 1000);
        if (left <= 0 || poll(&q, 1, left) != 1) return -1;
        ssize_t r = recv(fd, p, n, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Connects to rank `to` and introduces ourselves: same host first over loopback, then each of its
 * addresses that this host does not have as well. */
static int ring_connect(int to)
{
    const watch_info *t = &W.info[to];
    if (!t->port) return -1;
    int32_t me = (int32_t)htonl((uint32_t)W.rank);
    int fd = -1;
    const watch_info *self = &W.info[W.rank];
    const int same_host = !strcmp(t->host, self->host);
    if (same_host) fd = connect_to(htonl(INADDR_LOOPBACK), t->port, 3000);
    for (int i = 0; fd < 0 && i < t->naddr; i++) {
        /* an address another host has too (docker0's 172.17.0.1, libvirt's 192.168.122.1) is a
         * host-local bridge: connecting there would reach this host, not the peer */
        int mine = 0;
        for (int j = 0; !same_host && j < self->naddr && !mine; j++) mine = t->addr[i] == self->addr[j];
        if (!mine) fd = connect_to(t->addr[i], t->port, 3000);
    }
    if (fd >= 0 && write_all(fd, &me, sizeof me) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Accepts connections until rank `from` introduces itself (10 s at most). */
static int ring_accept(int lfd, int from)
{
    double end = now() + 10.0;
    while (now() < end) {
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        if (poll(&p, 1, (int)((end - now()) * 1000) + 1) != 1) continue;
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) continue;
        int32_t who = 0;
        if (read_all(fd, &who, sizeof who, 3000) == 0 && (int)ntohl((uint32_t)who) == from) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            return fd;
        }
        close(fd);
    }
    return -1;
}

static void lost(const watch_peer *p, const char *why)
{
    fprintf(stderr,
            "artistnet: rank %d on %s lost contact with rank %d on %s (%s): that rank or its node is gone; "
            "aborting the job (exit %d; run it again with --resume to continue from the last checkpoint)\n",
            W.rank, W.info[W.rank].host, p->rank, W.info[p->rank].host, why, MPI_WATCH_EXIT);
    fflush(stderr);
    MPI_Abort(W.comm, MPI_WATCH_EXIT);
    _exit(MPI_WATCH_EXIT);
}

static void *watch_main(void *arg)
{
    (void)arg;
    double last_loop = now(), last_beat = 0;
    for (;;) {
        double t = now();
        /* we were stopped ourselves (SIGSTOP, Slurm suspend): nobody could hear from us either */
        if (t - last_loop > 3.0)
            for (int i = 0; i < 2; i++) W.peer[i].seen = t;
        last_loop = t;
        if (t - last_beat >= 1.0) {
            char b = WATCH_BEAT;
            for (int i = 0; i < 2; i++)
                if (!W.peer[i].done && write_all(W.peer[i].fd, &b, 1) != 0) lost(&W.peer[i], "send failed");
            last_beat = t;
        }
        struct pollfd p[3] = {{.fd = W.wake[0], .events = POLLIN},
                              {.fd = W.peer[0].done ? -1 : W.peer[0].fd, .events = POLLIN},
                              {.fd = W.peer[1].done ? -1 : W.peer[1].fd, .events = POLLIN}};
        int n = poll(p, 3, 1000);
        if (n < 0 && errno != EINTR) break;
        if (p[0].revents) break; /* mpi_watch_stop */
        t = now();
        for (int i = 0; i < 2; i++) {
            watch_peer *q = &W.peer[i];
            if (q->done) continue;
            if (p[i + 1].revents) {
                char buf[64];
                ssize_t r = recv(q->fd, buf, sizeof buf, MSG_DONTWAIT);
                if (r > 0) {
                    q->seen = t;
                    if (memchr(buf, WATCH_BYE, (size_t)r)) q->done = 1;
                } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                    lost(q, r == 0 ? "its connection closed without a goodbye: the process died"
                                   : "connection reset");
                }
            }
            if (!q->done && t - q->seen > W.timeout) {
                char why[96];
                snprintf(why, sizeof why, "no heartbeat for %.0f s", t - q->seen);
                lost(q, why);
            }
        }
    }
    char b = WATCH_BYE;
    for (int i = 0; i < 2; i++)
        if (!W.peer[i].done) (void)write_all(W.peer[i].fd, &b, 1);
    return NULL;
}

static double env_timeout(void)
{
    const char *s = getenv("ARTISTNET_PEER_TIMEOUT");
    if (!s || !*s) return 30.0;
    char *end = NULL;
    double v = strtod(s, &end);
    if (*end || v < 0) {
        fprintf(stderr, "artistnet: ARTISTNET_PEER_TIMEOUT='%s' is not a number of seconds >= 0; using 30\n", s);
        return 30.0;
    }
    return v;
}

int mpi_watch_start(MPI_Comm comm)
{
    MPI_Comm_rank(comm, &W.rank);
    MPI_Comm_size(comm, &W.size);
    W.comm = comm;
    W.timeout = env_timeout();
    int port = 0, lfd = -1;
    if (W.size > 1 && W.timeout > 0) lfd = listen_any(&port);
    watch_info me;
    local_info(&me, lfd >= 0 ? port : 0);
    free(W.info);
    W.info = malloc((size_t)W.size * sizeof *W.info);
    if (!W.info) return 0;
    MPI_Allgather(&me, (int)sizeof me, MPI_BYTE, W.info, (int)sizeof me, MPI_BYTE, comm);
    for (int r = 0; r < W.size; r++) W.info[r].host[WATCH_HOST - 1] = 0;
    if (W.size == 1 || W.timeout <= 0) return 0;

    int next = (W.rank + 1) % W.size, prev = (W.rank + W.size - 1) % W.size;
    W.peer[0] = (watch_peer){.fd = lfd >= 0 ? ring_connect(next) : -1, .rank = next};
    W.peer[1] = (watch_peer){.fd = lfd >= 0 ? ring_accept(lfd, prev) : -1, .rank = prev};
    if (lfd >= 0) close(lfd);
    int ok = W.peer[0].fd >= 0 && W.peer[1].fd >= 0 && pipe2(W.wake, O_CLOEXEC) == 0, all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, comm);
    if (!all) {
        if (!ok)
            fprintf(stderr, "artistnet: rank %d on %s: no TCP connection to its ring neighbours (ranks %d on %s, %d on %s); "
                            "running without the peer watch (a lost node may hang the job until Slurm notices)\n",
                    W.rank, me.host, next, W.info[next].host, prev, W.info[prev].host);
        for (int i = 0; i < 2; i++)
            if (W.peer[i].fd >= 0) close(W.peer[i].fd);
        for (int i = 0; i < 2; i++)
            if (W.wake[i] >= 0) close(W.wake[i]);
        W.wake[0] = W.wake[1] = -1;
        return 0;
    }
    double t = now();
    W.peer[0].seen = W.peer[1].seen = t;
    if (pthread_create(&W.thread, NULL, watch_main, NULL) != 0) {
        fprintf(stderr, "artistnet: rank %d: could not start the peer watch thread\n", W.rank);
        return 0;
    }
    W.running = 1;
    return 0;
}

void mpi_watch_stop(void)
{
    if (!W.running) return;
    char c = 1;
    while (write(W.wake[1], &c, 1) < 0 && errno == EINTR) {
    }
    pthread_join(W.thread, NULL);
    W.running = 0;
    for (int i = 0; i < 2; i++) {
        close(W.peer[i].fd);
        close(W.wake[i]);
    }
    W.wake[0] = W.wake[1] = -1;
}

int mpi_watch_hosts(void)
{
    if (!W.info) return 1;
    int n = 0;
    for (int r = 0; r < W.size; r++) {
        int seen = 0;
        for (int q = 0; q < r && !seen; q++) seen = !strcmp(W.info[q].host, W.info[r].host);
        n += !seen;
    }
    return n;
}

void mpi_watch_placement(char *buf, size_t len)
{
    if (!len) return;
    buf[0] = 0;
    if (!W.info || W.size < 2) return;
    size_t o = (size_t)snprintf(buf, len, "%d host%s:", mpi_watch_hosts(), mpi_watch_hosts() == 1 ? "" : "s");
    /* hosts in order of their first rank; ranks as runs "0-1,4" */
    for (int r = 0; r < W.size && o < len; r++) {
        int first = 1;
        for (int q = 0; q < r && first; q++) first = strcmp(W.info[q].host, W.info[r].host) != 0;
        if (!first) continue;
        o += (size_t)snprintf(buf + o, len - o, "%s %s (ranks ", r ? "," : "", W.info[r].host);
        int sep = 0;
        for (int a = r; a < W.size && o < len; a++) {
            if (strcmp(W.info[a].host, W.info[r].host)) continue;
            int b = a;
            while (b + 1 < W.size && !strcmp(W.info[b + 1].host, W.info[r].host)) b++;
            o += (size_t)(b > a ? snprintf(buf + o, len - o, "%s%d-%d", sep ? "," : "", a, b)
                                : snprintf(buf + o, len - o, "%s%d", sep ? "," : "", a));
            sep = 1;
            a = b;
        }
        if (o < len) o += (size_t)snprintf(buf + o, len - o, ")");
    }
}
