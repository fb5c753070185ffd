// The command table of portcullisctl: specs, request builders and renderers
// (see commands.h). The endpoints are those of services/registry/README.md
// and, for the policy commands, of the policy service; search and export are
// services/query/README.md's.
#include "portcullis/cli/commands.h"

#include <limits>

#include "portcullis/cli/event_export.h"
#include "portcullis/cli/render.h"

namespace portcullis::cli {
namespace {

// The registry's documented page size limit for lists.
constexpr std::int64_t kMaxPageSize = 500;

FlagSpec LimitFlag() {
  return {.name = "limit",
          .type = ArgType::kInt,
          .value_name = "N",
          .help = "entries per request, 1..500 (the server's default when absent)",
          .min = 1,
          .max = kMaxPageSize};
}

FlagSpec AllFlag() {
  return {.name = "all",
          .type = ArgType::kBool,
          .help = "follow next_cursor and fetch every page (--limit sets the page size)"};
}

// Policy versions are 32-bit integers; the policy service takes assignment
// priorities within +-1000000.
constexpr std::int64_t kMaxInt32 = std::numeric_limits<std::int32_t>::max();
constexpr std::int64_t kMaxPriority = 1000000;

const PositionalSpec kName{.name = "NAME", .type = ArgType::kText};
const PositionalSpec kId{.name = "ID", .type = ArgType::kUuid};
const PositionalSpec kAssignmentId{.name = "ASSIGNMENT_ID", .type = ArgType::kUuid};
const PositionalSpec kAgentId{.name = "AGENT_ID", .type = ArgType::kUuid};

FlagSpec FileFlag() {
  return {.name = "file",
          .type = ArgType::kText,
          .value_name = "FILE",
          .help = "the policy document: JSON (.json) or YAML (.yaml, .yml), at most 4 MiB",
          .required = true};
}

FlagSpec CommentFlag() {
  return {.name = "comment",
          .type = ArgType::kText,
          .value_name = "TEXT",
          .help = "why, kept with the new version"};
}

FlagSpec VersionFlag(std::string name, std::string help, bool required) {
  return {.name = std::move(name),
          .type = ArgType::kInt,
          .value_name = "N",
          .help = std::move(help),
          .required = required,
          .min = 1,
          .max = kMaxInt32};
}

ApiRequest Get(std::string path) {
  ApiRequest r;
  r.method = "GET";
  r.path = std::move(path);
  return r;
}

// A paginated list; the caller adds its filters, then AddLimit.
ApiRequest ListRequest(std::string path, std::string field, const CommandLine& cl) {
  ApiRequest r = Get(std::move(path));
  r.list_field = std::move(field);
  r.paginated = true;
  r.follow_cursor = cl.Has("all");
  return r;
}

ApiRequest AddLimit(ApiRequest r, const CommandLine& cl) {
  if (std::optional<std::string> limit = cl.Value("limit")) r.query.emplace_back("limit", *limit);
  return r;
}

// --- builders ---------------------------------------------------------------

StatusOr<ApiRequest> BuildTenantCreate(const CommandLine& cl) {
  ApiRequest r{.method = "POST", .path = "/v1/tenants"};
  r.body = Json{{"name", cl.args.at(0)}};
  return r;
}

StatusOr<ApiRequest> BuildKeyCreate(const CommandLine& cl) {
  ApiRequest r{.method = "POST", .path = "/v1/api-keys"};
  r.body = Json{{"name", cl.args.at(0)}, {"role", *cl.Value("role")}};
  return r;
}

StatusOr<ApiRequest> BuildKeyList(const CommandLine&) {
  ApiRequest r = Get("/v1/api-keys");
  r.list_field = "api_keys";
  return r;
}

StatusOr<ApiRequest> BuildKeyRevoke(const CommandLine& cl) {
  return ApiRequest{.method = "DELETE", .path = "/v1/api-keys/" + cl.args.at(0)};
}

StatusOr<ApiRequest> BuildTokenCreate(const CommandLine& cl) {
  ApiRequest r{.method = "POST", .path = "/v1/enrollment-tokens"};
  Json body = {{"name", cl.args.at(0)}};
  if (std::optional<std::int64_t> ttl = cl.Int("ttl")) body["ttl_seconds"] = *ttl;
  if (std::optional<std::int64_t> uses = cl.Int("max-uses")) body["max_uses"] = *uses;
  r.body = std::move(body);
  return r;
}

StatusOr<ApiRequest> BuildTokenList(const CommandLine&) {
  ApiRequest r = Get("/v1/enrollment-tokens");
  r.list_field = "enrollment_tokens";
  return r;
}

StatusOr<ApiRequest> BuildTokenRevoke(const CommandLine& cl) {
  return ApiRequest{.method = "DELETE", .path = "/v1/enrollment-tokens/" + cl.args.at(0)};
}

StatusOr<ApiRequest> BuildAgentList(const CommandLine& cl) {
  ApiRequest r = ListRequest("/v1/agents", "agents", cl);
  static const std::pair<const char*, const char*> kFilters[] = {{"status", "status"},
                                                                 {"image", "image"},
                                                                 {"label", "label"},
                                                                 {"hostname", "hostname"},
                                                                 {"container", "container_id"}};
  for (const auto& [flag, param] : kFilters) {
    if (std::optional<std::string> v = cl.Value(flag)) r.query.emplace_back(param, *v);
  }
  return AddLimit(std::move(r), cl);
}

StatusOr<ApiRequest> BuildAgentGet(const CommandLine& cl) {
  return Get("/v1/agents/" + cl.args.at(0));
}

StatusOr<ApiRequest> BuildAgentRevoke(const CommandLine& cl) {
  return ApiRequest{.method = "DELETE", .path = "/v1/agents/" + cl.args.at(0)};
}

StatusOr<ApiRequest> BuildImageList(const CommandLine&) {
  ApiRequest r = Get("/v1/images");
  r.list_field = "images";
  return r;
}

StatusOr<ApiRequest> BuildContainerList(const CommandLine& cl) {
  return AddLimit(ListRequest("/v1/containers", "containers", cl), cl);
}

StatusOr<ApiRequest> BuildAuditList(const CommandLine& cl) {
  return AddLimit(ListRequest("/v1/audit-log", "entries", cl), cl);
}

std::string PolicyPath(const CommandLine& cl) {
  return "/v1/policies/" + cl.args.at(0);
}

// Reads --file into {"document": ..., "comment": --comment}, keeping where
// the document's values were written for the server's diagnostics.
Status AddDocument(const CommandLine& cl, ApiRequest* r) {
  StatusOr<PolicyFile> file = ReadPolicyFile(*cl.Value("file"));
  if (!file.ok()) return file.status();
  Json body = Json::object();
  body["document"] = std::move(file->document);
  if (std::optional<std::string> comment = cl.Value("comment")) body["comment"] = *comment;
  r->body = std::move(body);
  r->source = std::make_shared<const SourceMap>(std::move(file->source));
  return OkStatus();
}

StatusOr<ApiRequest> BuildPolicyValidate(const CommandLine& cl) {
  ApiRequest r{.method = "POST", .path = "/v1/policies/validate"};
  PORTCULLIS_RETURN_IF_ERROR(AddDocument(cl, &r));
  return r;
}

StatusOr<ApiRequest> BuildPolicyCreate(const CommandLine& cl) {
  ApiRequest r{.method = "POST", .path = "/v1/policies"};
  PORTCULLIS_RETURN_IF_ERROR(AddDocument(cl, &r));
  return r;
}

StatusOr<ApiRequest> BuildPolicyUpdate(const CommandLine& cl) {
  ApiRequest r{.method = "PUT", .path = PolicyPath(cl)};
  PORTCULLIS_RETURN_IF_ERROR(AddDocument(cl, &r));
  // An entity tag is a quoted string: If-Match: "3".
  if (std::optional<std::string> v = cl.Value("if-version")) {
    r.headers.emplace_back("If-Match", "\"" + *v + "\"");
  }
  return r;
}

StatusOr<ApiRequest> BuildPolicyList(const CommandLine&) {
  ApiRequest r = Get("/v1/policies");
  r.list_field = "policies";
  return r;
}

StatusOr<ApiRequest> BuildPolicyGet(const CommandLine& cl) {
  ApiRequest r = Get(PolicyPath(cl));
  if (std::optional<std::string> v = cl.Value("version")) r.query.emplace_back("version", *v);
  return r;
}

StatusOr<ApiRequest> BuildPolicyVersions(const CommandLine& cl) {
  ApiRequest r = Get(PolicyPath(cl) + "/versions");
  r.list_field = "versions";
  return r;
}

StatusOr<ApiRequest> BuildPolicyDiff(const CommandLine& cl) {
  ApiRequest r = Get(PolicyPath(cl) + "/diff");
  r.query = {{"from", *cl.Value("from")}};
  if (std::optional<std::string> to = cl.Value("to")) r.query.emplace_back("to", *to);
  return r;
}

StatusOr<ApiRequest> BuildPolicyRollback(const CommandLine& cl) {
  ApiRequest r{.method = "POST", .path = PolicyPath(cl) + "/rollback"};
  Json body = {{"version", *cl.Int("version")}};
  if (std::optional<std::string> comment = cl.Value("comment")) body["comment"] = *comment;
  r.body = std::move(body);
  return r;
}

StatusOr<ApiRequest> BuildPolicyDelete(const CommandLine& cl) {
  return ApiRequest{.method = "DELETE", .path = PolicyPath(cl)};
}

StatusOr<ApiRequest> BuildPolicyAssign(const CommandLine& cl) {
  ApiRequest r{.method = "POST", .path = PolicyPath(cl) + "/assignments"};
  // The parser let exactly one selector flag through (one_of).
  Json selector = Json::object();
  if (std::optional<std::string> image = cl.Value("image")) {
    selector["image"] = *image;
  } else if (cl.Has("label")) {
    Json labels = Json::object();
    for (const std::string& kv : cl.Values("label")) {
      auto [key, value] = SplitKeyValue(kv);
      labels[key] = value;
    }
    selector["labels"] = std::move(labels);
  } else {
    selector["default"] = true;
  }
  r.body = Json{{"priority", cl.Int("priority").value_or(0)}, {"selector", std::move(selector)}};
  return r;
}

StatusOr<ApiRequest> BuildPolicyAssignments(const CommandLine&) {
  ApiRequest r = Get("/v1/policy-assignments");
  r.list_field = "assignments";
  return r;
}

StatusOr<ApiRequest> BuildPolicyUnassign(const CommandLine& cl) {
  return ApiRequest{.method = "DELETE", .path = "/v1/policy-assignments/" + cl.args.at(0)};
}

StatusOr<ApiRequest> BuildPolicyExplain(const CommandLine& cl) {
  return Get("/v1/agents/" + cl.args.at(0) + "/policy/explain");
}

StatusOr<ApiRequest> BuildSearch(const CommandLine& cl) {
  ApiRequest r{.method = "POST", .path = "/v1/search"};
  Json body = {{"qql", cl.args.at(0)}};
  for (const char* bound : {"from", "to"}) {
    if (std::optional<std::string> v = cl.Value(bound)) body[bound] = *v;
  }
  if (std::optional<std::int64_t> limit = cl.Int("limit")) body["limit"] = *limit;
  r.body = std::move(body);
  r.list_field = "events";
  r.alt_list_field = "rows";
  r.paginated = true;
  r.follow_cursor = cl.Has("all");
  r.cursor_place = CursorPlace::kBody;
  return r;
}

StatusOr<ApiRequest> BuildExport(const CommandLine& cl) {
  ApiRequest r = Get("/v1/export/events");
  if (std::optional<std::string> qql = cl.Value("qql"); qql.has_value() && !qql->empty()) {
    r.query.emplace_back("qql", *qql);
  }
  r.query.emplace_back("format", cl.Value("format").value_or("json"));
  // Always explicit: a page shorter than this is how the loop knows it has
  // caught up, whatever the server's default.
  r.query.emplace_back("limit", std::to_string(cl.Int("limit").value_or(kDefaultExportLimit)));
  r.headers.emplace_back("Accept", "*/*");
  return r;
}

// --- renderers ----------------------------------------------------------------

template <StatusOr<Output> (*F)(const Json&)>
StatusOr<Output> Adapt(const CommandLine&, const Json& reply) {
  return F(reply);
}

template <const char* kWhat>
StatusOr<Output> RenderRevoked(const CommandLine& cl, const Json&) {
  return Output{.out = "Revoked " + std::string(kWhat) + " " + cl.args.at(0) + ".\n"};
}

constexpr char kApiKeyWhat[] = "API key";
constexpr char kTokenWhat[] = "enrollment token";
constexpr char kAgentWhat[] = "agent";

// "<kDone> <the ID argument>.", for commands answered with 204.
template <const char* kDone>
StatusOr<Output> RenderDone(const CommandLine& cl, const Json&) {
  return Output{.out = std::string(kDone) + " " + cl.args.at(0) + ".\n"};
}

constexpr char kPolicyDeleted[] = "Deleted policy";
constexpr char kAssignmentRemoved[] = "Removed policy assignment";

StatusOr<Output> RenderValidation(const CommandLine& cl, const Json& reply) {
  return RenderPolicyValidation(*cl.Value("file"), reply);
}

// The policy commands, in the order of the usage text.
void AddPolicyCommands(std::vector<Command>& c) {
  auto add = [&c](CommandSpec spec, StatusOr<ApiRequest> (*build)(const CommandLine&),
                  StatusOr<Output> (*render)(const CommandLine&, const Json&)) {
    spec.group = "policy";
    c.push_back(
        {.spec = std::move(spec), .service = Service::kPolicy, .build = build, .render = render});
  };
  const std::string file_help =
      "The file is JSON or YAML (a YAML subset: no anchors, aliases, merge keys or\n"
      "duplicate keys; see cli/README.md). Problems the service finds are shown\n"
      "with the file's line: web.yaml:12: /rules/3/paths/0: ...";
  add({.verb = "validate",
       .flags = {FileFlag()},
       .summary = "Check a policy document with the policy service, storing nothing.",
       .description = file_help},
      BuildPolicyValidate, RenderValidation);
  add({.verb = "create",
       .flags = {FileFlag(), CommentFlag()},
       .summary = "Create a policy, version 1 of it, from a document (admin key).",
       .description = file_help},
      BuildPolicyCreate, Adapt<RenderPolicy>);
  add({.verb = "update",
       .positionals = {kId},
       .flags = {FileFlag(), CommentFlag(),
                 VersionFlag("if-version",
                             "only if version N is still the current one (If-Match; else 412)",
                             false)},
       .summary = "Store a new version of a policy (admin key).",
       .description = file_help +
                      "\n\nWith --if-version N the update is refused (412) when someone stored "
                      "a version\nafter N: read-modify-write without losing their change."},
      BuildPolicyUpdate, Adapt<RenderPolicy>);
  add({.verb = "list", .summary = "List the tenant's policies."}, BuildPolicyList,
      Adapt<RenderPolicies>);
  add({.verb = "get",
       .positionals = {kId},
       .flags = {VersionFlag("version", "that version (the current one when absent)", false)},
       .summary = "Show a policy version: metadata, then the document as JSON."},
      BuildPolicyGet, Adapt<RenderPolicyVersion>);
  add({.verb = "versions",
       .positionals = {kId},
       .summary = "List the versions of a policy.",
       .description = "The SHA-256 of each document is shortened to 12 characters; --json has "
                      "all of it."},
      BuildPolicyVersions, Adapt<RenderPolicyVersions>);
  add({.verb = "diff",
       .positionals = {kId},
       .flags = {VersionFlag("from", "the version to compare from", true),
                 VersionFlag("to", "the version to compare to (the current one when absent)",
                             false)},
       .summary = "Show what changed between two versions of a policy.",
       .description = "One line per change: '+ PATH: AFTER' added, '- PATH: BEFORE' removed,\n"
                      "'~ PATH: BEFORE -> AFTER' changed, '> PATH: FROM -> TO' a rule moved\n"
                      "in the list (first match wins); values as JSON."},
      BuildPolicyDiff, Adapt<RenderPolicyDiff>);
  add({.verb = "rollback",
       .positionals = {kId},
       .flags = {VersionFlag("version", "the version whose document becomes current again", true),
                 CommentFlag()},
       .summary = "Make an old version's document current again, as a new version (admin key)."},
      BuildPolicyRollback, Adapt<RenderPolicy>);
  add({.verb = "delete",
       .positionals = {kId},
       .summary = "Delete a policy, its versions and assignments (admin key)."},
      BuildPolicyDelete, RenderDone<kPolicyDeleted>);
  add({.verb = "assign",
       .positionals = {kId},
       .flags = {{.name = "image",
                  .type = ArgType::kText,
                  .value_name = "GLOB",
                  .help = "agents running an image matching this glob, e.g. 'nginx:*'"},
                 {.name = "label",
                  .type = ArgType::kKeyValue,
                  .value_name = "K=V",
                  .help = "agents with this label; repeat for several (all must match)",
                  .repeatable = true},
                 {.name = "default",
                  .type = ArgType::kBool,
                  .help = "every agent no other assignment matches"},
                 {.name = "priority",
                  .type = ArgType::kInt,
                  .value_name = "N",
                  .help = "-1000000..1000000, default 0: assignments are considered highest "
                          "first (see 'policy explain')",
                  .min = -kMaxPriority,
                  .max = kMaxPriority}},
       .summary = "Assign a policy to agents by image, labels, or as the default (admin key).",
       .one_of = {{"image", "label", "default"}}},
      BuildPolicyAssign, Adapt<RenderPolicyAssignment>);
  add({.verb = "assignments", .summary = "List the tenant's policy assignments."},
      BuildPolicyAssignments, Adapt<RenderPolicyAssignments>);
  add({.verb = "unassign",
       .positionals = {kAssignmentId},
       .summary = "Remove a policy assignment (admin key)."},
      BuildPolicyUnassign, RenderDone<kAssignmentRemoved>);
  add({.verb = "explain",
       .positionals = {kAgentId},
       .summary = "Show which policy an agent gets and why: every assignment considered."},
      BuildPolicyExplain, Adapt<RenderPolicyExplanation>);
}

// search and export, the query service's.
void AddQueryCommands(std::vector<Command>& c) {
  const FlagSpec limit_flag{
      .name = "limit", .type = ArgType::kInt, .value_name = "N", .min = 1, .max = kMaxQueryRows};
  FlagSpec search_limit = limit_flag;
  search_limit.help = "events (or rows) per page, 1..10000 (the server's default when absent)";
  c.push_back(
      {.spec = {.group = "search",
                .positionals = {{.name = "QQL", .type = ArgType::kQuery}},
                .flags = {{.name = "from",
                           .type = ArgType::kTime,
                           .value_name = "RFC3339",
                           .help = "start of the range (default: 24 hours before --to)"},
                          {.name = "to",
                           .type = ArgType::kTime,
                           .value_name = "RFC3339",
                           .help = "end of the range, excluded (default: now)"},
                          search_limit,
                          {.name = "all",
                           .type = ArgType::kBool,
                           .help = "follow next_cursor and fetch every page (--limit sets the "
                                   "page size)"},
                          {.name = "output",
                           .type = ArgType::kEnum,
                           .value_name = "table|json",
                           .help = "a table (default) or the server's JSON (same as --json)",
                           .choices = {"table", "json"}}},
                .summary = "Search events with a QQL query (query-lang/README.md).",
                .description =
                    "QQL '' is every event of the range (31 days at most, by default). Events\n"
                    "are shown newest first as TIME ACTION CATEGORY PROCESS TARGET RULE\n"
                    "(event.time, event.action, event.category, process.name, file.path or\n"
                    "network.remote.ip:port, rule.id), empty where the event has none; an\n"
                    "aggregation (| count by, top, timechart) as all its columns. Every field\n"
                    "is in --output json. Example:\n"
                    "  portcullisctl search 'process.name:curl and event.action:deny' --all"},
       .service = Service::kQuery,
       .build = BuildSearch,
       .render = Adapt<RenderSearch>});
  FlagSpec export_limit = limit_flag;
  export_limit.help = "events per request, 1..10000 (default 1000)";
  c.push_back(
      {.spec = {.group = "export",
                .flags = {{.name = "qql",
                           .type = ArgType::kQuery,
                           .value_name = "QQL",
                           .help = "which events (a filter: no sort, no aggregation); default all"},
                          {.name = "format",
                           .type = ArgType::kEnum,
                           .value_name = "json|cef|leef|syslog",
                           .help = "line format: JSON lines (default), ArcSight CEF, LEEF 2.0 or "
                                   "RFC 5424",
                           .choices = {"json", "cef", "leef", "syslog"}},
                          export_limit,
                          {.name = "cursor-file",
                           .type = ArgType::kText,
                           .value_name = "FILE",
                           .help = "start from the cursor in FILE (if it exists) and store the "
                                   "next one there after every page"},
                          {.name = "follow",
                           .type = ArgType::kBool,
                           .help = "keep polling for new events until SIGINT or SIGTERM"},
                          {.name = "interval",
                           .type = ArgType::kInt,
                           .value_name = "SECONDS",
                           .help = "with --follow, the wait once caught up, 1..3600 (default 5)",
                           .min = 1,
                           .max = kMaxExportInterval.count(),
                           .needs = "follow"}},
                .summary = "Export events to stdout for a SIEM, in commit order, each once.",
                .description =
                    "Writes the events as the query service formats them, one per line, from\n"
                    "the oldest retained (or the cursor in --cursor-file) until caught up; with\n"
                    "--follow, forever. The cursor file is replaced atomically after each page\n"
                    "is written, so a restarted export continues where the last one stopped.\n"
                    "SIGINT and SIGTERM end it after the page in hand. Example:\n"
                    "  portcullisctl export --format cef --cursor-file /var/lib/siem/cursor \\\n"
                    "    --follow >> /var/log/portcullis/events.cef",
                .json_output = false},
       .service = Service::kQuery,
       .build = BuildExport,
       .streams_lines = true});
}

std::vector<Command> MakeCommands() {
  std::vector<Command> c;
  c.push_back(
      {.spec = {.group = "tenant",
                .verb = "create",
                .positionals = {kName},
                .summary = "Create a tenant and its first admin API key (operator token).",
                .description = "Prints the admin key's secret alone on stdout, once. Needs the "
                               "operator token:\n$PORTCULLIS_OPERATOR_TOKEN or the file named by "
                               "$PORTCULLIS_OPERATOR_TOKEN_FILE."},
       .credential = Credential::kOperator,
       .build = BuildTenantCreate,
       .render = Adapt<RenderTenantCreated>,
       .returns_secret = true});
  c.push_back(
      {.spec = {.group = "key",
                .verb = "create",
                .positionals = {kName},
                .flags = {{.name = "role",
                           .type = ArgType::kEnum,
                           .value_name = "ROLE",
                           .help = "admin (everything in the tenant) or analyst (read-only)",
                           .required = true,
                           .choices = {"admin", "analyst"}}},
                .summary = "Create an API key (admin key).",
                .description = "Prints the secret alone on stdout, once:\n"
                               "  KEY=$(portcullisctl key create ci --role analyst)"},
       .build = BuildKeyCreate,
       .render = Adapt<RenderApiKeyCreated>,
       .returns_secret = true});
  c.push_back({.spec = {.group = "key", .verb = "list", .summary = "List the tenant's API keys."},
               .build = BuildKeyList,
               .render = Adapt<RenderApiKeys>});
  c.push_back({.spec = {.group = "key",
                        .verb = "revoke",
                        .positionals = {kId},
                        .summary = "Revoke an API key; its next call is refused."},
               .build = BuildKeyRevoke,
               .render = RenderRevoked<kApiKeyWhat>});
  c.push_back(
      {.spec = {.group = "token",
                .verb = "create",
                .positionals = {kName},
                .flags = {{.name = "ttl",
                           .type = ArgType::kInt,
                           .value_name = "SECONDS",
                           .help = "lifetime, 60..31536000 (the server's default when absent)",
                           .min = 60,
                           .max = 31536000},
                          {.name = "max-uses",
                           .type = ArgType::kInt,
                           .value_name = "N",
                           .help = "registrations allowed, 1..10000000 (unlimited when absent)",
                           .min = 1,
                           .max = 10000000}},
                .summary = "Create an enrollment token for agents to register with (admin key).",
                .description = "Prints the secret alone on stdout, once. Give it to the agents "
                               "through their environment,\nnever bake it into an image."},
       .build = BuildTokenCreate,
       .render = Adapt<RenderTokenCreated>,
       .returns_secret = true});
  c.push_back({.spec = {.group = "token",
                        .verb = "list",
                        .summary = "List the tenant's enrollment tokens."},
               .build = BuildTokenList,
               .render = Adapt<RenderTokens>});
  c.push_back({.spec = {.group = "token",
                        .verb = "revoke",
                        .positionals = {kId},
                        .summary = "Revoke an enrollment token; agents can no longer register "
                                   "with it."},
               .build = BuildTokenRevoke,
               .render = RenderRevoked<kTokenWhat>});
  c.push_back(
      {.spec = {.group = "agent",
                .verb = "list",
                .flags = {{.name = "status",
                           .type = ArgType::kEnum,
                           .value_name = "S",
                           .help = "online, stale or offline",
                           .choices = {"online", "stale", "offline"}},
                          {.name = "image",
                           .type = ArgType::kText,
                           .value_name = "GLOB",
                           .help = "image name glob, e.g. 'nginx*'"},
                          {.name = "label",
                           .type = ArgType::kKeyValue,
                           .value_name = "K=V",
                           .help = "agents with this label"},
                          {.name = "hostname",
                           .type = ArgType::kText,
                           .value_name = "GLOB",
                           .help = "hostname glob"},
                          {.name = "container",
                           .type = ArgType::kText,
                           .value_name = "ID",
                           .help = "the agent of this container id"},
                          LimitFlag(),
                          AllFlag()},
                .summary = "List agents, filtered (admin or analyst key).",
                .description = "Status is online when the agent was seen within 90 s, stale "
                               "within 10 min, offline beyond."},
       .build = BuildAgentList,
       .render = Adapt<RenderAgents>});
  c.push_back({.spec = {.group = "agent",
                        .verb = "get",
                        .positionals = {kId},
                        .summary = "Show one agent: identity, labels, status, counters."},
               .build = BuildAgentGet,
               .render = Adapt<RenderAgent>});
  c.push_back({.spec = {.group = "agent",
                        .verb = "revoke",
                        .positionals = {kId},
                        .summary = "Revoke an agent's credential (admin key)."},
               .build = BuildAgentRevoke,
               .render = RenderRevoked<kAgentWhat>});
  c.push_back({.spec = {.group = "image",
                        .verb = "list",
                        .summary = "List the images agents run, with agent counts."},
               .build = BuildImageList,
               .render = Adapt<RenderImages>});
  c.push_back({.spec = {.group = "container",
                        .verb = "list",
                        .flags = {LimitFlag(), AllFlag()},
                        .summary = "List the containers agents run in."},
               .build = BuildContainerList,
               .render = Adapt<RenderContainers>});
  c.push_back({.spec = {.group = "audit",
                        .verb = "list",
                        .flags = {LimitFlag(), AllFlag()},
                        .summary = "List the tenant's audit log (admin key)."},
               .build = BuildAuditList,
               .render = Adapt<RenderAuditLog>});
  AddPolicyCommands(c);
  AddQueryCommands(c);
  return c;
}

bool Unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

}  // namespace

std::string EncodeQueryComponent(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    // '*' (globs), ':' (image tags) and '=' (label selectors) are legal in a
    // query and read better unencoded; '&', '+', '#', '%' and the rest are not.
    if (Unreserved(c) || c == '*' || c == ':' || c == '=' || c == '/' || c == '@' || c == ',') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

std::string Target(const ApiRequest& request, const std::string& base_path,
                   const std::string& cursor) {
  std::string target = base_path + request.path;
  char sep = '?';
  auto add = [&](const std::string& key, const std::string& value) {
    target += sep;
    target += EncodeQueryComponent(key) + "=" + EncodeQueryComponent(value);
    sep = '&';
  };
  for (const auto& [key, value] : request.query)
    add(key, value);
  if (!cursor.empty() && request.cursor_place == CursorPlace::kQuery) add("cursor", cursor);
  return target;
}

std::optional<Json> RequestBody(const ApiRequest& request, const std::string& cursor) {
  if (cursor.empty() || request.cursor_place != CursorPlace::kBody) return request.body;
  Json body = request.body.value_or(Json::object());
  body.erase("from");
  body.erase("to");
  body["cursor"] = cursor;
  return body;
}

const std::vector<Command>& Commands() {
  static const std::vector<Command>* commands = new std::vector<Command>(MakeCommands());
  return *commands;
}

std::vector<const CommandSpec*> CommandSpecs() {
  std::vector<const CommandSpec*> specs;
  for (const Command& c : Commands())
    specs.push_back(&c.spec);
  return specs;
}

const Command* FindCommand(const CommandSpec& spec) {
  for (const Command& c : Commands()) {
    if (&c.spec == &spec) return &c;
  }
  return nullptr;
}

}  // namespace portcullis::cli
