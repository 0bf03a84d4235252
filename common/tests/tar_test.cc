#include "spawn/common/tar.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
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

// Sets the type of the archive's first header and fixes its checksum.
std::string WithFirstType(std::string archive, char type) {
  archive[156] = type;
  std::memset(&archive[148], ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < 512; ++i) sum += static_cast<unsigned char>(archive[i]);
  std::snprintf(&archive[148], 8, "%06o", sum);
  return archive;
}

// A pax extended header carrying `path`, followed by an entry whose own header says "innocent".
std::string PaxPathArchive(const std::string& path) {
  const std::string body = "path=" + path + "\n";
  std::string record = std::to_string(body.size() + 3) + " " + body;  // length counts itself
  if (record.size() != body.size() + 3) record = std::to_string(body.size() + 4) + " " + body;
  TarWriter pax;
  pax.AddFile("PaxHeaders/innocent", record);
  std::string header = WithFirstType(pax.Finish(), 'x');
  header.resize(header.size() - 1024);  // drop the end marker
  TarWriter entry;
  entry.AddFile("innocent", "x");
  return header + entry.Finish();
}

TEST(TarReaderTest, PaxPathsAreHonouredAndChecked) {
  const std::string long_path = "pax/" + std::string(150, 'p') + ".txt";
  auto ok = ReadTar(PaxPathArchive(long_path));
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  ASSERT_EQ(ok->size(), 1u);
  EXPECT_EQ((*ok)[0].path, long_path);
  EXPECT_THAT(ReadTar(PaxPathArchive("../../etc/cron.d/x")).status().message(),
              HasSubstr("\"../../etc/cron.d/x\" is refused"));

  // GNU tar's own pax output reads back too.
  const std::string dir = ::testing::TempDir() + "/tar_pax";
  ASSERT_EQ(0, std::system(("rm -rf " + dir + " && mkdir -p " + dir + " && cd " + dir +
                            " && echo hi > " + std::string(120, 'q') + " && tar --format=pax -cf " +
                            dir + ".tar " + std::string(120, 'q'))
                               .c_str()));
  std::ifstream in(dir + ".tar", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto gnu = ReadTar(bytes);
  ASSERT_TRUE(gnu.ok()) << gnu.status().message();
  ASSERT_EQ(gnu->size(), 1u);
  EXPECT_EQ((*gnu)[0].path, std::string(120, 'q'));
  EXPECT_EQ((*gnu)[0].contents, "hi\n");
}

TEST(TarReaderTest, RefusesPathsThroughLinks) {
  {
    // Each link looks inside on its own; together they escape: s/b is the root, s/b/.. above it.
    TarWriter w;
    w.AddDirectory("s");
    w.Add({"s/b", TarEntry::Type::kSymlink, 0777, "", ".."});
    w.Add({"up", TarEntry::Type::kSymlink, 0777, "", "s/b/.."});
    EXPECT_THAT(ReadTar(w.Finish()).status().message(),
                HasSubstr("\"up\" is refused: its link to \"s/b/..\" passes through another link"));
  }
  {
    // A file written beneath a link lands wherever the link points.
    TarWriter w;
    w.Add({"l", TarEntry::Type::kSymlink, 0777, "", "d"});
    w.AddFile("l/f", "x");
    EXPECT_THAT(ReadTar(w.Finish()).status().message(),
                HasSubstr("\"l/f\" is refused: it lies beneath a symbolic link"));
  }
  TarWriter fine;
  fine.AddDirectory("d");
  fine.AddFile("d/f", "x");
  fine.Add({"l", TarEntry::Type::kSymlink, 0777, "", "d/f"});
  fine.Add({"m", TarEntry::Type::kSymlink, 0777, "", "l"});  // a chain ending in a link is fine
  EXPECT_TRUE(ReadTar(fine.Finish()).ok());
}

TEST(TarReaderTest, RefusesHardLinksAndFifos) {
  TarWriter w;
  w.AddFile("f", "");
  EXPECT_THAT(ReadTar(WithFirstType(w.Finish(), '1')).status().message(),
              HasSubstr("\"f\" is refused: hard links are not allowed"));
  EXPECT_THAT(ReadTar(WithFirstType(w.Finish(), '6')).status().message(),
              HasSubstr("\"f\" is refused: device and fifo entries"));
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

// One raw header block (and its padded data) of any type, for entries TarWriter never writes.
std::string RawEntry(const std::string& name, char type, const std::string& link = "",
                     const std::string& data = "") {
  char h[512] = {};
  std::memcpy(h, name.data(), std::min<size_t>(name.size(), 100));
  std::snprintf(h + 100, 8, "%07o", 0644);
  std::snprintf(h + 108, 8, "%07o", 0);
  std::snprintf(h + 116, 8, "%07o", 0);
  std::snprintf(h + 124, 12, "%011llo", static_cast<unsigned long long>(data.size()));
  std::snprintf(h + 136, 12, "%011o", 0);
  h[156] = type;
  std::memcpy(h + 157, link.data(), std::min<size_t>(link.size(), 100));
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);
  std::string out(h, 512);
  out += data;
  if (out.size() % 512) out.append(512 - out.size() % 512, '\0');
  return out;
}

std::string PaxRecord(const std::string& key, const std::string& value) {
  const std::string body = " " + key + "=" + value + "\n";
  size_t length = body.size() + 1;
  while (std::to_string(length).size() + body.size() != length) ++length;
  return std::to_string(length) + body;
}

const std::string kEnd(1024, '\0');

TEST(TarReaderTest, HardLinksBecomeCopiesOfEarlierFilesOnly) {
  TarWriter w;
  w.AddFile("a/orig", "data");
  auto read = ReadTar(w.Finish().substr(0, 1024) + RawEntry("a/copy", '1', "a/orig") + kEnd);
  ASSERT_TRUE(read.ok()) << read.status().message();
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[1].type, TarEntry::Type::kFile);
  EXPECT_EQ((*read)[1].contents, "data");
  for (const std::string target : {"/etc/shadow", "../x", "missing"}) {
    auto bad = ReadTar(RawEntry("h", '1', target) + kEnd);
    ASSERT_FALSE(bad.ok()) << target;
    EXPECT_THAT(bad.status().message(),
                HasSubstr("archive entry \"h\" is refused: hard links are not allowed"));
  }
}

