// The one C header the FUSE target sees. A module map cannot define macros, so the API
// version is fixed here, before libfuse's headers read it, and the function-like macros
// Swift cannot call get small inline wrappers.
#ifndef SECRETSFS_CFUSE_SHIM_H
#define SECRETSFS_CFUSE_SHIM_H

#define FUSE_USE_VERSION 31
#include <fuse_lowlevel.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <signal.h>
#include <pthread.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <fcntl.h>

static inline struct fuse_args secretsfs_fuse_args_init(int argc, char **argv) {
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    return args;
}

// libfuse 3.17 turns fuse_session_new into a macro; calling through here keeps us portable.
static inline struct fuse_session *secretsfs_session_new(struct fuse_args *args,
                                                         const struct fuse_lowlevel_ops *ops,
                                                         void *userdata) {
    return fuse_session_new(args, ops, sizeof(*ops), userdata);
}

static inline void secretsfs_conn_want(struct fuse_conn_info *conn, unsigned flag) {
    if (conn->capable & flag) conn->want |= flag;
}

static inline void secretsfs_conn_unwant(struct fuse_conn_info *conn, unsigned flag) {
    conn->want &= ~flag;
}

// SIGUSR1 only has to interrupt the loop thread's read(2); installed without SA_RESTART.
static void secretsfs_wake_handler(int sig) { (void)sig; }
static inline int secretsfs_install_wake_handler(void) {
    struct sigaction sa;
    sa.sa_handler = secretsfs_wake_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    return sigaction(SIGUSR1, &sa, NULL);
}

// prctl is variadic, which Swift cannot call. Linux keeps 15 bytes of a thread's name.
static inline int secretsfs_name_this_thread(const char *name) {
    return prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}

