#include "portcullis/policy/document.h"

#include <gtest/gtest.h>

#include <map>

namespace portcullis::policy {
namespace {

std::map<std::string, std::string> Problems(const ParseResult& r) {
  std::map<std::string, std::string> out;
  for (const auto& d : r.diagnostics)
    out[d.location] = d.message;
  return out;
}

TEST(DocumentTest, ParsesEveryRuleKind) {
  ParseResult r = ParsePolicyDocument(R"({
    "name": "web", "mode": "permissive",
    "defaults": {"file": "allow", "network": "deny", "process": "allow"},
    "hardening": ["deny-ptrace", "deny-io-uring"],
    "rules": [
      {"id": "no-shadow", "type": "file", "action": "deny",
       "paths": ["/etc/shadow", "/root/", "/home/*/.ssh/**"],
       "operations": ["read", "write", "chown"], "programs": ["/usr/bin/*"]},
      {"type": "network", "action": "allow", "direction": "outbound",
       "addresses": ["10.0.0.0/8", "2001:db8::/32"], "ports": ["443", "8000-8999"],
       "protocol": "tcp"},
      {"id": "persona", "type": "syscall", "action": "monitor", "syscall": "personality",
       "args": [{"index": 0, "op": "ne", "value": 0},
                {"index": 1, "op": "mask", "mask": 255, "value": 1},
                {"index": 2, "op": "range", "min": 1, "max": 9}]}
    ]})");
  ASSERT_TRUE(r.ok()) << (r.diagnostics.empty()
                              ? ""
                              : r.diagnostics[0].location + ": " + r.diagnostics[0].message);
  const Policy& p = *r.policy;
  EXPECT_EQ(p.name, "web");
  EXPECT_EQ(p.mode, Mode::kPermissive);
  EXPECT_EQ(p.defaults.network, Action::kDeny);
  ASSERT_EQ(p.rules.size(), 3u);

  const auto& f = std::get<FileRule>(p.rules[0].body);
  EXPECT_EQ(p.rules[0].id, "no-shadow");
  EXPECT_EQ(p.rules[0].action, Action::kDeny);
  ASSERT_EQ(f.paths.size(), 3u);
  EXPECT_EQ(f.paths[0].kind, PathPattern::Kind::kExact);
  EXPECT_EQ(f.paths[1].kind, PathPattern::Kind::kSubtree);
  EXPECT_EQ(f.paths[1].text, "/root");
  EXPECT_EQ(f.paths[2].kind, PathPattern::Kind::kGlob);
  EXPECT_EQ(f.operations, static_cast<std::uint32_t>(FileOp::kRead) |
                              static_cast<std::uint32_t>(FileOp::kWrite) |
                              static_cast<std::uint32_t>(FileOp::kChmod));

  const auto& n = std::get<NetworkRule>(p.rules[1].body);
  EXPECT_EQ(p.rules[1].id, "rule-1");
  EXPECT_EQ(n.protocol, Protocol::kTcp);
  ASSERT_EQ(n.ports.size(), 2u);
  EXPECT_EQ(n.ports[1].lo, 8000);
  EXPECT_EQ(n.ports[1].hi, 8999);

  const auto& s = std::get<SyscallRule>(p.rules[2].body);
  EXPECT_EQ(s.number, 135);  // personality on x86-64
  ASSERT_EQ(s.args.size(), 3u);
  EXPECT_EQ(s.args[1].op, ArgOp::kMask);
  EXPECT_EQ(s.args[1].mask_or_hi, 255u);
  EXPECT_EQ(s.args[2].mask_or_hi, 9u);
}

TEST(DocumentTest, ReportsEveryProblemWithItsLocation) {
  ParseResult r = ParsePolicyDocument(R"({
    "mode": "lenient", "owner": "me",
    "defaults": {"file": "block"},
    "hardening": ["deny-everything"],
    "rules": [
      {"type": "file", "action": "deny", "paths": ["etc/shadow", "/a/[b"], "operations": ["nuke"]},
      {"type": "network", "action": "allow", "direction": "sideways",
       "addresses": ["10.0.0.256/8", "::1/129"], "ports": ["70000", "9-1"]},
      {"type": "syscall", "action": "deny", "syscall": "no_such_call",
       "args": [{"index": 6, "op": "eq", "value": -1}]},
      {"id": "dup", "type": "file", "action": "deny", "paths": ["/x"]},
      {"id": "dup", "type": "bogus", "action": "explode"}
    ]})");
  ASSERT_FALSE(r.ok());
  auto p = Problems(r);
  for (const char* where :
       {"/mode", "/owner", "/defaults/file", "/hardening/0", "/rules/0/paths/0", "/rules/0/paths/1",
        "/rules/0/operations/0", "/rules/1/direction", "/rules/1/addresses/0",
        "/rules/1/addresses/1", "/rules/1/ports/0", "/rules/1/ports/1", "/rules/2/syscall",
        "/rules/2/args/0/index", "/rules/2/args/0/value", "/rules/4/id", "/rules/4/type",
        "/rules/4/action"}) {
    EXPECT_EQ(p.count(where), 1u) << "no diagnostic at " << where;
  }
  EXPECT_NE(p["/rules/2/syscall"].find("no_such_call"), std::string::npos);
  EXPECT_NE(p["/rules/4/id"].find("duplicate"), std::string::npos);
}

TEST(DocumentTest, RefusesAbsurdSizesAndMalformedJson) {
  EXPECT_FALSE(ParsePolicyDocument("{\"rules\": [").ok());
  EXPECT_EQ(ParsePolicyDocument("[]").diagnostics.at(0).message,
            "the document must be a JSON object");
  std::string many = "{\"rules\": [";
  for (std::size_t i = 0; i <= kMaxRules; ++i) {
    many += std::string(i ? "," : "") + R"({"type":"file","action":"deny","paths":["/x"]})";
  }
  many += "]}";
  auto r = ParsePolicyDocument(many);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.diagnostics.at(0).location, "/rules");
  std::string long_path = R"({"rules":[{"type":"file","action":"deny","paths":["/)" +
                          std::string(kMaxPathLength + 1, 'a') + "\"]}]}";
  EXPECT_EQ(ParsePolicyDocument(long_path).diagnostics.at(0).location, "/rules/0/paths/0");
  EXPECT_FALSE(ParsePolicyDocument(std::string(kMaxDocumentBytes + 1, ' ')).ok());
}

TEST(DocumentTest, RulesAreRequiredButMayBeEmpty) {
  EXPECT_FALSE(ParsePolicyDocument("{}").ok());
  auto r = ParsePolicyDocument(R"({"defaults": {"network": "deny"}, "rules": []})");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.policy->rules.empty());
}

}  // namespace
}  // namespace portcullis::policy
