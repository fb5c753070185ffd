// Policy files: YAML and JSON in, the JSON document and the pointer -> line
// map out; every refusal with its line; the size limit.
#include "portcullis/cli/policy_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "portcullis/common/ids.h"

namespace portcullis::cli {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
using ::testing::HasSubstr;

StatusOr<PolicyFile> Yaml(std::string_view text) {
  return ParsePolicyText(text, "web.yaml", PolicyFormat::kYaml);
}

StatusOr<PolicyFile> JsonFile(std::string_view text) {
  return ParsePolicyText(text, "web.json", PolicyFormat::kJson);
}

// The error message of a refused YAML text ("" when accepted).
std::string YamlError(std::string_view text) {
  StatusOr<PolicyFile> f = Yaml(text);
  if (f.ok()) return "";
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
  return f.status().message();
}

std::string JsonError(std::string_view text) {
  StatusOr<PolicyFile> f = JsonFile(text);
  if (f.ok()) return "";
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
  return f.status().message();
}

// The value of `key` in a one-key YAML mapping "v: <scalar>".
Json Scalar(const std::string& scalar) {
  StatusOr<PolicyFile> f = Yaml("v: " + scalar + "\n");
  EXPECT_TRUE(f.ok()) << scalar << ": " << f.status();
  return f.ok() ? f->document.at("v") : Json("<refused>");
}

constexpr char kPolicyYaml[] =
    "# The web tier's policy.\n"                       // 1
    "name: web\n"                                      // 2
    "mode: enforcing\n"                                // 3
    "defaults: {file: allow, network: deny}\n"         // 4
    "hardening: [deny-ptrace]\n"                       // 5
    "rules:\n"                                         // 6
    "  - id: no-shadow\n"                              // 7
    "    type: file\n"                                 // 8
    "    action: deny\n"                               // 9
    "    paths:\n"                                     // 10
    "      - /etc/shadow\n"                            // 11
    "      - \"/home/*/.ssh/**\"\n"                    // 12
    "  - type: syscall\n"                              // 13
    "    action: deny\n"                               // 14
    "    syscall: personality\n"                       // 15
    "    args:\n"                                      // 16
    "      - {index: 0, op: ne, value: 0xffffffff}\n"  // 17
    "  - type: network\n"                              // 18
    "    ports: ['443', 8000-8999]\n"                  // 19
    "    note: |\n"                                    // 20
    "      two\n"                                      // 21
    "      lines\n";                                   // 22

TEST(PolicyYamlTest, GoodDocumentBecomesJsonInFileOrder) {
  StatusOr<PolicyFile> f = Yaml(kPolicyYaml);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->format, PolicyFormat::kYaml);
  EXPECT_EQ(f->source.file, "web.yaml");
  EXPECT_EQ(f->document.dump(),
            R"({"name":"web","mode":"enforcing","defaults":{"file":"allow","network":"deny"},)"
            R"("hardening":["deny-ptrace"],"rules":[{"id":"no-shadow","type":"file",)"
            R"("action":"deny","paths":["/etc/shadow","/home/*/.ssh/**"]},)"
            R"({"type":"syscall","action":"deny","syscall":"personality",)"
            R"("args":[{"index":0,"op":"ne","value":4294967295}]},)"
            R"({"type":"network","ports":["443","8000-8999"],"note":"two\nlines\n"}]})");
}

TEST(PolicyYamlTest, PointersMapToTheLinesOfTheirKeysAndItems) {
  StatusOr<PolicyFile> f = Yaml(kPolicyYaml);
  ASSERT_TRUE(f.ok()) << f.status();
  const SourceMap& m = f->source;
  EXPECT_EQ(m.LineOf(""), 2);  // the document starts after the comment
  EXPECT_EQ(m.LineOf("/name"), 2);
  EXPECT_EQ(m.LineOf("/defaults"), 4);
  EXPECT_EQ(m.LineOf("/defaults/network"), 4);
  EXPECT_EQ(m.LineOf("/hardening/0"), 5);
  EXPECT_EQ(m.LineOf("/rules"), 6);  // the key, not the first item below it
  EXPECT_EQ(m.LineOf("/rules/0"), 7);
  EXPECT_EQ(m.LineOf("/rules/0/action"), 9);
  EXPECT_EQ(m.LineOf("/rules/0/paths"), 10);
  EXPECT_EQ(m.LineOf("/rules/0/paths/0"), 11);
  EXPECT_EQ(m.LineOf("/rules/0/paths/1"), 12);
  EXPECT_EQ(m.LineOf("/rules/1"), 13);
  EXPECT_EQ(m.LineOf("/rules/1/args/0/value"), 17);
  EXPECT_EQ(m.LineOf("/rules/2/ports/1"), 19);
  EXPECT_EQ(m.LineOf("/rules/2/note"), 20);
  // What is not in the file is located at its nearest ancestor: a missing
  // field at its object, an index past the end at its list.
  EXPECT_EQ(m.LineOf("/rules/1/direction"), 13);
  EXPECT_EQ(m.LineOf("/rules/0/paths/9"), 10);
  EXPECT_EQ(m.LineOf("/nothing/at/all"), 2);
  EXPECT_EQ(m.Where("/rules/0/paths/1"), "web.yaml:12");
  EXPECT_EQ(SourceMap{.file = "x.yaml"}.Where("/a"), "x.yaml");
  EXPECT_EQ(SourceMap{}.LineOf("/a"), 0);
}

TEST(PolicyYamlTest, KeysAreEscapedInPointers) {
  StatusOr<PolicyFile> f = Yaml("a/b:\n  c~d: 1\n");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->source.LineOf("/a~1b"), 1);
  EXPECT_EQ(f->source.LineOf("/a~1b/c~0d"), 2);
}

TEST(PolicyYamlTest, PlainScalarsAreTypedLikeTheCoreSchema) {
  for (const char* t : {"true", "True", "TRUE"})
    EXPECT_EQ(Scalar(t), Json(true)) << t;
  for (const char* f : {"false", "False", "FALSE"})
    EXPECT_EQ(Scalar(f), Json(false)) << f;
  for (const char* n : {"null", "Null", "NULL", "~", ""})
    EXPECT_EQ(Scalar(n), Json(nullptr)) << n;
  EXPECT_EQ(Scalar("0"), Json(0));
  EXPECT_EQ(Scalar("42"), Json(42));
  EXPECT_EQ(Scalar("-7"), Json(-7));
  EXPECT_EQ(Scalar("+3"), Json(3));
  EXPECT_EQ(Scalar("0x1F"), Json(31));
  EXPECT_EQ(Scalar("0xffffffffffffffff").dump(), "18446744073709551615");
  EXPECT_EQ(Scalar("18446744073709551615").dump(), "18446744073709551615");
  EXPECT_EQ(Scalar("-9223372036854775808").dump(), "-9223372036854775808");
  EXPECT_TRUE(Scalar("42").is_number_integer());
}

TEST(PolicyYamlTest, EverythingElseIsAString) {
  // YAML 1.1 booleans, floats, octal-looking and partial numbers stay text.
  for (const char* s : {"yes", "no", "on", "off", "y", "1.5", "1e3", ".inf", ".nan", "007", "-01",
                        "0x", "0xg", "0o17", "1_000", "12abc", "nginx:1.25", "truE"}) {
    EXPECT_EQ(Scalar(s), Json(s)) << s;
  }
}

TEST(PolicyYamlTest, QuotedAndBlockScalarsAndStrTagAreStrings) {
  EXPECT_EQ(Scalar("\"true\""), Json("true"));
  EXPECT_EQ(Scalar("'42'"), Json("42"));
  EXPECT_EQ(Scalar("\"\""), Json(""));
  EXPECT_EQ(Scalar("'null'"), Json("null"));
  EXPECT_EQ(Scalar("!!str 12"), Json("12"));
  EXPECT_EQ(Scalar("!!str true"), Json("true"));
  EXPECT_EQ(Scalar(">\n  folded\n  text"), Json("folded text\n"));
  EXPECT_EQ(Scalar("|-\n  0x10"), Json("0x10"));
}

TEST(PolicyYamlTest, KeysAreTheirText) {
  StatusOr<PolicyFile> f = Yaml("1: a\ntrue: b\n\"q\": c\n");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->document.dump(), R"({"1":"a","true":"b","q":"c"})");
}

TEST(PolicyYamlTest, RefusesDuplicateKeys) {
  EXPECT_EQ(YamlError("rules:\n  - id: a\n    action: deny\n\n    action: allow\n"),
            "web.yaml:5: duplicate key \"action\" (first on line 3)");
  EXPECT_EQ(YamlError("{a: 1, a: 2}\n"), "web.yaml:1: duplicate key \"a\" (first on line 1)");
  // The same key in two different mappings is fine.
  EXPECT_EQ(YamlError("a: {x: 1}\nb: {x: 2}\n"), "");
}

TEST(PolicyYamlTest, RefusesAnchorsAliasesAndMergeKeys) {
  EXPECT_EQ(YamlError("a: 1\nb: &base\n  x: 1\n"),
            "web.yaml:2: anchors (&base) are not supported: write the value out");
  EXPECT_EQ(YamlError("a: &v 1\n"),
            "web.yaml:1: anchors (&v) are not supported: write the value out");
  // An alias needs an anchor, refused first; alone it is refused by yaml-cpp.
  EXPECT_THAT(YamlError("a: 1\nb: *v\n"), HasSubstr("web.yaml:2: "));
  EXPECT_EQ(YamlError("a: 1\n<<: {x: 1}\n"), "web.yaml:2: merge keys (<<) are not supported");
  // A quoted "<<" is an ordinary key.
  EXPECT_EQ(YamlError("\"<<\": 1\n"), "");
}

TEST(PolicyYamlTest, RefusesMoreThanOneDocument) {
  EXPECT_EQ(YamlError("a: 1\n---\nb: 2\n"),
            "web.yaml:2: more than one document (---) in a policy file");
  EXPECT_EQ(YamlError("---\na: 1\n...\n"), "");  // explicit start and end of one document
}

TEST(PolicyYamlTest, RefusesTagsKeysThatAreNotScalarsAndNullKeys) {
  EXPECT_EQ(YamlError("a: 1\nb: !custom x\n"),
            "web.yaml:2: tag \"!custom\" is not supported (only !!str)");
  EXPECT_EQ(YamlError("a: !!int 1\n"),
            "web.yaml:1: tag \"tag:yaml.org,2002:int\" is not supported (only !!str)");
  EXPECT_EQ(YamlError("a: !!map {x: 1}\n"),
            "web.yaml:1: tag \"tag:yaml.org,2002:map\" is not supported (only !!str)");
  EXPECT_EQ(YamlError("a: 1\n? [x, y]\n: 2\n"),
            "web.yaml:2: a mapping key must be a scalar, not a sequence");
  EXPECT_EQ(YamlError("a: 1\n~: 2\n"), "web.yaml:2: a mapping key must not be null or empty");
}

TEST(PolicyYamlTest, RefusesIntegersBeyond64Bits) {
  EXPECT_EQ(YamlError("a: 1\nb: 18446744073709551616\n"),
            "web.yaml:2: integer 18446744073709551616 does not fit in 64 bits");
  EXPECT_EQ(YamlError("b: -9223372036854775809\n"),
            "web.yaml:1: integer -9223372036854775809 does not fit in 64 bits");
  EXPECT_EQ(YamlError("b: 0x10000000000000000\n"),
            "web.yaml:1: integer 0x10000000000000000 does not fit in 64 bits");
}

TEST(PolicyYamlTest, RefusesNestingDeeperThanTheLimit) {
  auto nested = [](int depth) {
    // {"a": [[...[1]...]]}: the mapping is level 1.
    return "a: " + std::string(depth - 1, '[') + "1" + std::string(depth - 1, ']') + "\n";
  };
  EXPECT_EQ(YamlError(nested(kMaxPolicyDepth)), "");
  EXPECT_EQ(YamlError(nested(kMaxPolicyDepth + 1)), "web.yaml:1: nested deeper than 64 levels");
  EXPECT_EQ(YamlError(nested(5000)), "web.yaml:1: nested deeper than 64 levels");
}

TEST(PolicyYamlTest, RefusesSyntaxErrorsWithTheirLine) {
  EXPECT_EQ(YamlError("a: 1\nb: [1, 2\nc: 3\n"), "web.yaml:3: end of sequence flow not found");
  EXPECT_THAT(YamlError("a: 1\n  b: 2\n"), HasSubstr("web.yaml:2: "));
}

TEST(PolicyYamlTest, RefusesQuotedStringsLeftOpen) {
  // yaml-cpp alone would make "web b: 2 rules: []" the description.
  EXPECT_EQ(YamlError("a: 1\ndescription: \"web\nb: 2\nrules: []\n"),
            "web.yaml:2: unterminated quoted string (no closing \")");
  EXPECT_EQ(YamlError("a: 'it''s\n"), "web.yaml:1: unterminated quoted string (no closing ')");
  // Closed ones, over several lines or with escaped quotes, are fine.
  StatusOr<PolicyFile> f = Yaml("a: \"x \\\" y\n  z\"\nb: 'it''s'\nc: |\n  \"\n");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->document.dump(), R"({"a":"x \" y z","b":"it's","c":"\"\n"})");
}

TEST(PolicyYamlTest, RefusesWhatIsNotOneMapping) {
  EXPECT_EQ(YamlError("# nothing\n"),
            "web.yaml: no YAML document (the file holds only comments or blanks)");
  EXPECT_EQ(YamlError("\n- a\n- b\n"),
            "web.yaml:2: a policy document must be a mapping (an object) at the top level");
  EXPECT_EQ(YamlError("just text\n"),
            "web.yaml:1: a policy document must be a mapping (an object) at the top level");
}

TEST(PolicyYamlTest, RefusesInvalidUtf8) {
  EXPECT_EQ(YamlError("a: 1\nb: x\xff\xfey\n"), "web.yaml:2: text that is not valid UTF-8");
  EXPECT_EQ(YamlError("a\xc3: 1\n"), "web.yaml:1: text that is not valid UTF-8");
  StatusOr<PolicyFile> f = Yaml("name: \"caf\xc3\xa9 \\u202e\"\n");  // valid, escapes included
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->document.at("name"), Json("caf\xc3\xa9 \xe2\x80\xae"));
}

TEST(PolicyJsonTest, ParsesAndLocatesEveryValue) {
  StatusOr<PolicyFile> f = JsonFile(
      "{\n"                                           // 1
      "  \"name\": \"web\",\n"                        // 2
      "  \"rules\": [\n"                              // 3
      "    {\"id\": \"a\", \"paths\": [\n"            // 4
      "      \"/etc/shadow\",\n"                      // 5
      "      \"/root/\"]},\n"                         // 6
      "    {\"id\": \"b\\u002fc\", \"x\\/y\": {}}\n"  // 7
      "  ],\n"                                        // 8
      "  \"n\": -1.5e3, \"t\": true, \"z\": null\n"   // 9
      "}\n");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->format, PolicyFormat::kJson);
  // In file order, as nlohmann reads each value.
  EXPECT_EQ(f->document.dump(),
            R"({"name":"web","rules":[{"id":"a","paths":["/etc/shadow","/root/"]},)"
            R"({"id":"b/c","x/y":{}}],"n":-1500.0,"t":true,"z":null})");
  const SourceMap& m = f->source;
  EXPECT_EQ(m.LineOf(""), 1);
  EXPECT_EQ(m.LineOf("/name"), 2);
  EXPECT_EQ(m.LineOf("/rules"), 3);
  EXPECT_EQ(m.LineOf("/rules/0"), 4);
  EXPECT_EQ(m.LineOf("/rules/0/paths"), 4);
  EXPECT_EQ(m.LineOf("/rules/0/paths/0"), 5);
  EXPECT_EQ(m.LineOf("/rules/0/paths/1"), 6);
  EXPECT_EQ(m.LineOf("/rules/1/x~1y"), 7);
  EXPECT_EQ(m.LineOf("/z"), 9);
  EXPECT_EQ(m.LineOf("/rules/1/missing"), 7);
}

TEST(PolicyJsonTest, Refusals) {
  EXPECT_EQ(JsonError("{\"a\": 1,\n \"b\": 2,\n \"a\": 3}"),
            "web.json:3: duplicate key \"a\" (first on line 1)");
  EXPECT_EQ(JsonError("{\"a\": 1,\n \"b\": }"),
            "web.json:2: syntax error while parsing value - unexpected '}'; expected '[', '{', or "
            "a literal");
  EXPECT_EQ(JsonError("[1, 2]"), "web.json: a policy document must be an object at the top level");
  std::string deep = "{\"a\": " + std::string(kMaxPolicyDepth - 1, '[') +
                     std::string(kMaxPolicyDepth - 1, ']') + "}";
  EXPECT_EQ(JsonError(deep), "");
  deep = "{\"a\": " + std::string(kMaxPolicyDepth, '[') + std::string(kMaxPolicyDepth, ']') + "}";
  EXPECT_EQ(JsonError(deep), "web.json:1: nested deeper than 64 levels");
  EXPECT_EQ(JsonError("\xef\xbb\xbf{\"a\":\n1}"), "");  // a byte order mark is fine
}

TEST(DetectPolicyFormatTest, ExtensionThenContent) {
  EXPECT_EQ(DetectPolicyFormat("p.json", "a: 1"), PolicyFormat::kJson);
  EXPECT_EQ(DetectPolicyFormat("p.JSON", ""), PolicyFormat::kJson);
  EXPECT_EQ(DetectPolicyFormat("p.yaml", "{\"a\": 1}"), PolicyFormat::kYaml);
  EXPECT_EQ(DetectPolicyFormat("dir/p.YML", ""), PolicyFormat::kYaml);
  EXPECT_EQ(DetectPolicyFormat("/dev/fd/63", "\n  {\"a\": 1}"), PolicyFormat::kJson);
  EXPECT_EQ(DetectPolicyFormat("policy", "\xef\xbb\xbf{}"), PolicyFormat::kJson);
  EXPECT_EQ(DetectPolicyFormat("policy", "name: web"), PolicyFormat::kYaml);
  EXPECT_EQ(DetectPolicyFormat("policy.txt", "[1]"), PolicyFormat::kYaml);
}

class ReadPolicyFileTest : public ::testing::Test {
 protected:
  ReadPolicyFileTest()
      : dir_(fs::temp_directory_path() / ("portcullisctl-policy-" + Uuid::Random().ToString())) {
    fs::create_directories(dir_);
  }
  ~ReadPolicyFileTest() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& content) const {
    std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }

  fs::path dir_;
};

TEST_F(ReadPolicyFileTest, ReadsYamlAndJsonByExtensionOrContent) {
  StatusOr<PolicyFile> y = ReadPolicyFile(Write("web.yml", "name: web\nrules: []\n"));
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y->format, PolicyFormat::kYaml);
  EXPECT_EQ(y->document.dump(), R"({"name":"web","rules":[]})");
  EXPECT_EQ(y->source.file, (dir_ / "web.yml").string());
  EXPECT_EQ(y->source.LineOf("/rules"), 2);

  StatusOr<PolicyFile> j = ReadPolicyFile(Write("policy", "{\"name\": \"web\"}"));
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(j->format, PolicyFormat::kJson);
}

TEST_F(ReadPolicyFileTest, RefusesOversizedFiles) {
  std::string big = "a: 1\n" + std::string(kMaxPolicyFileBytes, '#');
  std::string path = Write("big.yaml", big);
  StatusOr<PolicyFile> f = ReadPolicyFile(path);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f.status().message(), path + ": larger than 4 MiB (4194309 bytes)");
  EXPECT_EQ(ParsePolicyText(big, "big.yaml", PolicyFormat::kYaml).status().message(),
            "big.yaml: larger than 4 MiB (4194309 bytes)");
  // Exactly at the limit is read (a comment fills it up).
  std::string at_limit = "a: 1\n#" + std::string(kMaxPolicyFileBytes - 6, 'x');
  ASSERT_EQ(at_limit.size(), kMaxPolicyFileBytes);
  EXPECT_TRUE(ReadPolicyFile(Write("limit.yaml", at_limit)).ok());
}

TEST_F(ReadPolicyFileTest, RefusesWhatCannotBeRead) {
  std::string missing = (dir_ / "missing.yaml").string();
  EXPECT_EQ(ReadPolicyFile(missing).status().message(),
            "cannot read policy file '" + missing + "': No such file or directory");
  EXPECT_EQ(ReadPolicyFile(dir_.string()).status().message(), dir_.string() + ": is a directory");
  std::string empty = Write("empty.json", " \n");
  EXPECT_EQ(ReadPolicyFile(empty).status().message(), empty + ": the policy file is empty");
  std::string bad = Write("bad.yaml", "a: 1\na: 2\n");
  EXPECT_EQ(ReadPolicyFile(bad).status().message(),
            bad + ":2: duplicate key \"a\" (first on line 1)");
}

}  // namespace
}  // namespace portcullis::cli
