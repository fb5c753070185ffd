// Tables, key/value blocks and error messages of portcullisctl (see render.h).
#include "portcullis/cli/render.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <initializer_list>

namespace portcullis::cli {
namespace {

constexpr std::size_t kMaxErrorBodyShown = 300;
// Versions list the first characters of a document's SHA-256, like git's
// short hashes; --json has all of it.
constexpr std::size_t kShortHash = 12;
// The prefix of a document's locations in a request body {"document": ...}.
constexpr std::string_view kDocumentPointer = "/document";

std::string Hex2(unsigned v) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "\\x%02x", v & 0xffu);
  return buf;
}

std::string U4(std::uint32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(cp));
  return buf;
}

// Decodes one UTF-8 sequence at s[i]; returns its length, 0 when invalid.
std::size_t DecodeUtf8(std::string_view s, std::size_t i, std::uint32_t* cp) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b0 = byte(i);
  std::size_t len;
  std::uint32_t min;
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  } else if (b0 >= 0xc2 && b0 <= 0xdf) {
    len = 2;
    min = 0x80;
    *cp = b0 & 0x1fu;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3;
    min = 0x800;
    *cp = b0 & 0x0fu;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4;
    min = 0x10000;
    *cp = b0 & 0x07u;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xc0u) != 0x80u) return 0;
    *cp = (*cp << 6) | (byte(i + k) & 0x3fu);
  }
  if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff)) return 0;
  return len;
}

bool Invisible(std::uint32_t cp) {
  return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

const Json* Field(const Json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

std::string FieldCell(const Json& obj, const char* key) {
  const Json* v = Field(obj, key);
  return v == nullptr ? "-" : Cell(*v);
}

Status Unexpected(std::string what) {
  return InternalError("unexpected reply from the server: " + std::move(what));
}

// The array `key` of a list reply, each element an object.
StatusOr<const Json*> ListField(const Json& reply, const char* key) {
  const Json* list = Field(reply, key);
  if (list == nullptr || !list->is_array()) {
    return Unexpected(std::string("no \"") + key + "\" array");
  }
  for (const Json& item : *list) {
    if (!item.is_object())
      return Unexpected(std::string("an entry of \"") + key + "\" is not an object");
  }
  return list;
}

// A secret is printed raw on stdout for scripts, so it has to look like one.
StatusOr<std::string> Secret(const Json& obj) {
  const Json* s = Field(obj, "secret");
  if (s == nullptr || !s->is_string() || s->get_ref<const std::string&>().empty()) {
    return Unexpected("no \"secret\"");
  }
  const std::string& text = s->get_ref<const std::string&>();
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
    return Unexpected("the secret has characters a credential cannot have");
  }
  return text;
}

Output ListOutput(const Table& table, std::string_view what) {
  if (table.rows() == 0) return {"", "No " + std::string(what) + " found.\n"};
  return {table.ToString(), ""};
}

// A JSON value as JSON text on one line, sanitized: strings keep their quotes.
std::string JsonText(const Json& value) {
  return Sanitize(value.dump(-1, ' ', false, Json::error_handler_t::replace));
}

// The `fixed` fields of an object first (each shown, "-" when missing), then
// every other field in the server's order but those in `skip`.
std::vector<std::pair<std::string, std::string>> ObjectRows(
    const Json& obj, std::initializer_list<const char*> fixed,
    std::initializer_list<const char*> skip) {
  std::vector<std::pair<std::string, std::string>> rows;
  for (const char* key : fixed)
    rows.emplace_back(key, FieldCell(obj, key));
  auto listed = [](std::initializer_list<const char*> keys, const std::string& key) {
    return std::any_of(keys.begin(), keys.end(), [&](const char* k) { return key == k; });
  };
  for (const auto& [key, value] : obj.items()) {
    if (listed(fixed, key) || listed(skip, key)) continue;
    rows.emplace_back(Sanitize(key), Cell(value));
  }
  return rows;
}

// "web (id 0b6f..., version 3)", or "none" for null.
std::string PolicyRef(const Json* policy) {
  if (policy == nullptr || !policy->is_object()) return "none";
  return FieldCell(*policy, "name") + " (id " + FieldCell(*policy, "id") + ", version " +
         FieldCell(*policy, "version") + ")";
}

// "0b6f...: priority 10, image nginx:*", or "none" for null.
std::string AssignmentRef(const Json* assignment) {
  if (assignment == nullptr || !assignment->is_object()) return "none";
  const Json* selector = Field(*assignment, "selector");
  return FieldCell(*assignment, "id") + ": priority " + FieldCell(*assignment, "priority") + ", " +
         (selector == nullptr ? "-" : SelectorText(*selector));
}

// The first `columns` characters of `line` (as DisplayWidth counts them).
std::string_view PrefixColumns(std::string_view line, std::size_t columns) {
  std::size_t seen = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if ((static_cast<unsigned char>(line[i]) & 0xc0u) == 0x80u) continue;
    if (seen++ == columns) return line.substr(0, i);
  }
  return line;
}

