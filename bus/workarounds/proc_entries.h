// Listing /proc directories whose entries are numbers (/proc/self/fd, /proc/self/task).
#pragma once

#include <dirent.h>

#include <cstdlib>
#include <vector>

namespace spawn {

// The numeric entries of `dir`, read in full before returning (the directory is closed by then, so
// its own descriptor, listed in /proc/self/fd while it was open, is no longer a live one). Empty
// if `dir` cannot be read.
inline std::vector<long> NumberedEntries(const char* dir) {
  std::vector<long> numbers;
  DIR* listing = opendir(dir);
  if (!listing) return numbers;
  while (const dirent* entry = readdir(listing)) {
    char* end = nullptr;
    const long number = std::strtol(entry->d_name, &end, 10);
    if (end != entry->d_name && *end == '\0') numbers.push_back(number);
  }
  closedir(listing);
  return numbers;
}

}  // namespace spawn