TEST(TarReaderTest, PaxPathsAreTheOnesValidated) {
  // A pax `path` overrides the header's harmless name, as every extracting tar honours it.
  const std::string evil = RawEntry("pax", 'x', "", PaxRecord("path", "../../etc/cron.d/x")) +
                           RawEntry("harmless", '0', "", "x") + kEnd;
  EXPECT_THAT(ReadTar(evil).status().message(), HasSubstr("\"../../etc/cron.d/x\" is refused"));
  const std::string fine =
      RawEntry("pax", 'x', "", PaxRecord("path", "dir/" + std::string(150, 'p'))) +
      RawEntry("short", '0', "", "x") + kEnd;
  auto read = ReadTar(fine);
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ((*read)[0].path, "dir/" + std::string(150, 'p'));
}

TEST(TarReaderTest, LinksCannotEscapeThroughOtherLinks) {
  // Each link alone stays inside, lexically; together "up/.." would be the archive's parent.
  TarWriter chain;
  chain.Add({"up", TarEntry::Type::kSymlink, 0777, "", "."});
  chain.Add({"out", TarEntry::Type::kSymlink, 0777, "", "up/.."});
  EXPECT_THAT(
      ReadTar(chain.Finish()).status().message(),
      HasSubstr("\"out\" is refused: its link to \"up/..\" passes through another link (\"up\")"));
  TarWriter under;
  under.Add({"d", TarEntry::Type::kSymlink, 0777, "", "."});
  under.Add({"d/x", TarEntry::Type::kSymlink, 0777, "", ".."});
  EXPECT_THAT(ReadTar(under.Finish()).status().message(),
              HasSubstr("\"d/x\" is refused: it lies beneath a symbolic link (\"d\")"));
  TarWriter fine;
  fine.AddDirectory("sub");
  fine.AddFile("sub/f", "x");
  fine.Add({"a", TarEntry::Type::kSymlink, 0777, "", "sub/f"});
  fine.Add({"b", TarEntry::Type::kSymlink, 0777, "", "a"});
  EXPECT_TRUE(ReadTar(fine.Finish()).ok());
}

TEST(TarReaderTest, NormalizesDotAndDoubleSlashes) {
  auto read = ReadTar(RawEntry("./", '5') + RawEntry("./a//b/./c", '0', "", "x") + kEnd);
  ASSERT_TRUE(read.ok()) << read.status().message();
  ASSERT_EQ(read->size(), 1u);
  EXPECT_EQ((*read)[0].path, "a/b/c");
  EXPECT_THAT(ReadTar(RawEntry("p", '6') + kEnd).status().message(),
              HasSubstr("archive entry \"p\" is refused: device and fifo"));
}

TEST(TarWriterTest, AddPathFromDiskKeepsSymlinksAndModesAndGnuTarAgrees) {
  const std::string dir = ::testing::TempDir() + "/tar_disk";
  ASSERT_EQ(0, std::system(("rm -rf " + dir + " && mkdir -p " + dir + "/top/inner && echo x > " +
                            dir + "/top/inner/run.sh && chmod 750 " + dir +
                            "/top/inner/run.sh && ln -s inner/run.sh " + dir + "/top/link")
                               .c_str()));
  TarWriter w;
  ASSERT_TRUE(w.AddPathFromDisk(dir + "/top", "top").ok());
  const std::string listing = RunTarList(w.Finish());
  EXPECT_THAT(listing, HasSubstr("-rwxr-x--- 0/0               2 "));
  EXPECT_THAT(listing, HasSubstr("top/inner/run.sh"));
  EXPECT_THAT(listing, HasSubstr("top/link -> inner/run.sh"));
  auto read = ReadTar(w.Finish());
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->size(), 4u);
}

}  // namespace
}  // namespace spawn
