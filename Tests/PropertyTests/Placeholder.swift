// Filled in as the target is built.
