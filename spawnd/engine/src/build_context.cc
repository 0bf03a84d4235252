#include "build_context.h"

#include "spawn/common/tar.h"

namespace spawn {

Result<std::string> MakeBuildContext(const std::string& dockerfile, const std::string& archive) {
  auto entries = ReadTar(archive);
  if (!entries.ok()) return entries.status().WithContext("included files");
  TarWriter writer;
  writer.AddFile(kDockerfileName, dockerfile);
  for (const auto& entry : *entries) {
    // A later entry of the same name would replace the generated Dockerfile in the engine's eyes.
    if (entry.path == kDockerfileName) {
      return Status::BadRequest(std::string("included files: \"") + kDockerfileName +
                                "\" is reserved for the generated Dockerfile");
    }
    writer.Add(entry);
  }
  return writer.Finish();
}

}  // namespace spawn
