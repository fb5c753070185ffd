// Tables, key/value blocks and error messages of portcullisctl (see render.h).
#include "portcullis/cli/render.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

namespace portcullis::cli {
namespace {

constexpr std::size_t kMaxErrorBodyShown = 300;

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

}  // namespace

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

std::string RenderApiError(int http_status, std::string_view body, std::string_view retry_after) {
  std::string out = "error: the server answered " + std::to_string(http_status);
  Json parsed = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  const Json* err = Field(parsed, "error");
  if (err != nullptr && err->is_object()) {
    if (const Json* code = Field(*err, "code"); code != nullptr && code->is_string()) {
      out += " " + Cell(*code);
    }
    if (const Json* msg = Field(*err, "message"); msg != nullptr && msg->is_string()) {
      out += ": " + Cell(*msg);
    }
    out += "\n";
    if (const Json* loc = Field(*err, "location"); loc != nullptr && loc->is_string()) {
      out += "  at " + Cell(*loc) + "\n";
    }
    const Json* details = Field(*err, "details");
    if (details != nullptr && details->is_array() && !details->empty()) {
      out += "  problems:\n";
      for (const Json& d : *details) {
        std::string loc = FieldCell(d, "location");
        std::string msg = FieldCell(d, "message");
        out += "    " + (loc == "-" ? std::string() : loc + ": ") + msg + "\n";
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
