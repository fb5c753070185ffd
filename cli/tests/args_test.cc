// Argument parsing of portcullisctl against the real command table: good
// command lines, and every kind of usage error with its message.
#include "portcullis/cli/args.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "portcullis/cli/commands.h"

namespace portcullis::cli {
namespace {

using ::testing::HasSubstr;

constexpr char kId[] = "0b6f2c1e-8d3a-4f51-9c2e-5a7d9e4b1c03";

class ArgsTest : public ::testing::Test {
 protected:
  Status Parse(std::vector<std::string> argv) { return ParseCommandLine(argv, specs_, &cl_); }
  // The usage error message of `argv` ("" when it parses).
  std::string Error(std::vector<std::string> argv) {
    Status s = Parse(std::move(argv));
    EXPECT_TRUE(s.ok() || s.code() == StatusCode::kInvalidArgument) << s;
    return s.message();
  }

  std::vector<const CommandSpec*> specs_ = CommandSpecs();
  CommandLine cl_;
};

TEST_F(ArgsTest, ParsesCommandPositionalAndFlag) {
  ASSERT_TRUE(Parse({"key", "create", "ci", "--role", "analyst"}).ok());
  ASSERT_NE(cl_.command, nullptr);
  EXPECT_EQ(cl_.command->group, "key");
  EXPECT_EQ(cl_.command->verb, "create");
  EXPECT_EQ(cl_.args, std::vector<std::string>{"ci"});
  EXPECT_EQ(cl_.Value("role"), "analyst");
  EXPECT_FALSE(cl_.help);
}

TEST_F(ArgsTest, GlobalOptionsBeforeAndAfterTheCommand) {
  ASSERT_TRUE(Parse({"--server", "https://r:8443", "--json", "agent", "list", "--ca=/ca.crt",
                     "--env-file", "/x.env", "--insecure-plaintext"})
                  .ok());
  EXPECT_EQ(cl_.globals.server, "https://r:8443");
  EXPECT_EQ(cl_.globals.ca_file, "/ca.crt");
  EXPECT_EQ(cl_.globals.env_file, "/x.env");
  EXPECT_TRUE(cl_.globals.json);
  EXPECT_TRUE(cl_.globals.insecure_plaintext);
  EXPECT_TRUE(cl_.flags.empty());
}

TEST_F(ArgsTest, EveryAgentListFilter) {
  ASSERT_TRUE(Parse({"agent", "list", "--status", "stale", "--image=nginx:*", "--label", "env=prod",
                     "--hostname", "web-*", "--container", "c1", "--limit", "500", "--all"})
                  .ok());
  EXPECT_EQ(cl_.Value("status"), "stale");
  EXPECT_EQ(cl_.Value("image"), "nginx:*");
  EXPECT_EQ(cl_.Value("label"), "env=prod");
  EXPECT_EQ(cl_.Value("hostname"), "web-*");
  EXPECT_EQ(cl_.Value("container"), "c1");
  EXPECT_EQ(cl_.Int("limit"), 500);
  EXPECT_TRUE(cl_.Has("all"));
  EXPECT_EQ(cl_.Int("ttl"), std::nullopt);
}

TEST_F(ArgsTest, DoubleDashEndsOptions) {
  ASSERT_TRUE(Parse({"tenant", "create", "--", "--odd-name"}).ok());
  EXPECT_EQ(cl_.args, std::vector<std::string>{"--odd-name"});
  // A lone dash is a word, not an option.
  ASSERT_TRUE(Parse({"tenant", "create", "-"}).ok());
  EXPECT_EQ(cl_.args, std::vector<std::string>{"-"});
}

TEST_F(ArgsTest, TokenCreateRanges) {
  ASSERT_TRUE(Parse({"token", "create", "prod", "--ttl", "60", "--max-uses", "10000000"}).ok());
  EXPECT_EQ(cl_.Int("ttl"), 60);
  EXPECT_EQ(cl_.Int("max-uses"), 10000000);
  EXPECT_EQ(Error({"token", "create", "prod", "--ttl", "59"}),
            "--ttl must be in 60..31536000, got '59'");
  EXPECT_EQ(Error({"token", "create", "prod", "--max-uses", "0"}),
            "--max-uses must be in 1..10000000, got '0'");
}

TEST_F(ArgsTest, UnknownOptions) {
  EXPECT_EQ(Error({"agent", "list", "--bogus"}), "unknown option --bogus for 'agent list'");
  EXPECT_EQ(Error({"agent", "list", "-x"}), "unknown option -x");
  EXPECT_EQ(Error({"--bogus", "agent", "list"}), "unknown option --bogus");
  // A flag of another command is unknown here.
  EXPECT_EQ(Error({"key", "list", "--limit", "5"}), "unknown option --limit for 'key list'");
  // Command options belong after the command words.
  EXPECT_EQ(Error({"--limit", "5", "agent", "list"}),
            "unknown option --limit (command options go after the command)");
}

TEST_F(ArgsTest, MissingValues) {
  EXPECT_EQ(Error({"agent", "list", "--limit"}), "option --limit needs a value (N)");
  EXPECT_EQ(Error({"agent", "list", "--server"}), "option --server needs a value (URL)");
  // The next option is not taken as a value.
  EXPECT_EQ(Error({"--server", "--json", "agent", "list"}), "option --server needs a value (URL)");
  EXPECT_EQ(Error({"--ca=", "agent", "list"}), "option --ca must not be empty");
  EXPECT_EQ(Error({"agent", "list", "--image="}), "--image must not be empty");
}

TEST_F(ArgsTest, BadLimit) {
  EXPECT_EQ(Error({"agent", "list", "--limit", "abc"}),
            "--limit must be a whole number in 1..500, got 'abc'");
  EXPECT_EQ(Error({"agent", "list", "--limit", "0"}), "--limit must be in 1..500, got '0'");
  EXPECT_EQ(Error({"agent", "list", "--limit", "501"}), "--limit must be in 1..500, got '501'");
  EXPECT_EQ(Error({"agent", "list", "--limit", "-1"}), "--limit must be in 1..500, got '-1'");
  EXPECT_THAT(Error({"agent", "list", "--limit", "10x"}), HasSubstr("whole number"));
  EXPECT_THAT(Error({"agent", "list", "--limit", " 10"}), HasSubstr("whole number"));
  EXPECT_THAT(Error({"agent", "list", "--limit", "99999999999999999999999"}),
              HasSubstr("whole number"));
  EXPECT_THAT(Error({"audit", "list", "--limit=1.5"}), HasSubstr("whole number"));
}

TEST_F(ArgsTest, Labels) {
  EXPECT_EQ(Error({"agent", "list", "--label", "env"}), "--label must be KEY=VALUE, got 'env'");
  EXPECT_EQ(Error({"agent", "list", "--label", "=prod"}),
            "--label key must be 1..63 characters, got '=prod'");
  EXPECT_THAT(Error({"agent", "list", "--label", std::string(64, 'k') + "=v"}),
              HasSubstr("key must be 1..63"));
  EXPECT_EQ(Error({"agent", "list", "--label", "k=" + std::string(257, 'v')}),
            "--label value must be at most 256 characters");
  // An empty value, and '=' inside the value, are fine; the key ends at the first '='.
  EXPECT_EQ(Error({"agent", "list", "--label", "env="}), "");
  EXPECT_EQ(Error({"agent", "list", "--label", std::string(63, 'k') + "=" + std::string(256, 'v')}),
            "");
  ASSERT_EQ(Error({"agent", "list", "--label", "a=b=c"}), "");
  EXPECT_EQ(SplitKeyValue(*cl_.Value("label")),
            std::make_pair(std::string("a"), std::string("b=c")));
}

TEST_F(ArgsTest, Enums) {
  EXPECT_EQ(Error({"agent", "list", "--status", "up"}),
            "--status must be one of online, stale, offline, got 'up'");
  EXPECT_EQ(Error({"key", "create", "ci", "--role", "root"}),
            "--role must be one of admin, analyst, got 'root'");
}

TEST_F(ArgsTest, RepeatedOptions) {
  EXPECT_EQ(Error({"agent", "list", "--label", "a=1", "--label", "b=2"}),
            "option --label given more than once");
  EXPECT_EQ(Error({"--json", "agent", "list", "--json"}), "option --json given more than once");
}

TEST_F(ArgsTest, BooleansTakeNoValue) {
  EXPECT_EQ(Error({"agent", "list", "--all=yes"}), "option --all takes no value");
  EXPECT_EQ(Error({"agent", "list", "--json=true"}), "option --json takes no value");
}

TEST_F(ArgsTest, CommandWordErrors) {
  EXPECT_EQ(Error({}), "missing command");
  EXPECT_EQ(Error({"--json"}), "missing command");
  EXPECT_EQ(Error({"frobnicate", "list"}), "unknown command 'frobnicate'");
  EXPECT_EQ(Error({"agent"}), "missing subcommand after 'agent'");
  EXPECT_EQ(cl_.group, "agent");
  EXPECT_EQ(Error({"agent", "delete", kId}), "unknown command 'agent delete'");
}

TEST_F(ArgsTest, PositionalErrors) {
  EXPECT_EQ(Error({"tenant", "create"}), "missing NAME");
  EXPECT_NE(cl_.command, nullptr);  // known, so its usage can be shown
  EXPECT_EQ(Error({"tenant", "create", "a", "b"}), "unexpected argument 'b'");
  EXPECT_EQ(Error({"tenant", "create", ""}), "NAME must not be empty");
  EXPECT_EQ(Error({"key", "list", "extra"}), "unexpected argument 'extra'");
  EXPECT_EQ(Error({"key", "create", "ci"}), "missing required option --role ROLE");
}

TEST_F(ArgsTest, IdsMustBeUuids) {
  EXPECT_EQ(Error({"agent", "get", kId}), "");
  EXPECT_EQ(Error({"agent", "get", "0B6F2C1E-8D3A-4F51-9C2E-5A7D9E4B1C03"}), "");
  EXPECT_THAT(Error({"agent", "get", "42"}), HasSubstr("ID must be an id like"));
  // Nothing that could reach another path gets through.
  EXPECT_THAT(Error({"key", "revoke", "../tenants"}), HasSubstr("ID must be an id"));
  EXPECT_THAT(Error({"token", "revoke", std::string(kId) + "?x=1"}), HasSubstr("ID must be an id"));
}

TEST_F(ArgsTest, HelpWinsOverErrors) {
  ASSERT_TRUE(Parse({"--help"}).ok());
  EXPECT_TRUE(cl_.help);
  EXPECT_EQ(cl_.command, nullptr);
  ASSERT_TRUE(Parse({"agent", "-h"}).ok());
  EXPECT_EQ(cl_.group, "agent");
  EXPECT_EQ(cl_.command, nullptr);
  ASSERT_TRUE(Parse({"agent", "list", "--bogus", "--limit", "0", "--help"}).ok());
  ASSERT_NE(cl_.command, nullptr);
  EXPECT_EQ(cl_.command->verb, "list");
  // After "--" it is an argument.
  ASSERT_TRUE(Parse({"tenant", "create", "--", "--help"}).ok());
  EXPECT_FALSE(cl_.help);
}

TEST_F(ArgsTest, UsageTexts) {
  const CommandSpec* key_create = nullptr;
  for (const CommandSpec* s : specs_) {
    if (s->group == "key" && s->verb == "create") key_create = s;
  }
  ASSERT_NE(key_create, nullptr);
  EXPECT_EQ(CommandSynopsis(*key_create), "key create NAME --role ROLE");
  EXPECT_EQ(CommandWords(*key_create), "key create NAME");
  EXPECT_THAT(CommandUsage(*key_create), HasSubstr("--role ROLE   admin"));
  EXPECT_EQ(ShortUsage(*key_create),
            "Usage: portcullisctl key create NAME --role ROLE\n"
            "Run 'portcullisctl key create --help' for details.\n");
  std::string program = ProgramUsage(specs_);
  for (const CommandSpec* s : specs_)
    EXPECT_THAT(program, HasSubstr(CommandWords(*s)));
  EXPECT_THAT(program, HasSubstr("--insecure-plaintext"));
  EXPECT_THAT(program, HasSubstr("PORTCULLIS_API_KEY"));
  EXPECT_THAT(program, HasSubstr("Exit codes"));
  EXPECT_THAT(GroupUsage(specs_, "token"), HasSubstr("token revoke ID"));
  EXPECT_THAT(GroupUsage(specs_, "token"), ::testing::Not(HasSubstr("agent list")));
}

TEST(ValidateValueTest, Types) {
  FlagSpec n{.name = "n", .type = ArgType::kInt, .min = -5, .max = 5};
  EXPECT_TRUE(ValidateValue(n, "-5", "--n").ok());
  EXPECT_FALSE(ValidateValue(n, "-6", "--n").ok());
  EXPECT_FALSE(ValidateValue(n, "", "--n").ok());
  EXPECT_FALSE(ValidateValue(n, "+1", "--n").ok());
  FlagSpec b{.name = "b", .type = ArgType::kBool};
  EXPECT_TRUE(ValidateValue(b, "", "--b").ok());
  FlagSpec t{.name = "t", .type = ArgType::kText};
  EXPECT_FALSE(ValidateValue(t, "", "--t").ok());
}

TEST_F(ArgsTest, PolicyServerIsAGlobalOption) {
  ASSERT_TRUE(Parse({"--policy-server", "https://p:8444", "policy", "list"}).ok());
  EXPECT_EQ(cl_.globals.policy_server, "https://p:8444");
  EXPECT_EQ(cl_.globals.server, std::nullopt);
  ASSERT_TRUE(Parse({"policy", "list", "--policy-server=https://q"}).ok());
  EXPECT_EQ(cl_.globals.policy_server, "https://q");
  EXPECT_EQ(Error({"policy", "list", "--policy-server", "a", "--policy-server", "b"}),
            "option --policy-server given more than once");
}

TEST_F(ArgsTest, RepeatableLabels) {
  ASSERT_TRUE(
      Parse({"policy", "assign", kId, "--label", "env=prod", "--label", "tier=web=1"}).ok());
  EXPECT_EQ(cl_.Values("label"), (std::vector<std::string>{"env=prod", "tier=web=1"}));
  EXPECT_EQ(cl_.Value("label"), "env=prod");
  EXPECT_EQ(cl_.Values("priority"), std::vector<std::string>{});
  EXPECT_EQ(Error({"policy", "assign", kId, "--label", "env=prod", "--label", "env=dev"}),
            "option --label repeats the key 'env'");
  EXPECT_EQ(Error({"policy", "assign", kId, "--label", "env=prod", "--label", "tier"}),
            "--label must be KEY=VALUE, got 'tier'");
  // Values() of a flag that may be given once.
  ASSERT_TRUE(Parse({"policy", "assign", kId, "--image", "nginx:*", "--priority", "-5"}).ok());
  EXPECT_EQ(cl_.Values("image"), std::vector<std::string>{"nginx:*"});
  EXPECT_EQ(cl_.Int("priority"), -5);
  EXPECT_EQ(Error({"policy", "assign", kId, "--image", "a", "--image", "b"}),
            "option --image given more than once");
}

TEST_F(ArgsTest, ExactlyOneSelector) {
  EXPECT_EQ(Error({"policy", "assign", kId}), "missing one of --image, --label, --default");
  EXPECT_EQ(Error({"policy", "assign", kId, "--image", "x", "--default"}),
            "only one of --image, --label, --default may be given, got --image, --default");
  EXPECT_EQ(Error({"policy", "assign", kId, "--label", "a=1", "--label", "b=2", "--default"}),
            "only one of --image, --label, --default may be given, got --label, --default");
  EXPECT_EQ(Error({"policy", "assign", kId, "--default"}), "");
  EXPECT_EQ(Error({"policy", "assign", kId, "--default", "--priority", "1000001"}),
            "--priority must be in -1000000..1000000, got '1000001'");
}

TEST_F(ArgsTest, PolicyCommands) {
  EXPECT_EQ(Error({"policy", "create"}), "missing required option --file FILE");
  EXPECT_EQ(Error({"policy", "update", "web", "--file", "w.yaml"}).substr(0, 19),
            "ID must be an id li");
  EXPECT_EQ(Error({"policy", "get", kId, "--version", "0"}),
            "--version must be in 1..2147483647, got '0'");
  EXPECT_EQ(Error({"policy", "diff", kId, "--to", "1"}), "missing required option --from N");
  EXPECT_EQ(Error({"policy", "diff", kId, "--from", "1"}), "");
  EXPECT_EQ(Error({"policy", "rollback", kId}), "missing required option --version N");
  EXPECT_THAT(Error({"policy", "unassign", "x"}), HasSubstr("ASSIGNMENT_ID must be an id"));
  EXPECT_THAT(Error({"policy", "explain", "x"}), HasSubstr("AGENT_ID must be an id"));
  EXPECT_EQ(Error({"policy", "update", kId, "--file", "w.yaml", "--if-version", "3", "--comment",
                   "tighten"}),
            "");
  EXPECT_EQ(cl_.Int("if-version"), 3);
}

TEST_F(ArgsTest, OneOfGroupsInTheSynopsis) {
  const CommandSpec* assign = nullptr;
  for (const CommandSpec* s : specs_) {
    if (s->group == "policy" && s->verb == "assign") assign = s;
  }
  ASSERT_NE(assign, nullptr);
  EXPECT_EQ(CommandSynopsis(*assign),
            "policy assign ID (--image GLOB | --label K=V... | --default) [--priority N]");
  EXPECT_THAT(CommandUsage(*assign), HasSubstr("  --label K=V...   agents with this label"));
  EXPECT_THAT(ProgramUsage(specs_), HasSubstr("PORTCULLIS_POLICY_SERVER"));
  EXPECT_THAT(ProgramUsage(specs_), HasSubstr("--policy-server URL"));
  EXPECT_THAT(GroupUsage(specs_, "policy"), HasSubstr("policy unassign ASSIGNMENT_ID"));
}

TEST_F(ArgsTest, SearchIsOneWordThenItsQuery) {
  ASSERT_TRUE(Parse({"search", "process.name:curl", "--limit", "10", "--from",
                     "2026-11-28T00:00:00Z", "--output", "json", "--all"})
                  .ok());
  ASSERT_NE(cl_.command, nullptr);
  EXPECT_EQ(cl_.command->group, "search");
  EXPECT_EQ(cl_.command->verb, "");
  EXPECT_EQ(cl_.args, std::vector<std::string>{"process.name:curl"});
  EXPECT_EQ(cl_.Int("limit"), 10);
  EXPECT_EQ(cl_.Value("output"), "json");
  // An empty query is every event; a query may start with a dash after "--".
  ASSERT_TRUE(Parse({"--query-server", "https://q:8446", "search", ""}).ok());
  EXPECT_EQ(cl_.args, std::vector<std::string>{""});
  EXPECT_EQ(cl_.globals.query_server, "https://q:8446");
  ASSERT_TRUE(Parse({"search", "--to", "2026-11-28T12:00:00+01:00", "--", "-x"}).ok());
  EXPECT_EQ(cl_.args, std::vector<std::string>{"-x"});

  EXPECT_EQ(Error({"search"}), "missing QQL");
  EXPECT_EQ(Error({"search", "a", "b"}), "unexpected argument 'b'");
  EXPECT_EQ(Error({"search", "x", "--from", "yesterday"}),
            "--from must be an RFC 3339 time like 2026-11-28T10:00:00Z, got 'yesterday'");
  EXPECT_EQ(Error({"search", "x", "--to", "2026-02-30T00:00:00Z"}),
            "--to must be an RFC 3339 time like 2026-11-28T10:00:00Z, got '2026-02-30T00:00:00Z'");
  EXPECT_EQ(Error({"search", "x", "--limit", "10001"}), "--limit must be in 1..10000, got '10001'");
  EXPECT_EQ(Error({"search", "x", "--output", "yaml"}),
            "--output must be one of table, json, got 'yaml'");
  EXPECT_EQ(Error({"--json", "search", "x", "--output", "table"}),
            "--json and --output table contradict each other");
  EXPECT_EQ(Error({"--json", "search", "x", "--output", "json"}), "");
  EXPECT_EQ(Error({"search", "x", "--bogus"}), "unknown option --bogus for 'search'");
}

TEST_F(ArgsTest, ExportFlagsAreChecked) {
  EXPECT_EQ(Error({"export"}), "");
  EXPECT_EQ(Error({"export", "--qql", "", "--format", "leef", "--limit", "10000", "--cursor-file",
                   "c", "--follow", "--interval", "1"}),
            "");
  EXPECT_EQ(Error({"export", "--format", "xml"}),
            "--format must be one of json, cef, leef, syslog, got 'xml'");
  EXPECT_EQ(Error({"export", "--limit", "0"}), "--limit must be in 1..10000, got '0'");
  EXPECT_EQ(Error({"export", "--limit", "10001"}), "--limit must be in 1..10000, got '10001'");
  EXPECT_EQ(Error({"export", "--follow", "--interval", "0"}),
            "--interval must be in 1..3600, got '0'");
  EXPECT_EQ(Error({"export", "--follow", "--interval", "3601"}),
            "--interval must be in 1..3600, got '3601'");
  EXPECT_EQ(Error({"export", "--interval", "10"}), "option --interval needs --follow");
  EXPECT_EQ(Error({"export", "--cursor-file="}), "--cursor-file must not be empty");
  EXPECT_EQ(Error({"export", "--json"}),
            "--json does not apply to 'export' (it prints what --format says)");
  EXPECT_EQ(Error({"export", "now"}), "unexpected argument 'now'");
  EXPECT_EQ(Error({"export", "--follow=yes"}), "option --follow takes no value");
}

TEST_F(ArgsTest, OneWordCommandsInTheUsage) {
  const CommandSpec* search = nullptr;
  const CommandSpec* exp = nullptr;
  for (const CommandSpec* s : specs_) {
    if (s->group == "search") search = s;
    if (s->group == "export") exp = s;
  }
  ASSERT_NE(search, nullptr);
  ASSERT_NE(exp, nullptr);
  EXPECT_EQ(CommandSynopsis(*search),
            "search QQL [--from RFC3339] [--to RFC3339] [--limit N] [--all] [--output table|json]");
  EXPECT_EQ(CommandSynopsis(*exp),
            "export [--qql QQL] [--format json|cef|leef|syslog] [--limit N] [--cursor-file FILE] "
            "[--follow] [--interval SECONDS]");
  EXPECT_EQ(CommandWords(*search), "search QQL");
  EXPECT_EQ(CommandName(*exp), "export");
  EXPECT_EQ(ShortUsage(*exp), "Usage: portcullisctl " + CommandSynopsis(*exp) +
                                  "\nRun 'portcullisctl export --help' for details.\n");
  std::string program = ProgramUsage(specs_);
  EXPECT_THAT(program, HasSubstr("--query-server URL"));
  EXPECT_THAT(program, HasSubstr("PORTCULLIS_QUERY_SERVER"));
  ASSERT_TRUE(Parse({"export", "--help"}).ok());
  EXPECT_EQ(cl_.command, exp);
  EXPECT_TRUE(cl_.help);
}

TEST(Rfc3339Test, Times) {
  for (const char* good : {"2026-11-28T10:00:00Z", "2026-11-28t10:00:00z", "2026-11-28T10:00:00.5Z",
                           "2026-11-28T10:00:00.123456789+02:00", "2024-02-29T23:59:59-05:30"}) {
    EXPECT_TRUE(IsRfc3339(good)) << good;
  }
  for (const char* bad :
       {"", "2026-11-28", "2026-11-28 10:00:00Z", "2026-11-28T10:00:00", "2026-13-01T00:00:00Z",
        "2025-02-29T00:00:00Z", "2026-11-28T24:00:00Z", "2026-11-28T10:60:00Z",
        "2026-11-28T10:00:00.Z", "2026-11-28T10:00:00.1234567890Z", "2026-11-28T10:00:00+0200",
        "2026-11-28T10:00:00+24:00", "2026-11-28T10:00:00Zx", "now-1h", "+2026-11-28T10:00:00Z"}) {
    EXPECT_FALSE(IsRfc3339(bad)) << bad;
  }
}

}  // namespace
}  // namespace portcullis::cli
