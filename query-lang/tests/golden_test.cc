// Golden tests: tests/golden/<name>.qql -> <name>.sql, the syntax tree and the
// SQL with its parameters and columns, or the error exactly as a caller sees it.
//
// A .qql file may start with lines beginning with '#': comments, and options
// for this harness:
//   # @order commit            CompileOptions::Order::kCommitOrder
//   # @after <a> <b>           the cursor
//   # @limit <n>, # @max_limit <n>
//   # @from <time>, # @to <time>   (default: the 24 h before now)
// The query is the rest of the file, without its final newline. now is
// 2026-11-28T12:00:00Z.
//
// After an intended change, regenerate them and review the diff:
//   PORTCULLIS_UPDATE_GOLDEN=1 build/tests/qql_test --gtest_filter='*Golden*'
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "portcullis/qql/parser.h"
#include "portcullis/qql/qql.h"
#include "portcullis/qql/values.h"

namespace portcullis::qql {
namespace {

namespace fs = std::filesystem;

const fs::path kGoldenDir = fs::path(PORTCULLIS_QQL_SOURCE_DIR) / "tests" / "golden";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> GoldenCases() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kGoldenDir)) {
    if (entry.path().extension() == ".qql") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::chrono::system_clock::time_point Time(const std::string& text) {
  StatusOr<TimeValue> t = ParseAbsoluteTime(text);
  if (!t.ok()) ADD_FAILURE() << "bad time in a golden header: " << text;
  return t.ok() ? std::chrono::system_clock::time_point(t->time)
                : std::chrono::system_clock::time_point();
}

struct Case {
  std::string query;
  CompileOptions options;
};

Case ReadCase(const std::string& text) {
  Case c;
  c.options.tenant_id = "00000000-0000-4000-8000-0000000000aa";
  c.options.now = Time("2026-11-28T12:00:00Z");
  c.options.from = c.options.now - std::chrono::hours(24);
  c.options.to = c.options.now;
  std::istringstream in(text);
  std::string line;
  std::size_t consumed = 0;
  while (consumed < text.size() && text[consumed] == '#') {
    std::getline(in, line);
    consumed += line.size() + 1;
    std::istringstream words(line);
    std::string hash, option;
    words >> hash >> option;
    if (option == "@order") {
      std::string v;
      words >> v;
      if (v == "commit") c.options.order = CompileOptions::Order::kCommitOrder;
    } else if (option == "@after") {
      std::string a, b;
      words >> a >> b;
      c.options.after = {a, b};
    } else if (option == "@limit") {
      words >> c.options.limit;
    } else if (option == "@max_limit") {
      words >> c.options.max_limit;
    } else if (option == "@from" || option == "@to") {
      std::string v;
      words >> v;
      (option == "@from" ? c.options.from : c.options.to) = Time(v);
    }
  }
  c.query = consumed < text.size() ? text.substr(consumed) : "";
  if (!c.query.empty() && c.query.back() == '\n') c.query.pop_back();
  return c;
}

std::string Render(const Case& c) {
  std::string out;
  StatusOr<ast::Query> tree = Parse(c.query);
  if (tree.ok()) out += "-- ast: " + tree->ToString() + "\n";
  StatusOr<SqlQuery> sql = Compile(c.query, c.options);
  if (!sql.ok()) {
    out += "-- error\n" + sql.status().ToString() + "\n";
    return out;
  }
  out += sql->sql + "\n";
  for (std::size_t i = 0; i < sql->params.size(); ++i) {
    out += "-- $" + std::to_string(i + 1) + " = " + sql->params[i] + "\n";
  }
  out += "-- columns:";
  for (const Column& col : sql->columns)
    out += " " + col.name + " " + col.type + ",";
  out.back() = '\n';
  out += std::string("-- aggregate: ") + (sql->aggregate ? "true" : "false") + "\n";
  return out;
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, QueryCompilesToTheGoldenSqlOrError) {
  const fs::path qql = kGoldenDir / (GetParam() + ".qql");
  const fs::path golden = kGoldenDir / (GetParam() + ".sql");
  const std::string text = Render(ReadCase(ReadFile(qql)));
  const char* update = std::getenv("PORTCULLIS_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(golden, std::ios::binary) << text;
    GTEST_SKIP() << "rewrote " << golden;
  }
  ASSERT_TRUE(fs::exists(golden)) << golden << " is missing; see the comment at the top";
  EXPECT_EQ(text, ReadFile(golden)) << "the output for " << qql << " changed";
}

INSTANTIATE_TEST_SUITE_P(Queries, GoldenTest, ::testing::ValuesIn(GoldenCases()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string name = param.param;
                           for (char& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

TEST(GoldenSetTest, HasEnoughCasesAndNoOrphans) {
  const std::vector<std::string> cases = GoldenCases();
  EXPECT_GE(cases.size(), 40u);
  for (const auto& entry : fs::directory_iterator(kGoldenDir)) {
    if (entry.path().extension() != ".sql") continue;
    EXPECT_TRUE(fs::exists(fs::path(entry.path()).replace_extension(".qql")))
        << entry.path() << " has no .qql";
  }
}

}  // namespace
}  // namespace portcullis::qql
