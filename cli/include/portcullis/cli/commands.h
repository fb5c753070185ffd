// The command table of portcullisctl: for each command, its spec (arguments
// and flags, see args.h), the credential it needs, how its parsed command
// line becomes one REST request, and how the JSON reply becomes text.
// Building a request and rendering a reply are pure functions, testable
// without a server; the runner (runner.h) does the I/O between them.
//
//   const Command* cmd = FindCommand(*cl.command);
//   StatusOr<ApiRequest> req = cmd->build(cl);   // GET /v1/agents?limit=20
//   ... send it, get `json` back ...
//   StatusOr<Output> text = cmd->render(cl, json);
//
// Adding a command is one entry in Commands() plus its build and render
// functions. The policy commands read their document from a file
// (policy_file.h) in the build function, which is their only I/O. `export`
// is the one command whose reply is not JSON: its pages are lines, written
// as they come by RunExport (event_export.h) instead of rendered.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "portcullis/cli/args.h"
#include "portcullis/cli/policy_file.h"
#include "portcullis/common/status.h"

namespace portcullis::cli {

// JSON as the server sent it, keys in their original order.
using Json = nlohmann::ordered_json;

enum class Credential {
  kApiKey,    // $PORTCULLIS_API_KEY (admin or analyst)
  kOperator,  // $PORTCULLIS_OPERATOR_TOKEN or the file $PORTCULLIS_OPERATOR_TOKEN_FILE
};

// Which REST API a command talks to: each has its own base URL.
enum class Service {
  kRegistry,  // --server
  kPolicy,    // --policy-server, else --server
  kQuery,     // --query-server, else --server (search, export)
};

// Where the cursor of the next page goes.
enum class CursorPlace {
  kQuery,  // "?cursor=" (the registry's lists, the export)
  // "cursor" in the JSON body, which then leaves out "from" and "to": the
  // query service's search, whose cursor carries the first page's range.
  kBody,
};

struct ApiRequest {
  std::string method = "GET";
  std::string path;                                        // "/v1/agents", ids already validated
  std::vector<std::pair<std::string, std::string>> query;  // decoded; Target() encodes
  std::optional<Json> body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra, e.g. If-Match
  // For paginated lists: the array field of the reply ("agents") and whether
  // to follow next_cursor to the end (--all).
  std::string list_field;
  // An array a reply may hold instead of `list_field`, in one page (search:
  // an aggregation's "rows").
  std::string alt_list_field;
  bool paginated = false;
  bool follow_cursor = false;
  CursorPlace cursor_place = CursorPlace::kQuery;
  // When the body holds a document read from a file: where its values were
  // written, so that the server's diagnostics (JSON pointers under
  // "/document") are shown as file:line.
  std::shared_ptr<const SourceMap> source;
};

// The request target: path, then the query with `cursor` (if not empty and
// its place is the query) appended, percent-encoded. `base_path` is the
// server URL's prefix.
std::string Target(const ApiRequest& request, const std::string& base_path,
                   const std::string& cursor);

// The body of the page after `cursor` ("" for the first page): the
// request's, with the cursor in it when that is its place (CursorPlace::kBody).
std::optional<Json> RequestBody(const ApiRequest& request, const std::string& cursor);

// Percent-encodes a query component (RFC 3986): unreserved characters and
// the sub-delimiters that are safe in a query value stay as they are.
std::string EncodeQueryComponent(std::string_view text);

// What a command prints on success: `out` to stdout, `err` to stderr.
struct Output {
  std::string out;
  std::string err;
};

struct Command {
  CommandSpec spec;
  Credential credential = Credential::kApiKey;
  Service service = Service::kRegistry;
  // Usage errors are caught by the parser; a build error is about an input
  // file (unreadable, malformed) and is shown without the usage.
  StatusOr<ApiRequest> (*build)(const CommandLine&) = nullptr;
  // Table mode. `reply` is the parsed body (null for 204); a reply that does
  // not have the documented shape is an Internal error. Null for `export`.
  StatusOr<Output> (*render)(const CommandLine&, const Json& reply) = nullptr;
  // Whether a successful reply carries a secret shown only once.
  bool returns_secret = false;
  // The replies are pages of lines, not JSON: the runner hands the request
  // to RunExport (event_export.h).
  bool streams_lines = false;
};

// Every command, in the order of the usage text.
const std::vector<Command>& Commands();
std::vector<const CommandSpec*> CommandSpecs();
// The command whose spec this is (from CommandLine::command); never null for
// a spec from CommandSpecs().
const Command* FindCommand(const CommandSpec& spec);

}  // namespace portcullis::cli
