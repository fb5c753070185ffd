// Turning registry replies into text for people: aligned tables for lists, a
// "key: value" block for one object, the secret of a create command alone on
// stdout, and the server's JSON error made readable. Pure functions of the
// JSON, so each is tested with a reply in and the expected text out.
//
//   Table t({"ID", "NAME"});
//   t.AddRow({"0b6f...", "ci"});
//   std::cout << t.ToString();   // "ID        NAME\n0b6f...   ci\n"
//
// Every string that came from the server goes through Sanitize(): agents
// choose their own hostnames, image names and labels, so a value must never
// be able to send escape sequences to an operator's terminal.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "portcullis/cli/commands.h"
#include "portcullis/cli/transport.h"
#include "portcullis/common/status.h"

namespace portcullis::cli {

// Replaces control characters (C0, DEL, C1), bidirectional-override marks and
// invalid UTF-8 with visible escapes (\n, \x1b, \u202e).
std::string Sanitize(std::string_view text);
// Columns taken on a terminal: code points of valid UTF-8 (wide East Asian
// characters count as one, an accepted approximation).
std::size_t DisplayWidth(std::string_view utf8);
// A JSON value as a table cell: strings sanitized, null or missing "-",
// objects and arrays compact JSON.
std::string Cell(const Json& value);

// A table with a header row; columns separated by three spaces, no trailing
// blanks. Cells are sanitized when added.
class Table {
 public:
  explicit Table(std::vector<std::string> headers);
  void AddRow(std::vector<std::string> cells);  // exactly one cell per header
  std::size_t rows() const { return rows_.size() - 1; }
  std::string ToString() const;

 private:
  std::vector<std::vector<std::string>> rows_;  // rows_[0] is the header
};

// "key:   value" lines, values aligned; values sanitized.
std::string KeyValues(const std::vector<std::pair<std::string, std::string>>& rows);

// Table renderers, one per reply shape of services/registry/README.md.
StatusOr<Output> RenderTenantCreated(const Json& reply);
StatusOr<Output> RenderApiKeyCreated(const Json& reply);
StatusOr<Output> RenderApiKeys(const Json& reply);
StatusOr<Output> RenderTokenCreated(const Json& reply);
StatusOr<Output> RenderTokens(const Json& reply);
StatusOr<Output> RenderAgents(const Json& reply);
StatusOr<Output> RenderAgent(const Json& reply);
StatusOr<Output> RenderImages(const Json& reply);
StatusOr<Output> RenderContainers(const Json& reply);
StatusOr<Output> RenderAuditLog(const Json& reply);

// Policy service replies. `file` is the policy file as named on the command
// line.
StatusOr<Output> RenderPolicyValidation(std::string_view file, const Json& reply);
// A policy object (create, update, rollback): its metadata.
StatusOr<Output> RenderPolicy(const Json& reply);
// One version with its document (get): the metadata, then the document as
// indented JSON.
StatusOr<Output> RenderPolicyVersion(const Json& reply);
StatusOr<Output> RenderPolicies(const Json& reply);
StatusOr<Output> RenderPolicyVersions(const Json& reply);
// One line per change: "+ PATH: AFTER", "- PATH: BEFORE", "~ PATH: BEFORE -> AFTER".
StatusOr<Output> RenderPolicyDiff(const Json& reply);
StatusOr<Output> RenderPolicyAssignment(const Json& reply);
StatusOr<Output> RenderPolicyAssignments(const Json& reply);
StatusOr<Output> RenderPolicyExplanation(const Json& reply);
// An assignment selector for people: "image nginx:*", "labels env=prod, tier=web",
// "default"; anything else as compact JSON.
std::string SelectorText(const Json& selector);

// Query service replies (POST /v1/search). An event listing ("events") is a
// table of a few columns, empty where the event has no value:
//   TIME      event.time
//   ACTION    event.action
//   CATEGORY  event.category
//   PROCESS   process.name
//   TARGET    file.path, else network.remote.ip:port ([v6]:port), else empty
//   RULE      rule.id
// An aggregation ("columns" and "rows") is every column, named as returned.
StatusOr<Output> RenderSearch(const Json& reply);
// The TARGET cell of one event.
std::string EventTarget(const Json& event);

// The note printed on stderr next to a secret.
inline constexpr std::string_view kSecretNote = "Store this secret now: it is not shown again.";

// A non-2xx reply as lines for stderr: status, code, message, location,
// every detail, and a hint for 401/403/412/429. Bodies that are not the JSON
// error shape (a proxy's HTML page) are shown truncated. With `source` (the
// request carried a document read from a file), locations under "/document"
// are shown as "FILE:LINE: /pointer-in-the-document". A message of several
// lines (QQL's: the query line, then a caret under the problem) is printed
// line by line, each sanitized, with a caret line moved right by whatever
// the escaping of the line above it added, so the caret stays under its
// character.
std::string RenderApiError(int http_status, std::string_view body, std::string_view retry_after,
                           const SourceMap* source = nullptr);

// A server that could not be reached, for stderr after "error: " (or
// "warning: "): "cannot reach URL: why", and a hint for the usual TLS
// mistakes. Ends with a newline.
std::string RenderConnectionError(const Endpoint& endpoint, const Status& status);

// Text of several lines from the server, each line sanitized, caret lines
// kept under their character (see RenderApiError).
std::string SanitizeLines(std::string_view text);

}  // namespace portcullis::cli
