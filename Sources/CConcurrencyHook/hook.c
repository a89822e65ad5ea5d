#include "CConcurrencyHook.h"

// Defined by the Swift runtime. In a binary linked with the static Swift runtime the symbol is hidden,
// so it cannot be looked up by name at run time (SwiftNIO's own installer uses dlsym and fails there);
// referenced from here, the linker resolves it.
extern void *swift_task_enqueueGlobal_hook;

bool secretsfs_install_enqueue_global_hook(void *hook) {
    return __atomic_compare_exchange_n(&swift_task_enqueueGlobal_hook, &(void *){0}, hook, false,
                                       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
