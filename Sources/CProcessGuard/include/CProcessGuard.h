#ifndef SECRETSFS_PROCESS_GUARD_H
#define SECRETSFS_PROCESS_GUARD_H

#include <spawn.h>
#include <sys/types.h>

/// The environment variables the credential chains read a credential from, in one list: the
/// process guard moves them out of the environment block /proc/PID/environ shows, and no program
/// secretsfs starts is given one. Index 0, 1, … until NULL.
const char *secretsfs_credential_name(int index);

/// Whether the process guard ran before main (a descriptor of the hardening the tests can check).
int secretsfs_process_guarded(void);

/// posix_spawn_file_actions_addclosefrom_np (glibc 2.34), declared only with _GNU_SOURCE.
int secretsfs_spawn_close_from(posix_spawn_file_actions_t *actions, int lowest);

/// pidfd_open(2) and pidfd_send_signal(2): a signal reaches the process that was judged, even if
/// its pid is reused meanwhile. -1 with errno on failure.
int secretsfs_pidfd_open(pid_t pid);
int secretsfs_pidfd_send_signal(int pidfd, int signal);

/// Sends `count` (1–8) descriptors and one byte over a Unix socket: a worker's guard takes them
/// before main (WorkerChannel's /dev/fuse, journals and credentials, in that order). 0 or -1.
int secretsfs_send_descriptors(int socket, const int *fds, int count);

/// memfd_create(2) without flags (declared only under _GNU_SOURCE, which the headers Swift sees
/// do not define): memory a supervisor hands its workers. -1 with errno on failure.
int secretsfs_memfd(const char *name);

#endif
