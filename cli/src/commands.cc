// The command table of portcullisctl: specs, request builders and renderers
// (see commands.h). The endpoints are those of services/registry/README.md.
#include "portcullis/cli/commands.h"

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

const PositionalSpec kName{.name = "NAME", .type = ArgType::kText};
const PositionalSpec kId{.name = "ID", .type = ArgType::kUuid};

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
  if (!cursor.empty()) add("cursor", cursor);
  return target;
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
