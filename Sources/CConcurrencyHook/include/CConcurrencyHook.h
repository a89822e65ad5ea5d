#ifndef SECRETSFS_CCONCURRENCYHOOK_H
#define SECRETSFS_CCONCURRENCYHOOK_H

#include <stdbool.h>

/// Sets the Swift runtime's hook for enqueueing global-executor jobs (swift/Runtime/Concurrency.h),
/// unless one is set already; says whether it set it. `hook` is a Swift `@convention(thin)` function.
bool secretsfs_install_enqueue_global_hook(void *_Nonnull hook);

#endif
