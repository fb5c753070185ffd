// SQL injection corpus: hostile strings pushed through every value position
// of QQL (every field and type, lists, ranges, comparisons, wildcards, label
// keys and values, field names, pipe arguments, the cursor and the tenant).
// For each, Compile either rejects the query (InvalidArgument) or returns a
// statement whose text does not hold the hostile string, whose placeholders
// are exactly $1..$n, and, where the value is a quoted text value, whose text
// is byte for byte the statement of a benign value: the hostile string is
// then only in params.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "placeholders.h"
#include "portcullis/qql/catalog.h"
#include "portcullis/qql/qql.h"
#include "portcullis/qql/values.h"

namespace portcullis::qql {
namespace {

constexpr const char* kTenant = testing::kTestTenant;
constexpr const char* kEvent = "7f0b4c1e-0000-4000-8000-00000000abcd";
constexpr const char* kBenign = "benign";

const std::vector<std::string>& Hostile() {
  static const std::vector<std::string> strings = {
      "'",
      "''",
      "\"",
      "'; DROP TABLE events; --",
      "x' OR '1'='1",
      "x') OR ('1'='1",
      "1 OR 1=1",
      "1; SELECT pg_sleep(10)",
      "); DELETE FROM tenants; --",
      "--",
      "-- comment",
      "/* comment */",
      "*/ SELECT 1 /*",
      ";",
      "$1",
      "$2::text",
      "$4",
      "$$",
      "$$; DROP TABLE events; $$",
      "$tag$ x $tag$",
      "\\",
      "\\'",
      "\\\\'; --",
      "\\x27",
      "E'\\x27 OR 1=1 --'",
      "U&'\\0027'",
      "%",
      "_",
      "%_\\*",
      "events WHERE 1=1",
      "\"events\"",
      "labels->>'x'",
      "::text",
      "NULL",
      "true' OR 'x",
      "10.0.0.1'; --",
      "10.0.0.0/8'--",
      "00000000-0000-4000-8000-000000000001'--",
      "now'; --",
      "2026-11-28T10:00:00Z'; --",
      "[a, b]",
      "a\tb",
      "line\nbreak; --",
      "\xCA\xBC OR \xCA\xBC"
      "1\xCA\xBC=\xCA\xBC"
      "1",                                    // modifier letter apostrophe
      "\xEF\xBC\x87; DROP TABLE events; --",  // fullwidth apostrophe
      "\xF0\x9F\x98\x80'); --",               // emoji
      "\xE2\x80\xAE"
      "txet",                        // right-to-left override
      "\xC0\xA7 OR 1=1",             // overlong apostrophe (invalid UTF-8)
      "\xFF\xFE",                    // invalid UTF-8
      "\x1B[31m red",                // control character
      std::string("nul\0'; --", 9),  // NUL: always rejected
      std::string(300, '\''),
  };
  return strings;
}

// A QQL quoted string holding exactly `s`.
std::string QqlQuoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string Fill(const std::string& pattern, const std::string& value) {
  std::string out;
  for (char c : pattern) {
    if (c == '@') {
      out += value;
    } else {
      out += c;
    }
  }
  return out;
}

struct Position {
  std::string pattern;  // '@' is replaced by the value
  bool quoted;          // '@' becomes a QQL quoted string
  bool text_equality;   // a quoted text value compared for equality: must compile
};

std::vector<Position> Positions() {
  std::vector<Position> out;
  for (const FieldDef& f : Catalog::Default().fields()) {
    if (f.type == FieldType::kLabels) continue;
    const bool text = f.type == FieldType::kText;
    const std::string& n = f.name;
    for (const char* form : {":@", " != @", ":[@]", ":[@, \"x\"]"}) {
      out.push_back({n + form, true, text});
    }
    for (const char* form : {":[@ .. @]", " > @", " <= @"}) {
      out.push_back({n + form, true, false});
    }
    for (const char* form : {":@", " != @", ":*@*", ":[@, x]", ":[1 .. @]", " >= @", " < @"}) {
      out.push_back({n + form, false, false});
    }
  }
  for (const char* p : {"labels.app:@", "labels.app != @", "labels.app:[@, @]"}) {
    out.push_back({p, true, true});
  }
  for (const char* p : {"labels.app:@",
                        "labels.app:*@*",
                        "labels.@:x",
                        "labels.@:*",
                        "@:x",
                        "@ > 1",
                        "process.name:x @",
                        "@",
                        "(@)",
                        "not @",
                        "process.name:x | count by @",
                        "process.name:x | count by labels.@",
                        "| top @ process.name",
                        "| top 5 @",
                        "| sort @",
                        "| sort process.pid @",
                        "| sort @ desc",
                        "| limit @",
                        "| timechart @",
                        "| @",
                        "| count by process.name | sort @"}) {
    out.push_back({p, false, false});
  }
  return out;
}

bool IsCleanMessage(const std::string& m) {
  for (char c : m) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\n') || u == 0x7F || u >= 0xF8) return false;
  }
  return true;
}

struct Tally {
  int compiled = 0;
  int rejected = 0;
};

void Check(const std::string& query, const std::string& hostile, const CompileOptions& options,
           const StatusOr<SqlQuery>& benign, bool must_match_benign, Tally& tally) {
  SCOPED_TRACE(::testing::Message() << "query: " << query);
  StatusOr<SqlQuery> s = Compile(query, options);
  if (!s.ok()) {
    ++tally.rejected;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << s.status();
    EXPECT_TRUE(IsCleanMessage(s.status().message())) << s.status();
    return;
  }
  ++tally.compiled;
  EXPECT_EQ(hostile.find('\0'), std::string::npos) << "a NUL got through";
  EXPECT_EQ(testing::PlaceholderProblem(*s), "") << s->sql;
  // The hostile string is not in the SQL text, unless the statement of a
  // benign value holds it anyway ("$1", "_", "NULL", "::text" ...).
  const bool in_skeleton = benign.ok() && benign->sql.find(hostile) != std::string::npos;
  if (!in_skeleton) {
    EXPECT_EQ(s->sql.find(hostile), std::string::npos) << s->sql;
  }
  if (must_match_benign) {
    ASSERT_TRUE(benign.ok()) << benign.status();
    EXPECT_EQ(s->sql, benign->sql);
    EXPECT_NE(std::find(s->params.begin(), s->params.end(), hostile), s->params.end())
        << "the value is not a parameter as it was written";
  }
}

bool IsValidQqlText(const std::string& s) {
  // What the lexer accepts: no NUL or other control character but tab/LF/CR,
  // valid UTF-8 (checked by the lexer; here only the cases of the corpus).
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t' && c != '\n' && c != '\r') || u == 0x7F || u == 0xFF || u == 0xC0) {
      return false;
    }
  }
  return true;
}

