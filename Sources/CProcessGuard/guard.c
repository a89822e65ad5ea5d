// Runs before main, so before an argument is parsed, a descriptor received or a thread started:
// the process is non-dumpable (its /proc/PID files are root's; no ptrace, no /proc/PID/mem or fd/N
// for other processes of its user) with no core file, and the credentials in its environment are
// no longer in the block /proc/PID/environ reads.
#define _GNU_SOURCE
#include "CProcessGuard.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
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
