// Settings resolution and the request/reply loop of portcullisctl (see runner.h).
#include "portcullis/cli/runner.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>

#include "portcullis/cli/render.h"
#include "portcullis/common/config.h"

namespace portcullis::cli {
namespace {

constexpr std::size_t kMaxCredentialBytes = 4096;
constexpr std::string_view kProgram = "portcullisctl";

std::string Get(const ConfigMap& map, std::string_view key) {
  const ConfigMap::Entry* e = map.Find(key);
  return e == nullptr ? std::string() : e->value;
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

// A credential goes into an HTTP header: printable ASCII without spaces.
Status CheckCredential(std::string_view value, std::string_view source) {
  bool printable =
      std::all_of(value.begin(), value.end(), [](char c) { return c > 0x20 && c < 0x7f; });
  if (value.empty() || value.size() > kMaxCredentialBytes || !printable) {
    return InvalidArgumentError(std::string(source) +
                                " does not hold a valid credential (expected one line of "
                                "printable characters)");
  }
  return OkStatus();
}

StatusOr<std::string> ReadSmallFile(const std::string& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgumentError("cannot read '" + path + "'");
  std::string data(max_bytes + 1, '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<std::size_t>(in.gcount()));
  if (data.size() > max_bytes) return InvalidArgumentError("'" + path + "' is too large");
  return data;
}

StatusOr<std::string> ResolveCredential(const ConfigMap& map, Credential credential) {
  if (credential == Credential::kApiKey) {
    std::string key = Get(map, "PORTCULLIS_API_KEY");
    if (key.empty()) {
      return InvalidArgumentError(
          "no API key: set PORTCULLIS_API_KEY (in the environment or the --env-file)");
    }
    PORTCULLIS_RETURN_IF_ERROR(CheckCredential(key, "PORTCULLIS_API_KEY"));
    return key;
  }
  std::string token = Get(map, "PORTCULLIS_OPERATOR_TOKEN");
  if (!token.empty()) {
    PORTCULLIS_RETURN_IF_ERROR(CheckCredential(token, "PORTCULLIS_OPERATOR_TOKEN"));
    return token;
  }
  std::string file = Get(map, "PORTCULLIS_OPERATOR_TOKEN_FILE");
  if (file.empty()) {
    return InvalidArgumentError(
        "no operator token: set PORTCULLIS_OPERATOR_TOKEN, or PORTCULLIS_OPERATOR_TOKEN_FILE to "
        "a file holding it");
  }
  StatusOr<std::string> data = ReadSmallFile(file, kMaxCredentialBytes);
  if (!data.ok()) return data.status().WithContext("PORTCULLIS_OPERATOR_TOKEN_FILE");
  std::string value(TrimSpace(*data));
  PORTCULLIS_RETURN_IF_ERROR(
      CheckCredential(value, "the file of PORTCULLIS_OPERATOR_TOKEN_FILE ('" + file + "')"));
  return value;
}

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || (IsIpLiteral(host) && host.starts_with("127."));
}

// The help asked for with --help, or printed after a usage error (shorter
// for a known command: its synopsis).
std::string UsageFor(const CommandLine& cl, const std::vector<const CommandSpec*>& specs,
                     bool full) {
  if (cl.command != nullptr) return full ? CommandUsage(*cl.command) : ShortUsage(*cl.command);
  if (!cl.group.empty()) return GroupUsage(specs, cl.group);
  return ProgramUsage(specs);
}

// The JSON text of a request body ("" without one). InvalidArgument when a
// string in it is not UTF-8 (a NAME or --comment from argv in another
// encoding).
StatusOr<std::string> SerializeBody(const std::optional<Json>& body) {
  if (!body.has_value()) return std::string();
  try {
    return body->dump();
  } catch (const Json::exception&) {
    return InvalidArgumentError("an argument is not valid UTF-8 text");
  }
}

}  // namespace

StatusOr<Settings> ResolveSettings(const GlobalOptions& globals, Service service,
                                   Credential credential, const char* const* envp) {
  StatusOr<ConfigMap> map = ConfigMap::Load(globals.env_file.value_or(""), envp);
  if (!map.ok()) return InvalidArgumentError(map.status().message());

  std::string server;
  switch (service) {
    case Service::kRegistry:
      break;
    case Service::kPolicy:
      server = globals.policy_server.value_or(Get(*map, "PORTCULLIS_POLICY_SERVER"));
      break;
    case Service::kQuery:
      server = globals.query_server.value_or(Get(*map, "PORTCULLIS_QUERY_SERVER"));
      break;
  }
  if (server.empty()) server = globals.server.value_or(Get(*map, "PORTCULLIS_SERVER"));
  if (server.empty()) {
    switch (service) {
      case Service::kRegistry:
        return InvalidArgumentError(
            "no server: pass --server https://HOST:PORT or set PORTCULLIS_SERVER");
      case Service::kPolicy:
        return InvalidArgumentError(
            "no policy server: pass --policy-server (or --server) https://HOST:PORT or set "
            "PORTCULLIS_POLICY_SERVER (or PORTCULLIS_SERVER)");
      case Service::kQuery:
        return InvalidArgumentError(
            "no query server: pass --query-server (or --server) https://HOST:PORT or set "
            "PORTCULLIS_QUERY_SERVER (or PORTCULLIS_SERVER)");
    }
    Fatal("unknown Service");
  }
  StatusOr<Endpoint> ep = ParseServerUrl(server, globals.insecure_plaintext);
  if (!ep.ok()) return ep.status();
  Settings settings{.endpoint = *ep};

  if (settings.endpoint.tls) {
    std::string ca = globals.ca_file.value_or(Get(*map, "PORTCULLIS_TLS_CA"));
    if (ca.empty()) {
      return InvalidArgumentError(
          "no CA certificate to verify the server with: pass --ca FILE or set PORTCULLIS_TLS_CA");
    }
    if (!std::ifstream(ca).good()) return InvalidArgumentError("cannot read CA file '" + ca + "'");
    settings.endpoint.ca_file = ca;
  }

  StatusOr<std::string> cred = ResolveCredential(*map, credential);
  if (!cred.ok()) return cred.status();
  settings.credential = *std::move(cred);
  return settings;
}

int Run(const std::vector<std::string>& args, const char* const* envp,
        const TransportFactory& transport_factory, std::ostream& out, std::ostream& err,
        const PacerFactory& pacer_factory) {
  const std::vector<const CommandSpec*> specs = CommandSpecs();
  CommandLine cl;
  Status parsed = ParseCommandLine(args, specs, &cl);
  if (cl.help) {
    out << UsageFor(cl, specs, /*full=*/true);
    return kExitOk;
  }
  if (!parsed.ok()) {
    if (args.empty()) {
      err << ProgramUsage(specs);
    } else {
      err << kProgram << ": " << parsed.message() << "\n" << UsageFor(cl, specs, /*full=*/false);
    }
    return kExitUsage;
  }

  const Command* cmd = FindCommand(*cl.command);
  if (cmd == nullptr) Fatal("parsed command missing from the command table");
  // Usage errors were the parser's: what remains is an input file that cannot
  // be read or is refused, for which the usage would not help.
  StatusOr<ApiRequest> request = cmd->build(cl);
  if (!request.ok()) {
    err << kProgram << ": " << Sanitize(request.status().message()) << "\n";
    return kExitUsage;
  }
  StatusOr<std::string> body = SerializeBody(request->body);
  if (!body.ok()) {
    err << kProgram << ": " << body.status().message() << "\n";
    return kExitUsage;
  }
  StatusOr<Settings> settings = ResolveSettings(cl.globals, cmd->service, cmd->credential, envp);
  if (!settings.ok()) {
    err << kProgram << ": " << settings.status().message() << "\n"
        << "Run 'portcullisctl --help' for the settings it needs.\n";
    return kExitUsage;
  }
  const Endpoint& ep = settings->endpoint;
  if (!ep.tls && !IsLoopback(ep.host)) {
    err << "warning: plaintext HTTP to " << ep.host
        << ": the credential and the reply travel unencrypted\n";
  }

  std::unique_ptr<Transport> transport = transport_factory(ep);
  if (cmd->streams_lines) {
    std::unique_ptr<Pacer> pacer = pacer_factory();
    return RunExport(*request, ExportOptionsFrom(cl),
                     {.transport = *transport,
                      .endpoint = ep,
                      .credential = settings->credential,
                      .pacer = *pacer,
                      .out = out,
                      .err = err});
  }
  std::string cursor;
  std::set<std::string> seen_cursors;
  std::string raw;  // the body of the only page
  Json reply;       // the parsed reply; with several pages, all entries merged
  int pages = 0;
  bool more = false;  // a next_cursor was left unfollowed
  for (;;) {
    if (!cursor.empty() && request->cursor_place == CursorPlace::kBody) {
      body = SerializeBody(RequestBody(*request, cursor));
      if (!body.ok()) Fatal("a body with the server's cursor does not serialize");
    }
    StatusOr<Reply> r = transport->Send(request->method, Target(*request, ep.base_path, cursor),
                                        *body, settings->credential, request->headers);
    if (!r.ok()) {
      err << "error: " << RenderConnectionError(ep, r.status());
      return kExitConnection;
    }
    if (r->status < 200 || r->status > 299) {
      err << RenderApiError(r->status, r->body, r->retry_after, request->source.get());
      return kExitApiError;
    }
    Json page;  // null for an empty body (204)
    if (!r->body.empty()) {
      page = Json::parse(r->body, nullptr, /*allow_exceptions=*/false);
      if (page.is_discarded()) {
        err << "error: the server answered " << r->status << " with a body that is not JSON\n";
        return kExitApiError;
      }
    }
    ++pages;
    if (!request->paginated) {
      raw = std::move(r->body);
      reply = std::move(page);
      break;
    }
    auto has_array = [&page](const std::string& name) {
      return !name.empty() && page.is_object() && page.contains(name) && page[name].is_array();
    };
    const std::string& field = !has_array(request->list_field) && has_array(request->alt_list_field)
                                   ? request->alt_list_field
                                   : request->list_field;
    if (!has_array(field)) {
      err << "error: unexpected reply from the server: no \"" << field << "\" array\n";
      return kExitApiError;
    }
    std::string next;
    if (auto it = page.find("next_cursor"); it != page.end() && !it->is_null()) {
      if (!it->is_string()) {
        err << "error: unexpected reply from the server: next_cursor is not a string\n";
        return kExitApiError;
      }
      next = it->get<std::string>();
    }
    if (pages == 1) {
      raw = std::move(r->body);
      reply = std::move(page);
    } else {
      for (Json& item : page[field])
        reply[field].push_back(std::move(item));
    }
    if (next.empty()) break;
    if (!request->follow_cursor) {
      more = true;
      break;
    }
    if (!seen_cursors.insert(next).second) {
      err << "error: the server returned a cursor it had returned before; stopping\n";
      return kExitApiError;
    }
    cursor = std::move(next);
  }
  if (pages > 1) reply["next_cursor"] = nullptr;

  // --output json is search's own spelling of --json.
  if (cl.globals.json || cl.Value("output") == "json") {
    if (pages > 1) {
      out << reply.dump() << "\n";
    } else if (!raw.empty()) {
      out << raw << (raw.back() == '\n' ? "" : "\n");
    }
    if (cmd->returns_secret) {
      err << "The reply holds a secret. " << kSecretNote << "\n";
    }
  } else {
    StatusOr<Output> text = cmd->render(cl, reply);
    if (!text.ok()) {
      err << "error: " << Sanitize(text.status().message()) << "\n";
      return kExitApiError;
    }
    out << text->out;
    err << text->err;
  }
  if (more) err << "More entries exist: add --all to fetch every page.\n";
  out.flush();
  return kExitOk;
}

}  // namespace portcullis::cli