TEST(InjectionTest, EveryValuePositionKeepsHostileStringsOutOfTheSqlText) {
  const CompileOptions options = testing::TestOptions();
  Tally tally;
  const std::vector<Position> positions = Positions();
  for (const Position& p : positions) {
    const std::string benign_value = p.quoted ? QqlQuoted(kBenign) : kBenign;
    const StatusOr<SqlQuery> benign = Compile(Fill(p.pattern, benign_value), options);
    for (const std::string& h : Hostile()) {
      const std::string value = p.quoted ? QqlQuoted(h) : h;
      const bool must_match = p.text_equality && IsValidQqlText(h);
      Check(Fill(p.pattern, value), h, options, benign, must_match, tally);
    }
  }
  std::cout << "[ injection ] " << positions.size() << " positions x " << Hostile().size()
            << " strings: " << tally.compiled << " compiled, " << tally.rejected << " rejected\n";
  EXPECT_GT(tally.compiled, 1000);
  EXPECT_GT(tally.rejected, 1000);
}

TEST(InjectionTest, QuotedTextValuesArriveVerbatimInParams) {
  const CompileOptions options = testing::TestOptions();
  for (const std::string& h : Hostile()) {
    if (!IsValidQqlText(h)) continue;
    StatusOr<SqlQuery> s = Compile("process.cmdline:" + QqlQuoted(h), options);
    ASSERT_TRUE(s.ok()) << s.status();
    ASSERT_EQ(s->params.size(), 5u);
    EXPECT_EQ(s->params[3], h);
    EXPECT_THAT(s->sql, ::testing::HasSubstr("AND cmdline = $4::text\n"));
  }
}

TEST(InjectionTest, WildcardValuesAreEscapedPatternsInParams) {
  const CompileOptions options = testing::TestOptions();
  StatusOr<SqlQuery> s = Compile(R"(file.path:*'%_\*)", options);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->params[3], R"(%'\%\_\\%)");
  EXPECT_THAT(s->sql, ::testing::HasSubstr("file_path LIKE $4::text"));
}

TEST(InjectionTest, CursorAndTenantValues) {
  for (const std::string& h : Hostile()) {
    CompileOptions o = testing::TestOptions();
    o.tenant_id = h;
    EXPECT_FALSE(Compile("", o).ok()) << h;
    o = testing::TestOptions();
    o.after = {h, kEvent};
    EXPECT_FALSE(Compile("", o).ok()) << h;
    o.after = {"2026-11-28T10:00:00Z", h};
    EXPECT_FALSE(Compile("", o).ok()) << h;
    o.order = CompileOptions::Order::kCommitOrder;
    o.after = {h, kEvent};
    EXPECT_FALSE(Compile("", o).ok()) << h;
  }
}

TEST(InjectionTest, NulIsRejectedEverywhere) {
  const std::string nul("a\0b", 3);
  for (const Position& p : Positions()) {
    const std::string q = Fill(p.pattern, p.quoted ? QqlQuoted(nul) : nul);
    StatusOr<SqlQuery> s = Compile(q, testing::TestOptions());
    ASSERT_FALSE(s.ok()) << p.pattern;
    EXPECT_THAT(s.status().message(), ::testing::HasSubstr("NUL byte"));
  }
}

}  // namespace
}  // namespace portcullis::qql
