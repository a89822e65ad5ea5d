// The floor of a cold Vault read through FUSE on this machine: the least a FUSE daemon can do for
// one. A LOOKUP fetches the secret with one keep-alive GET (a bare HTTP/1.1 request on one socket,
// the value cut out of the JSON by hand) and answers with its size; OPEN is declined once, as
// secretsfs declines it, so the kernel opens alone after; READ answers from memory. libfuse's plain
// single-threaded loop and nothing else: no cache, no policy, no audit, no TLS. With --hop, the FUSE
// thread hands each LOOKUP to a second thread, which fetches and answers it, as secretsfs hands a
// miss to the event loop its HTTP client runs on: the difference is what that hand-off costs.
// scripts/bench's section 3 and bench/cold-profile.py --floor mount it beside secretsfs.
//     gcc -O2 -o /tmp/cold-floor bench/cold-floor.c $(pkg-config --cflags --libs fuse3) -lpthread
//     VAULT_ADDR=http://127.0.0.1:PORT VAULT_TOKEN=... /tmp/cold-floor MOUNTPOINT [--hop]
// On unmount it prints the median of its own GETs: the mount's time less that is FUSE's share.
#define _GNU_SOURCE
#define FUSE_USE_VERSION 34
#include <arpa/inet.h>
#include <errno.h>
#include <fuse_lowlevel.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct node {
    char *path;      // below the mount, no leading slash; "" is the root
    char *value;     // NULL: a folder
    size_t size;
};
static struct node *nodes;
static size_t count, capacity;
static int sock = -1;
static const char *token;
static struct sockaddr_in addr;
static double *gets;
static size_t ngets, capgets;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int connect_vault(void) {
    sock = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return connect(sock, (struct sockaddr *)&addr, sizeof addr);
}

// The secret's "value" field, or NULL with *missing set for a 404 (a folder, here).
static char *vault_get(const char *path, int *missing) {
    static char buf[1 << 16];
    double t0 = now();
    int n = snprintf(buf, sizeof buf, "GET /v1/secret/data/%s HTTP/1.1\r\nHost: vault\r\nX-Vault-Token: %s\r\n\r\n",
                     path, token);
    if (write(sock, buf, n) != n) return NULL;
    size_t have = 0;
    char *body = NULL;
    long length = -1;
    for (;;) {
        ssize_t got = read(sock, buf + have, sizeof buf - 1 - have);
        if (got <= 0) return NULL;
        have += got;
        buf[have] = 0;
        if (!body && (body = strstr(buf, "\r\n\r\n"))) {
            body += 4;
            char *cl = strcasestr(buf, "Content-Length:");
            if (!cl) return NULL;
            length = strtol(cl + 15, NULL, 10);
        }
        if (body && (long)(have - (body - buf)) >= length) break;
    }
    if (ngets == capgets) gets = realloc(gets, (capgets = capgets * 2 + 1024) * sizeof *gets);
    gets[ngets++] = now() - t0;
    *missing = strncmp(buf + 9, "404", 3) == 0;
    char *start = strstr(body, "\"value\":\"");
    if (*missing || !start) return NULL;
    start += 9;
    char *end = strchr(start, '"');
    return end ? strndup(start, end - start) : NULL;
}

