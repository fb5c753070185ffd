#include "portcullis/common/config.h"

#include <gtest/gtest.h>

namespace portcullis {
namespace {

using std::chrono::milliseconds;

TEST(ConfigMapTest, ParsesKeyValueLines) {
  auto m = ConfigMap::ParseText(
      "# comment\n\nPORTCULLIS_A = one\nPORTCULLIS_DSN=host=x port=5 user=y\n", "f.env");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->Find("PORTCULLIS_A")->value, "one");
  EXPECT_EQ(m->Find("PORTCULLIS_DSN")->value, "host=x port=5 user=y");
  EXPECT_EQ(m->Find("PORTCULLIS_DSN")->origin, "f.env:4");
}

TEST(ConfigMapTest, ReportsEveryBadLine) {
  auto m = ConfigMap::ParseText("GOOD=1\nno equals sign\nbad-key=2\n", "f.env");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("f.env:2: expected KEY=value"), std::string::npos);
  EXPECT_NE(m.status().message().find("f.env:3: invalid key 'bad-key'"), std::string::npos);
}

TEST(ConfigMapTest, EnvironmentOverridesFileAndIgnoresOtherVariables) {
  const char* env[] = {"PORTCULLIS_X=from-env", "HOME=/root", nullptr};
  auto m = ConfigMap::Load("", env);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->Find("PORTCULLIS_X")->value, "from-env");
  EXPECT_EQ(m->Find("HOME"), nullptr);
}

TEST(ConfigMapTest, MissingFileIsAClearError) {
  auto m = ConfigMap::Load("/nonexistent/portcullis.env", nullptr);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("/nonexistent/portcullis.env"), std::string::npos);
}

TEST(ConfigReaderTest, TypedValuesDefaultsAndAllErrorsAtOnce) {
  ConfigMap m;
  m.Set("P_INT", "17", "environment");
  m.Set("P_BAD_INT", "12abc", "environment");
  m.Set("P_RANGE", "1000", "f:3");
  m.Set("P_BOOL", "yes", "environment");
  m.Set("P_BAD_BOOL", "maybe", "environment");
  m.Set("P_LEVEL", "loud", "environment");
  m.Set("P_EMPTY", "", "environment");
  m.Set("P_TYPO", "1", "environment");
  ConfigReader r(m);
  EXPECT_EQ(r.Int("P_INT", 1, 0, 100), 17);
  EXPECT_EQ(r.Int("P_BAD_INT", 5, 0, 100), 5);
  EXPECT_EQ(r.Int("P_RANGE", 5, 0, 100), 5);
  EXPECT_TRUE(r.Bool("P_BOOL", false));
  EXPECT_FALSE(r.Bool("P_BAD_BOOL", false));
  EXPECT_EQ(r.Enum("P_LEVEL", "info", {"debug", "info"}), "info");
  EXPECT_EQ(r.String("P_EMPTY", "dflt"), "dflt");
  EXPECT_EQ(r.Millis("P_MISSING", milliseconds(250), milliseconds(1), milliseconds(1000)),
            milliseconds(250));
  (void)r.RequiredString("P_REQUIRED");

  Status s = r.Finish();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  const std::string& msg = s.message();
  EXPECT_NE(msg.find("P_BAD_INT (from environment): expected an integer in [0, 100], got '12abc'"),
            std::string::npos);
  EXPECT_NE(msg.find("P_RANGE (from f:3)"), std::string::npos);
  EXPECT_NE(msg.find("P_BAD_BOOL"), std::string::npos);
  EXPECT_NE(msg.find("expected one of debug, info, got 'loud'"), std::string::npos);
  EXPECT_NE(msg.find("P_REQUIRED: is required"), std::string::npos);
  EXPECT_EQ(r.UnusedKeys(), std::vector<std::string>{"P_TYPO"});
}

TEST(ConfigReaderTest, ValidConfigFinishesOk) {
  ConfigMap m;
  m.Set("P", "x", "environment");
  ConfigReader r(m);
  EXPECT_EQ(r.RequiredString("P"), "x");
  EXPECT_TRUE(r.Finish().ok());
}

}  // namespace
}  // namespace portcullis