// "    ^": blanks, then a caret, then nothing.
bool IsCaretLine(std::string_view line) {
  std::size_t caret = line.find_first_not_of(' ');
  return caret != std::string_view::npos && line[caret] == '^' && caret + 1 == line.size();
}

// A search reply's value as a cell: NULL (or absent) is empty.
std::string SearchCell(const Json* value) {
  if (value == nullptr || value->is_null()) return "";
  if (value->is_string()) return Sanitize(value->get_ref<const std::string&>());
  return Cell(*value);
}

std::string Url(const Endpoint& ep) {
  std::string host = ep.host.find(':') != std::string::npos ? "[" + ep.host + "]" : ep.host;
  return std::string(ep.tls ? "https://" : "http://") + host + ":" + std::to_string(ep.port) +
         ep.base_path;
}

}  // namespace

std::string SanitizeLines(std::string_view text) {
  std::string out;
  std::string_view previous;
  std::size_t start = 0;
  for (bool first = true; start <= text.size(); first = false) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!first) out += "\n";
    if (!first && IsCaretLine(line)) {
      // The caret's column counted in the raw line above; the escapes
      // Sanitize put there (\u202e for one character) widen it.
      std::size_t column = line.size() - 1;
      out += std::string(DisplayWidth(Sanitize(PrefixColumns(previous, column))), ' ');
      if (column > DisplayWidth(previous)) out += std::string(column - DisplayWidth(previous), ' ');
      out += "^";
    } else {
      out += Sanitize(line);
    }
    previous = line;
    start = end + 1;
  }
  return out;
}

std::string Sanitize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    std::uint32_t cp = 0;
    std::size_t len = DecodeUtf8(text, i, &cp);
    if (len == 0) {
      out += Hex2(static_cast<unsigned char>(text[i]));
      ++i;
      continue;
    }
    if (Invisible(cp)) {
      if (cp == '\n') {
        out += "\\n";
      } else if (cp == '\t') {
        out += "\\t";
      } else if (cp == '\r') {
        out += "\\r";
      } else if (cp < 0x80) {
        out += Hex2(cp);
      } else {
        out += U4(cp);
      }
    } else {
      out.append(text, i, len);
    }
    i += len;
  }
  return out;
}

std::size_t DisplayWidth(std::string_view utf8) {
  return static_cast<std::size_t>(std::count_if(utf8.begin(), utf8.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xc0u) != 0x80u;
  }));
}

std::string Cell(const Json& value) {
  if (value.is_null()) return "-";
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    return s.empty() ? "-" : Sanitize(s);
  }
  return Sanitize(value.dump(-1, ' ', false, Json::error_handler_t::replace));
}

Table::Table(std::vector<std::string> headers) {
  rows_.push_back(std::move(headers));
}

void Table::AddRow(std::vector<std::string> cells) {
  if (cells.size() != rows_.front().size()) Fatal("Table::AddRow: wrong number of cells");
  for (std::string& c : cells)
    c = Sanitize(c);
  rows_.push_back(std::move(cells));
}

