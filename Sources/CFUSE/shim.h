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

#endif