static void attributes(fuse_ino_t ino, struct stat *st) {
    memset(st, 0, sizeof *st);
    st->st_ino = ino;
    st->st_mode = nodes[ino - 1].value ? S_IFREG | 0444 : S_IFDIR | 0555;
    st->st_nlink = 1;
    st->st_size = nodes[ino - 1].size;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready = PTHREAD_COND_INITIALIZER, freed = PTHREAD_COND_INITIALIZER;
static struct { fuse_req_t req; fuse_ino_t parent; char *name; } queued;
static int hop;

static void lookup_now(fuse_req_t req, fuse_ino_t parent, const char *name) {
    const char *base = nodes[parent - 1].path;
    char path[4096];
    snprintf(path, sizeof path, "%s%s%s", base, *base ? "/" : "", name);
    struct fuse_entry_param e = {0};
    for (size_t i = 0; i < count; i++)
        if (strcmp(nodes[i].path, path) == 0) e.ino = i + 1;
    if (!e.ino) {
        int missing = 0;
        char *value = vault_get(path, &missing);
        if (!value && !missing) { fuse_reply_err(req, EIO); return; }
        // Never moved: with --hop, the FUSE thread reads the table while the other thread adds to it.
        if (count == capacity) { free(value); fuse_reply_err(req, ENOSPC); return; }
        nodes[count] = (struct node){strdup(path), value, value ? strlen(value) : 0};
        e.ino = ++count;
    }
    e.attr_timeout = e.entry_timeout = 3600;
    attributes(e.ino, &e.attr);
    fuse_reply_entry(req, &e);
}

static void *hopper(void *unused) {
    (void)unused;
    for (;;) {
        pthread_mutex_lock(&lock);
        while (!queued.req) pthread_cond_wait(&ready, &lock);
        fuse_req_t req = queued.req;
        fuse_ino_t parent = queued.parent;
        char *name = queued.name;
        queued.req = NULL;
        pthread_cond_signal(&freed);
        pthread_mutex_unlock(&lock);
        lookup_now(req, parent, name);
        free(name);
    }
    return NULL;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
    if (!hop) { lookup_now(req, parent, name); return; }
    // One slot: a reader's next LOOKUP comes only after the answer, and another reader's waits here.
    pthread_mutex_lock(&lock);
    while (queued.req) pthread_cond_wait(&freed, &lock);
    queued.req = req, queued.parent = parent, queued.name = strdup(name);
    pthread_cond_signal(&ready);
    pthread_mutex_unlock(&lock);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    (void)fi;
    struct stat st;
    attributes(ino, &st);
    fuse_reply_attr(req, &st, 3600);
}

// As secretsfs does without a policy or an audit log: the kernel stops sending OPEN (and RELEASE).
static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    (void)ino, (void)fi;
    fuse_reply_err(req, ENOSYS);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
    (void)fi;
    struct node *n = &nodes[ino - 1];
    if ((size_t)off >= n->size) { fuse_reply_buf(req, NULL, 0); return; }
    fuse_reply_buf(req, n->value + off, n->size - off < size ? n->size - off : size);
}

// The timed reads never list; the driver's listing before them needs only a folder that answers.
static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
    (void)ino, (void)size, (void)off, (void)fi;
    fuse_reply_buf(req, NULL, 0);
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    const char *vault = getenv("VAULT_ADDR");
    token = getenv("VAULT_TOKEN");
    if (argc < 2 || !vault || !token || strncmp(vault, "http://", 7)) {
        fprintf(stderr, "usage: VAULT_ADDR=http://HOST:PORT VAULT_TOKEN=... cold-floor MOUNTPOINT [--hop]\n");
        return 2;
    }
    hop = argc > 2 && strcmp(argv[2], "--hop") == 0;
    char host[256];
    int port;
    if (sscanf(vault + 7, "%255[^:]:%d", host, &port) != 2) return 2;
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    inet_pton(AF_INET, host, &addr.sin_addr);
    if (connect_vault()) { perror("connect"); return 1; }
    nodes = calloc(capacity = 1 << 20, sizeof *nodes);
    nodes[count++] = (struct node){strdup(""), NULL, 0};
    if (hop) {
        pthread_t thread;
        pthread_create(&thread, NULL, hopper, NULL);
    }
    struct fuse_lowlevel_ops ops = {.lookup = op_lookup, .getattr = op_getattr, .open = op_open,
                                    .read = op_read, .readdir = op_readdir};
    char *fargs[] = {argv[0], "-o", "fsname=cold-floor"};
    struct fuse_args args = FUSE_ARGS_INIT(3, fargs);
    struct fuse_session *se = fuse_session_new(&args, &ops, sizeof ops, NULL);
    if (!se || fuse_session_mount(se, argv[1])) return 1;
    int rc = fuse_session_loop(se);
    fuse_session_unmount(se);
    fuse_session_destroy(se);
    qsort(gets, ngets, sizeof *gets, compare);
    if (ngets) fprintf(stderr, "cold-floor: %zu GETs, median %.0f us\n", ngets, gets[ngets / 2]);
    return rc ? 1 : 0;
}
