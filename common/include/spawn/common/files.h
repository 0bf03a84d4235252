// Reading a whole file, with an error a user can act on: the one way every component reads
// configs, parameters, state records and included files. And making a directory's entries (a file
// created or renamed in it) durable.
#pragma once

#include <string>

#include "spawn/common/status.h"

namespace spawn {

// The file's bytes; kNotFound "cannot read <path>: <reason>" when it cannot be opened or read.
Result<std::string> ReadFile(const std::string& path);

// fsyncs the directory itself: a file's own fsync does not make its name in the directory survive
// a power cut. Best effort: a directory that cannot be opened is left as it is.
void SyncDirectory(const std::string& dir);

// Replaces `path` with `data` so that a reader (or a crash) sees the old file or the new one,
// never a mix: written beside it (`path`.tmp, `mode`), fsynced, renamed over it, the directory
// synced. kInternal "cannot write|flush|rename <path>: <reason>" on failure (the old file stays).
Status WriteFileAtomically(const std::string& path, const std::string& data, int mode = 0600);

}  // namespace spawn