// Threads made from Dispatch's workers inherit a mask that blocks SIGUSR1; the loop thread
// must receive it.
static inline int secretsfs_unblock_wake_signal(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    return pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

static inline int secretsfs_set_dumpable(int on) { return prctl(PR_SET_DUMPABLE, on, 0, 0, 0); }

// --- A worker taking over a mounted /dev/fuse descriptor (see WorkerHandover.swift) ---
// The kernel's wire structures, as <linux/fuse.h> has them; spelled here because libfuse does not
// install its copy and the system's copy clashes with libfuse's macros.
struct secretsfs_in_header {
    uint32_t len, opcode;
    uint64_t unique, nodeid;
    uint32_t uid, gid, pid;
    uint16_t total_extlen, padding;
};
struct secretsfs_init_in {
    uint32_t major, minor, max_readahead, flags, flags2;
    uint32_t unused[11];
};
struct secretsfs_out_header {
    uint32_t len;
    int32_t error;
    uint64_t unique;
};

// The kernel sent INIT to the first worker only. A later worker's libfuse session must still pass
// its "got INIT" check, so it is fed an INIT made here; libfuse's answer goes to the device with a
// request id the kernel does not know, which the kernel refuses (ENOENT) and libfuse ignores.
static inline void secretsfs_feed_init(struct fuse_session *se, uint32_t minor, uint32_t flags) {
    struct {
        struct secretsfs_in_header in;
        struct secretsfs_init_in init;
    } message;
    memset(&message, 0, sizeof(message));
    message.in.len = sizeof(message);
    message.in.opcode = 26;  // FUSE_INIT
    message.in.unique = 0x7ffffffffffffffeULL;
    message.init.major = 7;
    message.init.minor = minor;
    message.init.max_readahead = 131072;
    message.init.flags = flags;
    struct fuse_buf buf;
    memset(&buf, 0, sizeof(buf));
    buf.mem = &message;
    buf.size = sizeof(message);
    fuse_session_process_buf(se, &buf);
}

// The kernel's INIT, answered by libfuse with FUSE_PARALLEL_DIROPS added. libfuse 3.14 works out
// FUSE_CAP_PARALLEL_DIROPS (it is among its defaults) but never puts the bit in its INIT reply, so
// the kernel takes a folder's mutex around every LOOKUP in it (fs/fuse/dir.c, fuse_lookup ->
// fuse_lock_inode) and the first reads of 8 secrets in one folder wait for each other's backend
// call. libfuse writes its reply to the session's descriptor, so for this one request that number
// points at a pipe; the reply is read back, given the bit, and written to /dev/fuse. Nothing else
// writes to the device before INIT is answered. Returns 0, or -1 when it fell back to libfuse's
// own reply (the kernel then serializes lookups, as before).
static inline int secretsfs_process_init(struct fuse_session *se, const struct fuse_buf *buf) {
    int fd = fuse_session_fd(se);
    // dup2 clears close-on-exec: the descriptor gets its own flags back, so no program started
    // later (on_change, exec) inherits /dev/fuse.
    int fdflags = fcntl(fd, F_GETFD);
    int saved = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    int pipefd[2];
    if (saved < 0 || syscall(SYS_pipe2, pipefd, O_CLOEXEC) != 0) {
        if (saved >= 0) close(saved);
        fuse_session_process_buf(se, buf);
        return -1;
    }
    dup2(pipefd[1], fd);
    fuse_session_process_buf(se, buf);
    dup2(saved, fd);
    if (fdflags >= 0) fcntl(fd, F_SETFD, fdflags);
    close(saved);
    close(pipefd[1]);
    unsigned char reply[512];
    ssize_t n = read(pipefd[0], reply, sizeof reply);
    close(pipefd[0]);
    if (n < (ssize_t)sizeof(struct secretsfs_out_header)) return -1;
    struct secretsfs_out_header *out = (struct secretsfs_out_header *)reply;
    // fuse_init_out: major, minor, max_readahead, flags (32-bit words); bit 18 is FUSE_PARALLEL_DIROPS.
    int patched = out->error == 0 && n >= (ssize_t)(sizeof(*out) + 16);
    if (patched) {
        uint32_t flags;
        memcpy(&flags, reply + sizeof(*out) + 12, sizeof flags);
        flags |= 1u << 18;
        memcpy(reply + sizeof(*out) + 12, &flags, sizeof flags);
    }
    if (write(fd, reply, (size_t)n) != n) return -1;
    return patched ? 0 : -1;
}

// FUSE_NOTIFY_RESEND (Linux 6.9, protocol 7.40): the kernel queues again every request a dead
// worker had read but not answered. Returns 0, or the errno (EINVAL: the kernel is older).
static inline int secretsfs_notify_resend(int fd) {
    struct secretsfs_out_header out = {sizeof(out), 7, 0};
    if (write(fd, &out, sizeof(out)) == (ssize_t)sizeof(out)) return 0;
    return errno;
}

// Puts `size` bytes from `data` into the kernel's page cache of inode `ino` from offset 0
// (FUSE_NOTIFY_STORE): the next read of them is answered by the kernel, with no READ.
static inline int secretsfs_notify_store(struct fuse_session *se, uint64_t ino, const void *data, size_t size) {
    struct fuse_bufvec bufv = FUSE_BUFVEC_INIT(size);
    bufv.buf[0].mem = (void *)data;
    return fuse_lowlevel_notify_store(se, ino, 0, &bufv, 0);
}

// Stores a journal's committed length after its bytes: a reader in a later process never sees
// a length that covers bytes not yet written.
static inline void secretsfs_store_release(uint64_t *where, uint64_t value) {
    __atomic_store_n(where, value, __ATOMIC_RELEASE);
}
static inline uint64_t secretsfs_load_acquire(const uint64_t *where) {
    return __atomic_load_n(where, __ATOMIC_ACQUIRE);
}

// Gives a range of a memfd back; it reads as zeroes after (FALLOC_FL_PUNCH_HOLE | KEEP_SIZE).
static inline int secretsfs_punch_hole(int fd, long offset, long length) {
    return (int)syscall(SYS_fallocate, fd, 0x02 | 0x01, offset, length);
}

// --- Operations the daemon makes on its own mount, so that inotify watchers hear of a change ---
#include <fcntl.h>
#include <sys/stat.h>
#ifndef O_PATH
#define O_PATH 010000000
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

// The id the kernel puts in the FUSE requests a thread makes (its own, not the process's).
static inline int32_t secretsfs_thread_id(void) { return (int32_t)syscall(SYS_gettid); }

// Opens an inode of the mount by its node id, as FUSE encodes a file handle (FILEID_INO64_GEN: the
// node id's halves, then the generation). Reaches inodes no name leads to any more, such as an old
// version a watch still holds; needs CAP_DAC_READ_SEARCH.
static inline int secretsfs_open_node(int mount_fd, uint64_t nodeid, uint32_t generation, int flags) {
    struct {
        unsigned int bytes;
        int type;
        uint32_t words[3];
    } handle = {12, 0x81, {(uint32_t)(nodeid >> 32), (uint32_t)nodeid, generation}};
    return (int)syscall(SYS_open_by_handle_at, mount_fd, &handle, flags);
}

// Sets the mtime alone, to now: the kernel reports a change of the mtime without the atime as
// IN_MODIFY (both at once would be IN_ATTRIB). The daemon answers with the version's own times.
static inline int secretsfs_touch_fd(int fd) {
    struct timespec times[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
    return futimens(fd, times);
}
static inline int secretsfs_touch_path(int dirfd, const char *path, int flags) {
    struct timespec times[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
    return utimensat(dirfd, path, times, flags);
}

// --- libfuse's own messages (see LibfuseLog.swift) ---
// libfuse prints refused -o options whole, and a value may be a secret: each `key=value` keeps
// its key and loses its value. While capturing, lines gather here for the one error line we
// print; otherwise they go to stderr. Used from one Swift file only, so there is one copy.
#include <stdio.h>
#include <stdarg.h>
// Function-local statics: Swift's importer emits a header's functions but not its global variables.
struct secretsfs_fuse_log_state {
    char buffer[512];
    int capturing;
};
static inline struct secretsfs_fuse_log_state *secretsfs_fuse_log(void) {
    static struct secretsfs_fuse_log_state state;
    return &state;
}

static void secretsfs_fuse_log_without_values(enum fuse_log_level level, const char *fmt, va_list ap) {
    (void)level;
    char line[512], out[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t o = 0;
    int skipping = 0;
    for (const char *p = line; *p && o < sizeof out - 1; p++) {
        if (skipping) {
            if (*p != ',' && *p != ' ' && *p != '\'' && *p != '\n') continue;
            skipping = 0;
        }
        out[o++] = *p;
        if (*p == '=') skipping = 1;
    }
    out[o] = 0;
    struct secretsfs_fuse_log_state *state = secretsfs_fuse_log();
    if (state->capturing) {
        size_t used = strlen(state->buffer);
        snprintf(state->buffer + used, sizeof state->buffer - used, "%s", out);
    } else {
        fputs(out, stderr);
    }
}

static inline void secretsfs_fuse_log_capture(int on) {
    fuse_set_log_func(secretsfs_fuse_log_without_values);
    if (on) secretsfs_fuse_log()->buffer[0] = 0;
    secretsfs_fuse_log()->capturing = on;
}

static inline const char *secretsfs_fuse_log_captured(void) { return secretsfs_fuse_log()->buffer; }

#endif
