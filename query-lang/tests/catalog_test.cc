// The field catalog: generated from schema/qql/fields.tsv, every column is a
// column of the events table with a matching type, and the README lists
// every field.
#include "portcullis/qql/catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace portcullis::qql {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  EXPECT_TRUE(in.good()) << p;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// column -> type, from "CREATE TABLE events ( ... )" of the first migration
// and "ADD COLUMN" of the later ones (only events gains columns).
std::map<std::string, std::string> EventsColumns() {
  const std::string sql =
      ReadFile(fs::path(PORTCULLIS_SCHEMA_DIR) / "migrations" / "0001_tenants_and_events.sql");
  const std::size_t start = sql.find("CREATE TABLE events (");
  EXPECT_NE(start, std::string::npos);
  const std::size_t end = sql.find(") PARTITION BY", start);
  EXPECT_NE(end, std::string::npos);
  std::istringstream body(sql.substr(start, end - start));
  std::string line;
  std::getline(body, line);  // CREATE TABLE events (
  std::map<std::string, std::string> columns;
  while (std::getline(body, line)) {
    std::istringstream words(line);
    std::string name, type;
    words >> name >> type;
    if (name.empty() || name == "PRIMARY" || name.rfind("--", 0) == 0) continue;
    if (!type.empty() && type.back() == ',') type.pop_back();
    columns[name] = type;
  }
  // and the columns later migrations add: "ADD COLUMN name type ..."
  for (const auto& entry : fs::directory_iterator(fs::path(PORTCULLIS_SCHEMA_DIR) / "migrations")) {
    const std::string later = ReadFile(entry.path());
    for (std::size_t at = later.find("ADD COLUMN "); at != std::string::npos;
         at = later.find("ADD COLUMN ", at + 1)) {
      std::istringstream words(later.substr(at + 11, 200));
      std::string name, type;
      words >> name >> type;
      columns[name] = type;
    }
  }
  return columns;
}

TEST(CatalogTest, EveryColumnIsAColumnOfTheEventsTableWithItsType) {
  const std::map<std::string, std::string> columns = EventsColumns();
  ASSERT_GT(columns.size(), 20u);
  ASSERT_EQ(columns.count("tenant_id"), 1u);
  for (const FieldDef& f : Catalog::Default().fields()) {
    auto it = columns.find(f.column);
    ASSERT_NE(it, columns.end()) << f.name << " reads column " << f.column
                                 << ", which the events table does not have";
    EXPECT_EQ(it->second, SqlTypeOf(f.type)) << f.name << " (" << f.column << ")";
  }
}

TEST(CatalogTest, IsGeneratedFromTheTsvFile) {
  const std::string tsv = ReadFile(fs::path(PORTCULLIS_SCHEMA_DIR) / "qql" / "fields.tsv");
  std::istringstream lines(tsv);
  std::string line;
  std::vector<std::string> names;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    names.push_back(line.substr(0, line.find('\t')));
  }
  ASSERT_EQ(names.size(), Catalog::Default().fields().size());
  for (std::size_t i = 0; i < names.size(); ++i)
    EXPECT_EQ(names[i], Catalog::Default().fields()[i].name);
}

TEST(CatalogTest, ReadmeDocumentsEveryField) {
  const std::string readme = ReadFile(fs::path(PORTCULLIS_QQL_SOURCE_DIR) / "README.md");
  for (const FieldDef& f : Catalog::Default().fields()) {
    EXPECT_NE(readme.find("`" + f.name + "`"), std::string::npos) << f.name;
  }
}

TEST(CatalogTest, TheFieldsOfTheBrief) {
  const Catalog& c = Catalog::Default();
  const std::map<std::string, std::pair<std::string, FieldType>> expected = {
      {"event.time", {"ts", FieldType::kTimestamp}},
      {"event.id", {"event_id", FieldType::kUuid}},
      {"event.action", {"action", FieldType::kEnum}},
      {"event.result", {"result", FieldType::kInteger}},
      {"event.enforced", {"enforced", FieldType::kBool}},
      {"process.name", {"process_name", FieldType::kText}},
      {"process.path", {"executable", FieldType::kText}},
      {"network.remote.ip", {"remote_ip", FieldType::kIp}},
      {"network.remote.port", {"remote_port", FieldType::kPort}},
      {"policy.version", {"policy_version", FieldType::kBigint}},
      {"labels", {"labels", FieldType::kLabels}},
  };
  for (const auto& [name, want] : expected) {
    const FieldDef* f = c.Find(name);
    ASSERT_NE(f, nullptr) << name;
    EXPECT_EQ(f->column, want.first) << name;
    EXPECT_EQ(f->type, want.second) << name;
  }
  EXPECT_EQ(c.Find("event.action")->values, (std::vector<std::string>{"allow", "deny", "monitor"}));
  EXPECT_EQ(c.labels(), c.Find("labels"));
  EXPECT_EQ(c.Find("labels.app"), nullptr);
}

TEST(CatalogDeathTest, RefusesColumnsThatAreNotIdentifiers) {
  EXPECT_DEATH(Catalog({FieldDef{"a.b", "x; DROP TABLE events", FieldType::kText, {}, ""}}),
               "bad column name");
  EXPECT_DEATH(Catalog({FieldDef{"A\"", "x", FieldType::kText, {}, ""}}), "bad field name");
  EXPECT_DEATH(Catalog({FieldDef{"a", "x", FieldType::kEnum, {}, ""}}), "has no value");
  EXPECT_DEATH(Catalog({FieldDef{"a", "x", FieldType::kText, {}, ""},
                        FieldDef{"a", "y", FieldType::kText, {}, ""}}),
               "repeats");
}

}  // namespace
}  // namespace portcullis::qql
