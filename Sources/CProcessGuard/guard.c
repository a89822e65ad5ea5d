// Runs before main, so before an argument is parsed, a descriptor received or a thread started:
// the process is non-dumpable (its /proc/PID files are root's; no ptrace, no /proc/PID/mem or fd/N
// for other processes of its user) with no core file, and the credentials in its environment are
// no longer in the block /proc/PID/environ reads.
#define _GNU_SOURCE
#include "CProcessGuard.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

// Every variable a backend's credential chain reads a secret from (Vault's token, AWS's secret
// key, session token and container authorization token). Paths to token files are not secret.
static const char *const credential_names[] = {
    "VAULT_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    NULL,
};

static int guarded;

const char *secretsfs_credential_name(int index) {
    if (index < 0 || index >= (int)(sizeof credential_names / sizeof credential_names[0])) return NULL;
    return credential_names[index];
}

int secretsfs_process_guarded(void) { return guarded; }

static int is_credential(const char *entry) {
    for (const char *const *name = credential_names; *name; name++) {
        size_t length = strlen(*name);
        if (strncmp(entry, *name, length) == 0 && entry[length] == '=') return 1;
    }
    return 0;
}

// A worker's descriptors as WorkerChannel numbers them: its control socket is inherited; /dev/fuse,
// the two journals, the credentials memfd and the lease journal come over that socket once the worker is non-dumpable
// (an inherited one would be open to /proc/PID/fd/N readers between execve and this guard).
enum { worker_control = 6, worker_received_max = 8 };
static const int worker_targets[] = {3, 4, 5, 7, 8};

typedef union {
    struct cmsghdr align;
    char buffer[CMSG_SPACE(sizeof(int) * worker_received_max)];
} descriptor_message;

int secretsfs_send_descriptors(int socket, const int *fds, int count) {
    if (count < 1 || count > worker_received_max) {
        errno = EINVAL;
        return -1;
    }
    char byte = 'D';
    struct iovec part = {&byte, 1};
    descriptor_message control;
    memset(&control, 0, sizeof control);
    struct msghdr message = {0};
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    message.msg_control = control.buffer;
    message.msg_controllen = CMSG_SPACE(sizeof(int) * count);
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int) * count);
    memcpy(CMSG_DATA(header), fds, sizeof(int) * count);
    ssize_t sent;
    do sent = sendmsg(socket, &message, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    return sent == 1 ? 0 : -1;
}

static void receive_worker_descriptors(char **envp) {
    int worker = 0;
    for (char **entry = envp; entry && *entry; entry++) {
        if (strncmp(*entry, "SECRETSFS_WORKER=", 17) == 0) worker = 1;
    }
    struct stat info;
    if (!worker || fstat(worker_control, &info) != 0 || !S_ISSOCK(info.st_mode)) return;
    char byte;
    struct iovec part = {&byte, 1};
    descriptor_message control;
    struct msghdr message = {0};
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    message.msg_control = control.buffer;
    message.msg_controllen = sizeof control.buffer;
    ssize_t got;
    do got = recvmsg(worker_control, &message, MSG_CMSG_CLOEXEC);
    while (got < 0 && errno == EINTR);
    struct cmsghdr *header = got == 1 ? CMSG_FIRSTHDR(&message) : NULL;
    // Without them the worker fails on its first use of a descriptor, and the supervisor says why.
    if (!header || header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) return;
    int count = (int)((header->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    int received[worker_received_max];
    memcpy(received, CMSG_DATA(header), sizeof(int) * count);
    int wanted = sizeof worker_targets / sizeof worker_targets[0];
    int kept[sizeof worker_targets / sizeof worker_targets[0]];
    // Out of the way first: a received number may be another one's target.
    for (int index = 0; index < count; index++) {
        if (index < wanted) kept[index] = fcntl(received[index], F_DUPFD_CLOEXEC, 100);
        close(received[index]);
    }
    for (int index = 0; index < wanted && index < count; index++) {
        if (kept[index] < 0) continue;
        dup2(kept[index], worker_targets[index]);
        close(kept[index]);
    }
}

static void secretsfs_guard_process(int argc, char **argv, char **envp) {
    (void)argc;
    (void)argv;
    if (guarded) return;
    guarded = 1;
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    // /proc/PID/environ reads the block the kernel wrote at execve, whatever setenv or unsetenv do
    // later: a credential's entry moves to the heap (getenv still finds it) and its bytes in that
    // block are zeroed.
    char **out = envp;
    for (char **entry = envp; entry && *entry; entry++) {
        char *kept = *entry;
        if (is_credential(*entry)) {
            kept = strdup(*entry);
            explicit_bzero(*entry, strlen(*entry));
        }
        if (kept) *out++ = kept;
    }
    if (out) *out = NULL;
    receive_worker_descriptors(envp);
}

// .preinit_array runs in an executable before the initializers of every shared library it loads
// (the Swift runtime, Foundation, libdispatch), so the window after execve in which the process is
// dumpable is the dynamic loader's alone. The constructor covers a link that drops .preinit_array.
__attribute__((section(".preinit_array"), used)) static void (*const secretsfs_preinit)(int, char **, char **) =
    secretsfs_guard_process;

__attribute__((constructor(101))) static void secretsfs_guard_fallback(int argc, char **argv, char **envp) {
    secretsfs_guard_process(argc, argv, envp);
}

int secretsfs_spawn_close_from(posix_spawn_file_actions_t *actions, int lowest) {
    return posix_spawn_file_actions_addclosefrom_np(actions, lowest);
}

int secretsfs_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int secretsfs_pidfd_send_signal(int pidfd, int signal) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, signal, NULL, 0);
}

int secretsfs_memfd(const char *name) { return memfd_create(name, 0); }
