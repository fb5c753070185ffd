// The export's cursor file: round trip, a missing file (start from the
// oldest event), files that must not be taken for a cursor, and the atomic
// replacement (a failed write leaves the previous cursor whole).
#include "portcullis/cli/cursor_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "portcullis/common/ids.h"

namespace portcullis::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class CursorFileTest : public ::testing::Test {
 protected:
  CursorFileTest()
      : dir_(fs::temp_directory_path() / ("portcullisctl-cursor-" + Uuid::Random().ToString())) {
    fs::create_directories(dir_);
  }
  ~CursorFileTest() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  std::string Contents(const std::string& path) const {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void Write(const std::string& path, const std::string& content) const {
    std::ofstream(path, std::ios::binary) << content;
  }
  std::string ReadError(const std::string& path) const {
    StatusOr<std::optional<std::string>> r = ReadCursorFile(path);
    EXPECT_FALSE(r.ok());
    if (r.ok()) return "";
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    return r.status().message();
  }

  fs::path dir_;
};

TEST_F(CursorFileTest, MissingFileMeansNoCursorYet) {
  StatusOr<std::optional<std::string>> r = ReadCursorFile(Path("none"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->has_value());
}

TEST_F(CursorFileTest, RoundTripAndReplace) {
  const std::string path = Path("siem.cursor");
  ASSERT_TRUE(WriteCursorFile(path, "eyJ0IjoiZSIsImEiOlsiMTIiXX0").ok());
  EXPECT_EQ(Contents(path), "eyJ0IjoiZSIsImEiOlsiMTIiXX0\n");
  EXPECT_EQ(ReadCursorFile(path)->value_or(""), "eyJ0IjoiZSIsImEiOlsiMTIiXX0");
  ASSERT_TRUE(WriteCursorFile(path, "c2").ok());
  EXPECT_EQ(ReadCursorFile(path)->value_or(""), "c2");
  // Nothing left beside it.
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
  // Written by hand without the newline: the same cursor.
  Write(path, "c3");
  EXPECT_EQ(ReadCursorFile(path)->value_or(""), "c3");
}

TEST_F(CursorFileTest, AFailedWriteLeavesThePreviousCursorWhole) {
  const std::string path = Path("siem.cursor");
  ASSERT_TRUE(WriteCursorFile(path, "before").ok());
  // FILE.tmp cannot be created: the write fails before touching FILE.
  fs::create_directory(path + ".tmp");
  Status s = WriteCursorFile(path, "after");
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_THAT(s.message(), HasSubstr("cannot store the cursor in '" + path + "'"));
  EXPECT_EQ(Contents(path), "before\n");
  fs::remove(path + ".tmp");
  // A stale FILE.tmp from a crash is simply replaced.
  Write(path + ".tmp", "torn-halfway");
  ASSERT_TRUE(WriteCursorFile(path, "after").ok());
  EXPECT_EQ(Contents(path), "after\n");
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  // A directory that does not exist.
  EXPECT_FALSE(WriteCursorFile(Path("no/such/dir/cursor"), "c").ok());
}

TEST_F(CursorFileTest, RefusesWhatIsNotACursor) {
  EXPECT_THAT(ReadError(dir_.string()), HasSubstr("is not a regular file"));
  Write(Path("file"), "x");
  EXPECT_THAT(ReadError(Path("file") + "/cursor"), HasSubstr("cannot read cursor file"));
  Write(Path("empty"), "");
  EXPECT_THAT(ReadError(Path("empty")), HasSubstr("is empty; delete it"));
  Write(Path("newline"), "\n");
  EXPECT_THAT(ReadError(Path("newline")), HasSubstr("is empty"));
  Write(Path("two-lines"), "c1\nc2\n");
  EXPECT_THAT(ReadError(Path("two-lines")), HasSubstr("does not hold a cursor"));
  Write(Path("spaces"), "not a cursor\n");
  EXPECT_THAT(ReadError(Path("spaces")), HasSubstr("does not hold a cursor"));
  Write(Path("huge"), std::string(kMaxCursorBytes + 10, 'a'));
  EXPECT_THAT(ReadError(Path("huge")), HasSubstr("too large"));
  Write(Path("max"), std::string(kMaxCursorBytes, 'a') + "\n");
  EXPECT_TRUE(ReadCursorFile(Path("max")).ok());
}

TEST_F(CursorFileTest, RefusesToStoreAMalformedCursor) {
  EXPECT_FALSE(WriteCursorFile(Path("c"), "").ok());
  EXPECT_FALSE(WriteCursorFile(Path("c"), "a\nb").ok());
  EXPECT_FALSE(fs::exists(Path("c")));
  EXPECT_TRUE(IsValidCursor("eyJ0Ijoi-_ZSJ9"));
  EXPECT_FALSE(IsValidCursor("a b"));
  EXPECT_FALSE(IsValidCursor(std::string(kMaxCursorBytes + 1, 'a')));
}

TEST_F(CursorFileTest, OneExportPerCursorFile) {
  const std::string path = Path("siem.cursor");
  StatusOr<CursorFileLock> first = CursorFileLock::Acquire(path);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  // A second holder (another open file description, as another process has)
  // is refused while the first holds it.
  StatusOr<CursorFileLock> second = CursorFileLock::Acquire(path);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(), HasSubstr("another export is using the cursor file"));
  EXPECT_THAT(second.status().message(), HasSubstr(path));
  // Released with its holder; moving it keeps it held.
  {
    CursorFileLock moved = std::move(*first);
    EXPECT_FALSE(CursorFileLock::Acquire(path).ok());
  }
  EXPECT_TRUE(CursorFileLock::Acquire(path).ok());
  // The lock never touches the cursor itself.
  EXPECT_FALSE(fs::exists(path));
}

}  // namespace
}  // namespace portcullis::cli