std::string Table::ToString() const {
  std::vector<std::size_t> widths(rows_.front().size(), 0);
  for (const auto& row : rows_) {
    for (std::size_t c = 0; c < row.size(); ++c)
      widths[c] = std::max(widths[c], DisplayWidth(row[c]));
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(widths[c] - DisplayWidth(row[c]) + 3, ' ');
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string KeyValues(const std::vector<std::pair<std::string, std::string>>& rows) {
  std::size_t width = 0;
  for (const auto& [key, value] : rows)
    width = std::max(width, key.size() + 1);
  std::string out;
  for (const auto& [key, value] : rows) {
    out += key + ":" + std::string(width - key.size() - 1 + 2, ' ') + Sanitize(value) + "\n";
  }
  return out;
}

StatusOr<Output> RenderTenantCreated(const Json& reply) {
  const Json* tenant = Field(reply, "tenant");
  const Json* key = Field(reply, "admin_key");
  if (tenant == nullptr || !tenant->is_object() || key == nullptr || !key->is_object()) {
    return Unexpected("no \"tenant\" and \"admin_key\" objects");
  }
  StatusOr<std::string> secret = Secret(*key);
  if (!secret.ok()) return secret.status();
  Output o;
  o.out = *secret + "\n";
  o.err = "Created tenant " + FieldCell(*tenant, "name") + " (id " + FieldCell(*tenant, "id") +
          ").\nIts first admin API key " + FieldCell(*key, "name") + " (id " +
          FieldCell(*key, "id") + ") is printed on stdout.\n" + std::string(kSecretNote) + "\n";
  return o;
}

StatusOr<Output> RenderApiKeyCreated(const Json& reply) {
  StatusOr<std::string> secret = Secret(reply);
  if (!secret.ok()) return secret.status();
  Output o;
  o.out = *secret + "\n";
  o.err = "Created " + FieldCell(reply, "role") + " API key " + FieldCell(reply, "name") + " (id " +
          FieldCell(reply, "id") + ").\n" + std::string(kSecretNote) + "\n";
  return o;
}

StatusOr<Output> RenderApiKeys(const Json& reply) {
  StatusOr<const Json*> list = ListField(reply, "api_keys");
  if (!list.ok()) return list.status();
  Table t({"ID", "NAME", "ROLE", "CREATED", "LAST USED", "REVOKED"});
  for (const Json& k : **list) {
    t.AddRow({FieldCell(k, "id"), FieldCell(k, "name"), FieldCell(k, "role"),
              FieldCell(k, "created_at"), FieldCell(k, "last_used_at"),
              FieldCell(k, "revoked_at")});
  }
  return ListOutput(t, "API keys");
}

StatusOr<Output> RenderTokenCreated(const Json& reply) {
  StatusOr<std::string> secret = Secret(reply);
  if (!secret.ok()) return secret.status();
  Output o;
  o.out = *secret + "\n";
  const Json* max_uses = Field(reply, "max_uses");
  std::string uses = max_uses == nullptr || max_uses->is_null() ? "unlimited" : Cell(*max_uses);
  o.err = "Created enrollment token " + FieldCell(reply, "name") + " (id " +
          FieldCell(reply, "id") + ", expires " + FieldCell(reply, "expires_at") + ", max uses " +
          uses + ").\n" + std::string(kSecretNote) + "\n";
  return o;
}

StatusOr<Output> RenderTokens(const Json& reply) {
  StatusOr<const Json*> list = ListField(reply, "enrollment_tokens");
  if (!list.ok()) return list.status();
  Table t({"ID", "NAME", "CREATED", "EXPIRES", "USES", "LAST USED", "REVOKED"});
  for (const Json& k : **list) {
    std::string uses = FieldCell(k, "uses");
    const Json* max = Field(k, "max_uses");
    if (max != nullptr && !max->is_null()) uses += "/" + Cell(*max);
    t.AddRow({FieldCell(k, "id"), FieldCell(k, "name"), FieldCell(k, "created_at"),
              FieldCell(k, "expires_at"), uses, FieldCell(k, "last_used_at"),
              FieldCell(k, "revoked_at")});
  }
  return ListOutput(t, "enrollment tokens");
}

StatusOr<Output> RenderAgents(const Json& reply) {
  StatusOr<const Json*> list = ListField(reply, "agents");
  if (!list.ok()) return list.status();
  Table t({"ID", "STATUS", "HOSTNAME", "IMAGE", "CONTAINER", "LAST SEEN", "VERSION"});
  for (const Json& a : **list) {
    t.AddRow({FieldCell(a, "id"), FieldCell(a, "status"), FieldCell(a, "hostname"),
              FieldCell(a, "image_name"), FieldCell(a, "container_id"),
              FieldCell(a, "last_seen_at"), FieldCell(a, "agent_version")});
  }
  return ListOutput(t, "agents");
}

StatusOr<Output> RenderAgent(const Json& reply) {
  if (!reply.is_object() || Field(reply, "id") == nullptr) return Unexpected("not an agent");
  std::string labels;
  if (const Json* l = Field(reply, "labels"); l != nullptr && l->is_object()) {
    // Sorted by key, whatever order the server used.
    std::vector<std::pair<std::string, std::string>> sorted;
    for (const auto& [k, v] : l->items())
      sorted.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
    std::sort(sorted.begin(), sorted.end());
    for (const auto& [k, v] : sorted)
      labels += (labels.empty() ? "" : ", ") + k + "=" + v;
  }
  const Json empty = Json::object();
  const Json* counters = Field(reply, "counters");
  const Json& c = counters != nullptr && counters->is_object() ? *counters : empty;
  Output o;
  o.out = KeyValues({
      {"id", FieldCell(reply, "id")},
      {"status", FieldCell(reply, "status")},
      {"hostname", FieldCell(reply, "hostname")},
      {"container_id", FieldCell(reply, "container_id")},
      {"image_name", FieldCell(reply, "image_name")},
      {"image_digest", FieldCell(reply, "image_digest")},
      {"labels", labels.empty() ? "-" : labels},
      {"agent_version", FieldCell(reply, "agent_version")},
      {"kernel_version", FieldCell(reply, "kernel_version")},
      {"policy_version", FieldCell(reply, "policy_version")},
      {"registered_at", FieldCell(reply, "registered_at")},
      {"last_seen_at", FieldCell(reply, "last_seen_at")},
      {"revoked_at", FieldCell(reply, "revoked_at")},
      {"events_sent", FieldCell(c, "events_sent")},
      {"events_dropped", FieldCell(c, "events_dropped")},
      {"events_spooled", FieldCell(c, "events_spooled")},
  });
  return o;
}

StatusOr<Output> RenderImages(const Json& reply) {
  StatusOr<const Json*> list = ListField(reply, "images");
  if (!list.ok()) return list.status();
  Table t({"IMAGE", "DIGEST", "AGENTS", "ONLINE"});
  for (const Json& i : **list) {
    t.AddRow({FieldCell(i, "image_name"), FieldCell(i, "image_digest"), FieldCell(i, "agents"),
              FieldCell(i, "online")});
  }
  return ListOutput(t, "images");
}

StatusOr<Output> RenderContainers(const Json& reply) {
  StatusOr<const Json*> list = ListField(reply, "containers");
  if (!list.ok()) return list.status();
  Table t({"CONTAINER", "IMAGE", "HOSTNAME", "AGENT", "STATUS", "LAST SEEN"});
  for (const Json& c : **list) {
    t.AddRow({FieldCell(c, "container_id"), FieldCell(c, "image_name"), FieldCell(c, "hostname"),
              FieldCell(c, "agent_id"), FieldCell(c, "status"), FieldCell(c, "last_seen_at")});
  }
  return ListOutput(t, "containers");
}

StatusOr<Output> RenderAuditLog(const Json& reply) {
  StatusOr<const Json*> list = ListField(reply, "entries");
  if (!list.ok()) return list.status();
  Table t({"AT", "ACTOR", "ACTION", "TARGET", "REMOTE ADDR", "DETAILS"});
  for (const Json& e : **list) {
    std::string actor = FieldCell(e, "actor_kind");
    if (const Json* id = Field(e, "actor_id"); id != nullptr && !id->is_null()) {
      actor += ":" + Cell(*id);
    }
    const Json* details = Field(e, "details");
    bool no_details = details == nullptr || details->is_null() || details->empty();
    t.AddRow({FieldCell(e, "at"), actor, FieldCell(e, "action"), FieldCell(e, "target"),
              FieldCell(e, "remote_addr"), no_details ? "-" : Cell(*details)});
  }
  return ListOutput(t, "audit log entries");
}

StatusOr<Output> RenderPolicyValidation(std::string_view file, const Json& reply) {
  const Json* valid = Field(reply, "valid");
  if (valid == nullptr || !valid->is_boolean()) return Unexpected("no \"valid\" boolean");
  if (!valid->get<bool>()) {
    return InvalidArgumentError("the policy service found " + Sanitize(file) + " not valid");
  }
  Output o;
  o.out = Sanitize(file) + ": valid\n";
  if (const Json* summary = Field(reply, "summary"); summary != nullptr && summary->is_object()) {
    o.out += KeyValues(ObjectRows(*summary, {}, {}));
  }
  return o;
}

StatusOr<Output> RenderPolicy(const Json& reply) {
  if (!reply.is_object() || Field(reply, "id") == nullptr) return Unexpected("not a policy");
  return Output{
      .out = KeyValues(ObjectRows(
          reply, {"id", "name", "current_version", "created_at", "updated_at"}, {"document"}))};
}

StatusOr<Output> RenderPolicyVersion(const Json& reply) {
  const Json* document = Field(reply, "document");
  if (Field(reply, "id") == nullptr || document == nullptr) {
    return Unexpected("not a policy with its document");
  }
  // "version" is the version's number, or its record: {"version", "created_at",
  // "created_by", "comment", "sha256", "source_version"}.
  const Json* version = Field(reply, "version");
  std::vector<std::pair<std::string, std::string>> rows;
  if (version != nullptr && version->is_object()) {
    rows = ObjectRows(reply, {"id", "name"}, {"document", "version", "current_version"});
    rows.emplace_back("version", FieldCell(*version, "version"));
    rows.emplace_back("current_version", FieldCell(reply, "current_version"));
    for (const auto& [key, value] : version->items()) {
      if (key != "version") rows.emplace_back("version_" + Sanitize(key), Cell(value));
    }
  } else {
    rows = ObjectRows(reply, {"id", "name", "version", "current_version"}, {"document"});
  }
  Output o;
  o.out = KeyValues(rows) + "\n";
  // Line by line: JSON escapes newlines inside strings, so the lines are the
  // indentation's, and Sanitize leaves them alone.
  std::string pretty = document->dump(2, ' ', false, Json::error_handler_t::replace);
  std::size_t start = 0;
  while (start <= pretty.size()) {
    std::size_t end = pretty.find('\n', start);
    if (end == std::string::npos) end = pretty.size();
    o.out += Sanitize(std::string_view(pretty).substr(start, end - start)) + "\n";
    start = end + 1;
  }
  return o;
}

StatusOr<Output> RenderPolicies(const Json& reply) {
  StatusOr<const Json*> list = ListField(reply, "policies");
  if (!list.ok()) return list.status();
  Table t({"ID", "NAME", "VERSION", "UPDATED", "ASSIGNMENTS"});
  for (const Json& p : **list) {
    // A count, or the assignments themselves.
    const Json* a = Field(p, "assignments");
    std::string assignments =
        a != nullptr && a->is_array() ? std::to_string(a->size()) : FieldCell(p, "assignments");
    t.AddRow({FieldCell(p, "id"), FieldCell(p, "name"), FieldCell(p, "current_version"),
              FieldCell(p, "updated_at"), assignments});
  }
  return ListOutput(t, "policies");
}

StatusOr<Output> RenderPolicyVersions(const Json& reply) {
  StatusOr<const Json*> list = ListField(reply, "versions");
  if (!list.ok()) return list.status();
  Table t({"VERSION", "CREATED", "BY", "COMMENT", "SHA256", "SOURCE"});
  for (const Json& v : **list) {
    std::string hash = FieldCell(v, "sha256");
    if (hash.size() > kShortHash) hash.resize(kShortHash);
    t.AddRow({FieldCell(v, "version"), FieldCell(v, "created_at"), FieldCell(v, "created_by"),
              FieldCell(v, "comment"), hash, FieldCell(v, "source_version")});
  }
  return ListOutput(t, "versions");
}

StatusOr<Output> RenderPolicyDiff(const Json& reply) {
  StatusOr<const Json*> list = ListField(reply, "changes");
  if (!list.ok()) return list.status();
  Output o;
  const Json null;
  for (const Json& c : **list) {
    const Json* kind = Field(c, "kind");
    const Json* before = Field(c, "before");
    const Json* after = Field(c, "after");
    std::string path = FieldCell(c, "path");
    std::string k = kind != nullptr && kind->is_string() ? kind->get<std::string>() : "";
    if (k == "added") {
      o.out += "+ " + path + ": " + JsonText(after != nullptr ? *after : null) + "\n";
    } else if (k == "removed") {
      o.out += "- " + path + ": " + JsonText(before != nullptr ? *before : null) + "\n";
    } else {
      // "moved": a rule's position in the list (first match wins), before and after.
      std::string sigil = k == "changed" ? "~ " : k == "moved" ? "> " : "? ";
      std::string what = sigil == "? " ? " (" + Sanitize(k.empty() ? "-" : k) + ")" : "";
      o.out += sigil + path + what + ": " + JsonText(before != nullptr ? *before : null) + " -> " +
               JsonText(after != nullptr ? *after : null) + "\n";
    }
  }
  if (o.out.empty()) {
    o.err = "No changes between version " + FieldCell(reply, "from") + " and version " +
            FieldCell(reply, "to") + ".\n";
  }
  return o;
}

StatusOr<Output> RenderPolicyAssignment(const Json& reply) {
  if (!reply.is_object() || Field(reply, "id") == nullptr) return Unexpected("not an assignment");
  const Json* selector = Field(reply, "selector");
  return Output{.out = KeyValues({
                    {"id", FieldCell(reply, "id")},
                    {"policy_id", FieldCell(reply, "policy_id")},
                    {"priority", FieldCell(reply, "priority")},
                    {"selector", selector == nullptr ? "-" : SelectorText(*selector)},
                    {"created_at", FieldCell(reply, "created_at")},
                })};
}

StatusOr<Output> RenderPolicyAssignments(const Json& reply) {
  StatusOr<const Json*> list = ListField(reply, "assignments");
  if (!list.ok()) return list.status();
  Table t({"ID", "POLICY", "PRIORITY", "SELECTOR", "CREATED"});
  for (const Json& a : **list) {
    const Json* selector = Field(a, "selector");
    t.AddRow({FieldCell(a, "id"), FieldCell(a, "policy_id"), FieldCell(a, "priority"),
              selector == nullptr ? "-" : SelectorText(*selector), FieldCell(a, "created_at")});
  }
  return ListOutput(t, "policy assignments");
}

StatusOr<Output> RenderPolicyExplanation(const Json& reply) {
  if (!reply.is_object() || Field(reply, "agent_id") == nullptr) {
    return Unexpected("not a policy explanation");
  }
  StatusOr<const Json*> considered = ListField(reply, "considered");
  if (!considered.ok()) return considered.status();
  Output o;
  std::vector<std::pair<std::string, std::string>> rows = {
      {"agent_id", FieldCell(reply, "agent_id")},
      {"policy", PolicyRef(Field(reply, "policy"))},
      {"assignment", AssignmentRef(Field(reply, "assignment"))},
      {"reason", FieldCell(reply, "reason")},
  };
  // What else the service says about the agent (its image, labels...).
  for (auto& row :
       ObjectRows(reply, {}, {"agent_id", "policy", "assignment", "reason", "considered"})) {
    rows.push_back(std::move(row));
  }
  o.out = KeyValues(rows);
  if ((*considered)->empty()) {
    o.out += "\nNo assignments were considered.\n";
    return o;
  }
  Table t({"ASSIGNMENT", "POLICY", "PRIORITY", "SELECTOR", "MATCHED", "WHY"});
  for (const Json& c : **considered) {
    // The assignment inline ("assignment_id", "policy_id"...) or as an object.
    const Json* nested = Field(c, "assignment");
    const Json& a = nested != nullptr && nested->is_object() ? *nested : c;
    const Json* selector = Field(a, "selector");
    const Json* matched = Field(c, "matched");
    t.AddRow(
        {FieldCell(a, nested != nullptr ? "id" : "assignment_id"), FieldCell(a, "policy_id"),
         FieldCell(a, "priority"), selector == nullptr ? "-" : SelectorText(*selector),
         matched != nullptr && matched->is_boolean() ? (matched->get<bool>() ? "yes" : "no") : "-",
         FieldCell(c, "why")});
  }
  o.out += "\nConsidered:\n" + t.ToString();
  return o;
}

std::string SelectorText(const Json& selector) {
  if (selector.is_object() && selector.size() == 1) {
    if (const Json* image = Field(selector, "image"); image != nullptr && image->is_string()) {
      return "image " + Cell(*image);
    }
    if (const Json* labels = Field(selector, "labels");
        labels != nullptr && labels->is_object() && !labels->empty()) {
      std::string text = "labels ";
      bool first = true;
      for (const auto& [key, value] : labels->items()) {
        text += (first ? "" : ", ") + Sanitize(key) + "=" + Cell(value);
        first = false;
      }
      return text;
    }
    if (const Json* d = Field(selector, "default"); d != nullptr && *d == true) return "default";
  }
  return Cell(selector);
}

StatusOr<Output> RenderSearch(const Json& reply) {
  if (const Json* events = Field(reply, "events"); events != nullptr) {
    StatusOr<const Json*> list = ListField(reply, "events");
    if (!list.ok()) return list.status();
    Table t({"TIME", "ACTION", "CATEGORY", "PROCESS", "TARGET", "RULE"});
    for (const Json& e : **list) {
      t.AddRow({SearchCell(Field(e, "event.time")), SearchCell(Field(e, "event.action")),
                SearchCell(Field(e, "event.category")), SearchCell(Field(e, "process.name")),
                EventTarget(e), SearchCell(Field(e, "rule.id"))});
    }
    return ListOutput(t, "events");
  }
  const Json* columns = Field(reply, "columns");
  const Json* rows = Field(reply, "rows");
  if (columns == nullptr || !columns->is_array() || rows == nullptr || !rows->is_array()) {
    return Unexpected("neither \"events\" nor \"columns\" and \"rows\"");
  }
  std::vector<std::string> headers;
  for (const Json& c : *columns) {
    const Json* name = Field(c, "name");
    if (name == nullptr || !name->is_string()) return Unexpected("a column without a name");
    headers.push_back(Sanitize(name->get_ref<const std::string&>()));
  }
  if (headers.empty()) return Unexpected("no columns");
  Table t(headers);
  for (const Json& row : *rows) {
    if (!row.is_array() || row.size() != headers.size()) {
      return Unexpected("a row that does not have one value per column");
    }
    std::vector<std::string> cells;
    for (const Json& value : row)
      cells.push_back(SearchCell(&value));
    t.AddRow(std::move(cells));
  }
  return ListOutput(t, "rows");
}

std::string EventTarget(const Json& event) {
  const Json* path = Field(event, "file.path");
  if (path != nullptr && !path->is_null()) return SearchCell(path);
  const Json* ip = Field(event, "network.remote.ip");
  if (ip == nullptr || ip->is_null()) return "";
  std::string address = SearchCell(ip);
  const Json* port = Field(event, "network.remote.port");
  if (port == nullptr || port->is_null()) return address;
  if (address.find(':') != std::string::npos) address = "[" + address + "]";
  return address + ":" + SearchCell(port);
}

std::string RenderConnectionError(const Endpoint& ep, const Status& status) {
  std::string out = "cannot reach " + Url(ep) + ": " + Sanitize(status.message()) + "\n";
  const std::string& m = status.message();
  if (ep.tls && m.find("hostname mismatch") != std::string::npos && IsIpLiteral(ep.host)) {
    out +=
        "  hint: the certificate is checked against the host name of --server; use a DNS "
        "name the certificate carries (e.g. https://localhost:" +
        std::to_string(ep.port) + ") instead of an IP address\n";
  } else if (ep.tls && (m.find("TLS") != std::string::npos || m.find("CA") != std::string::npos)) {
    out +=
        "  hint: --ca (PORTCULLIS_TLS_CA) must be the CA that signed the server's "
        "certificate, and the certificate must name the host of --server\n";
  }
  return out;
}

std::string RenderApiError(int http_status, std::string_view body, std::string_view retry_after,
                           const SourceMap* source) {
  // "FILE:LINE: /rules/3: " for a location in the document read from a file,
  // "/comment: " for another one.
  auto where = [source](const std::string& location) -> std::string {
    std::string_view loc = location;
    if (source != nullptr && loc.starts_with(kDocumentPointer) &&
        (loc.size() == kDocumentPointer.size() || loc[kDocumentPointer.size()] == '/')) {
      std::string_view inner = loc.substr(kDocumentPointer.size());
      std::string out = Sanitize(source->Where(inner)) + ": ";
      if (!inner.empty()) out += Sanitize(inner) + ": ";
      return out;
    }
    return Sanitize(location) + ": ";
  };
  std::string out = "error: the server answered " + std::to_string(http_status);
  Json parsed = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  const Json* err = Field(parsed, "error");
  if (err != nullptr && err->is_object()) {
    if (const Json* code = Field(*err, "code"); code != nullptr && code->is_string()) {
      out += " " + Cell(*code);
    }
    if (const Json* msg = Field(*err, "message"); msg != nullptr && msg->is_string()) {
      const std::string& text = msg->get_ref<const std::string&>();
      out += ": " + (text.empty() ? Cell(*msg) : SanitizeLines(text));
    }
    out += "\n";
    if (const Json* loc = Field(*err, "location"); loc != nullptr && loc->is_string()) {
      std::string at = loc->get<std::string>().empty() ? "-: " : where(loc->get<std::string>());
      at.resize(at.size() - 2);  // without the ": "
      out += "  at " + at + "\n";
    }
    const Json* details = Field(*err, "details");
    if (details != nullptr && details->is_array() && !details->empty()) {
      out += "  problems:\n";
      for (const Json& d : *details) {
        const Json* loc = Field(d, "location");
        bool located =
            loc != nullptr && loc->is_string() && !loc->get_ref<const std::string&>().empty();
        out += "    " + (located ? where(loc->get<std::string>()) : std::string()) +
               FieldCell(d, "message") + "\n";
      }
    }
  } else {
    std::string shown(body.substr(0, kMaxErrorBodyShown));
    out += shown.empty() ? " with an empty body\n"
                         : " (not a JSON error): " + Sanitize(shown) +
                               (body.size() > kMaxErrorBodyShown ? "..." : "") + "\n";
  }
  switch (http_status) {
    case 401:
      out +=
          "  hint: the credential was refused; check PORTCULLIS_API_KEY (or the operator token "
          "for tenant create)\n";
      break;
    case 403:
      out += "  hint: this credential may not do that (analyst keys are read-only)\n";
      break;
    case 412:
      out +=
          "  hint: someone changed it since the version given with --if-version; see 'policy "
          "versions ID', then retry\n";
      break;
    case 429:
    case 503:
      if (!retry_after.empty()) {
        out += "  hint: retry after " + Sanitize(retry_after.substr(0, 20)) + " s\n";
      }
      break;
    default:
      break;
  }
  return out;
}

}  // namespace portcullis::cli
