#include "spawn/common/tar.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <fstream>

namespace spawn {
namespace {

using ::testing::HasSubstr;

std::string RunTarList(const std::string& archive) {
  const std::string path = ::testing::TempDir() + "/list.tar";
  std::ofstream(path, std::ios::binary) << archive;
  std::string out;
  FILE* p = popen(("tar -tvf " + path + " 2>&1").c_str(), "r");
  char buf[512];
  while (fgets(buf, sizeof buf, p)) out += buf;
  EXPECT_EQ(pclose(p), 0) << out;
  return out;
}

TEST(TarWriterTest, GnuTarReadsFilesDirectoriesModesAndLongNames) {
  TarWriter w;
  w.AddDirectory("data", 0755);
  w.AddFile("data/params.yml", "a: 1\n", 0640);
  w.AddFile("svc", "#!/bin/sh\n", 0755);
  const std::string long_name = "deep/" + std::string(120, 'x') + ".txt";
  w.AddFile(long_name, "long");
  w.Add({"link", TarEntry::Type::kSymlink, 0777, "", "svc"});
  const std::string listing = RunTarList(w.Finish());
  EXPECT_THAT(listing, HasSubstr("drwxr-xr-x"));
  EXPECT_THAT(listing, HasSubstr("-rw-r----- 0/0               5"));
  EXPECT_THAT(listing, HasSubstr("data/params.yml"));
  EXPECT_THAT(listing, HasSubstr("-rwxr-xr-x"));
  EXPECT_THAT(listing, HasSubstr(long_name));
  EXPECT_THAT(listing, HasSubstr("link -> svc"));
}

TEST(TarReaderTest, ReadsBackWhatTheWriterWrote) {
  TarWriter w;
  w.AddDirectory("d");
  w.AddFile("d/f", std::string(1000, 'z'), 0600);
  w.AddFile(std::string(150, 'n'), "long");
  auto entries = ReadTar(w.Finish());
  ASSERT_TRUE(entries.ok()) << entries.status().message();
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].type, TarEntry::Type::kDirectory);
  EXPECT_EQ((*entries)[1].path, "d/f");
  EXPECT_EQ((*entries)[1].mode, 0600u);
  EXPECT_EQ((*entries)[1].contents, std::string(1000, 'z'));
  EXPECT_EQ((*entries)[2].path, std::string(150, 'n'));
}

TEST(TarReaderTest, ReadsGnuTarOutputFromDisk) {
  const std::string dir = ::testing::TempDir() + "/tar_src";
  ASSERT_EQ(0, std::system(("rm -rf " + dir + " && mkdir -p " + dir + "/sub && echo hi > " + dir +
                            "/sub/a.txt && chmod 700 " + dir + "/sub/a.txt")
                               .c_str()));
  TarWriter w;
  ASSERT_TRUE(w.AddPathFromDisk(dir + "/sub", "sub").ok());
  auto entries = ReadTar(w.Finish());
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[1].path, "sub/a.txt");
  EXPECT_EQ((*entries)[1].mode, 0700u);
  EXPECT_EQ((*entries)[1].contents, "hi\n");
  EXPECT_FALSE(w.AddPathFromDisk(dir + "/missing", "x").ok());
}

TEST(TarReaderTest, RefusesUnsafeEntries) {
  struct Case {
    TarEntry entry;
    std::string expected;
  } cases[] = {
      {{"/etc/passwd", TarEntry::Type::kFile, 0644, "x", ""},
       "absolute paths and .. are not allowed"},
      {{"a/../../x", TarEntry::Type::kFile, 0644, "x", ""},
       "absolute paths and .. are not allowed"},
      {{"l", TarEntry::Type::kSymlink, 0777, "", "/etc/shadow"}, "points outside the archive"},
      {{"d/l", TarEntry::Type::kSymlink, 0777, "", "../../x"}, "points outside the archive"},
  };
  for (const auto& c : cases) {
    TarWriter w;
    w.Add(c.entry);
    auto read = ReadTar(w.Finish());
    ASSERT_FALSE(read.ok()) << c.entry.path;
    EXPECT_THAT(read.status().message(), HasSubstr(c.expected));
  }
  TarWriter ok;
  ok.Add({"d/l", TarEntry::Type::kSymlink, 0777, "", "../x"});
  EXPECT_TRUE(ReadTar(ok.Finish()).ok());
}

TEST(TarReaderTest, RefusesDevicesTruncationGarbageAndOversize) {
  TarWriter w;
  w.AddFile("f", "x");
  std::string archive = w.Finish();
  std::string device = archive;
  device[156] = '3';
  // Recompute the checksum so only the type is wrong.
  std::memset(&device[148], ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < 512; ++i) sum += static_cast<unsigned char>(device[i]);
  std::snprintf(&device[148], 8, "%06o", sum);
  EXPECT_THAT(ReadTar(device).status().message(), HasSubstr("device and fifo entries"));
  EXPECT_THAT(ReadTar(archive.substr(0, 300)).status().message(), HasSubstr("truncated"));
  EXPECT_THAT(ReadTar(std::string(1024, 'g')).status().message(), HasSubstr("bad checksum"));
  EXPECT_THAT(ReadTar(archive, 100).status().message(), HasSubstr("larger than the limit"));
  EXPECT_TRUE(ReadTar("").ok());
}

}  // namespace
}  // namespace spawn
