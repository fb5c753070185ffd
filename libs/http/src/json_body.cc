#include "portcullis/http/json_body.h"

#include <algorithm>

#include "portcullis/common/json_pointer.h"
#include "portcullis/common/strings.h"

namespace portcullis::http {
namespace {

std::string Pointer(const std::string& key) {
  return JsonPointer("", key);
}

std::string Truncated(const std::string& s) {
  return s.size() <= 64 ? s : s.substr(0, 64) + "...";
}

bool IsJsonContentType(const std::string* ct) {
  if (ct == nullptr) return false;
  std::string v = ct->substr(0, ct->find(';'));
  v = AsciiLower(v);
  v.erase(std::remove(v.begin(), v.end(), ' '), v.end());
  return v == "application/json";
}

}  // namespace

JsonBody::JsonBody(const Request& request, bool empty_ok) {
  if (request.body.empty() && empty_ok) {
    doc_ = nlohmann::json::object();
    parsed_ = true;
    return;
  }
  if (!IsJsonContentType(request.Header("content-type"))) {
    unsupported_type_ = true;
    problems_.emplace_back("content-type", "the body must be application/json");
    return;
  }
  try {
    doc_ = nlohmann::json::parse(request.body);
  } catch (const nlohmann::json::parse_error& e) {
    problems_.emplace_back("body", "malformed JSON at byte " + std::to_string(e.byte));
    return;
  }
  if (!doc_.is_object()) {
    problems_.emplace_back("", "the body must be a JSON object");
    return;
  }
  parsed_ = true;
}

const nlohmann::json* JsonBody::Raw(const std::string& key, bool required) {
  return Field(key, required, "a JSON value");
}

JsonBody JsonBody::Child(const std::string& key, bool required) {
  JsonBody child;
  child.parsed_ = true;
  child.doc_ = nlohmann::json::object();
  const nlohmann::json* v = Field(key, required, "an object");
  if (v == nullptr) return child;
  if (!v->is_object()) {
    AddProblem(Pointer(key), "must be an object");
    child.parsed_ = false;
    return child;
  }
  child.doc_ = *v;
  child.prefix_ = Pointer(key);
  return child;
}

void JsonBody::Absorb(JsonBody& child) {
  child.ok();
  for (auto& [location, message] : child.problems_)
    problems_.emplace_back(child.prefix_ + location, std::move(message));
  child.problems_.clear();
}

void JsonBody::AddProblem(std::string location, std::string message) {
  problems_.emplace_back(std::move(location), std::move(message));
}

const nlohmann::json* JsonBody::Field(const std::string& key, bool required,
                                      const char* type_name) {
  known_.insert(key);
  if (!parsed_) return nullptr;
  auto it = doc_.find(key);
  if (it == doc_.end() || it->is_null()) {
    if (required) AddProblem(Pointer(key), "is required (" + std::string(type_name) + ")");
    return nullptr;
  }
  return &*it;
}

std::string JsonBody::String(const std::string& key, const StringRule& rule) {
  const nlohmann::json* v = Field(key, rule.required, "a string");
  if (v == nullptr) return {};
  if (!v->is_string()) {
    AddProblem(Pointer(key), "must be a string");
    return {};
  }
  const std::string& s = v->get_ref<const std::string&>();
  if (s.find('\0') != std::string::npos) {
    AddProblem(Pointer(key), "must not contain NUL characters");
  } else if (s.empty() && !rule.allow_empty) {
    AddProblem(Pointer(key), "must not be empty");
  } else if (s.size() > rule.max_len) {
    AddProblem(Pointer(key), "is longer than " + std::to_string(rule.max_len) + " bytes");
  }
  return s;
}

std::optional<std::int64_t> JsonBody::Int(const std::string& key, const IntRule& rule) {
  const nlohmann::json* v = Field(key, rule.required, "an integer");
  if (v == nullptr) return std::nullopt;
  if (!v->is_number_integer()) {
    AddProblem(Pointer(key), "must be an integer");
    return std::nullopt;
  }
  if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
    AddProblem(Pointer(key), "is out of range");
    return std::nullopt;
  }
  std::int64_t n = v->get<std::int64_t>();
  if (n < rule.min || n > rule.max) {
    AddProblem(Pointer(key),
               "must be between " + std::to_string(rule.min) + " and " + std::to_string(rule.max));
    return std::nullopt;
  }
  return n;
}

std::map<std::string, std::string> JsonBody::StringMap(const std::string& key,
                                                       const MapRule& rule) {
  std::map<std::string, std::string> out;
  const nlohmann::json* v = Field(key, false, "an object");
  if (v == nullptr) return out;
  if (!v->is_object()) {
    AddProblem(Pointer(key), "must be an object of strings");
    return out;
  }
  if (v->size() > rule.max_entries) {
    AddProblem(Pointer(key), "has more than " + std::to_string(rule.max_entries) + " entries");
    return out;
  }
  for (auto it = v->begin(); it != v->end(); ++it) {
    std::string loc = Pointer(key) + Pointer(it.key());
    if (it.key().empty() || it.key().size() > rule.max_key_len) {
      AddProblem(loc, "keys must be 1 to " + std::to_string(rule.max_key_len) + " bytes");
    } else if (!it->is_string()) {
      AddProblem(loc, "must be a string");
    } else if (it.key().find('\0') != std::string::npos ||
               it->get_ref<const std::string&>().find('\0') != std::string::npos) {
      AddProblem(loc, "must not contain NUL characters");
    } else if (it->get_ref<const std::string&>().size() > rule.max_value_len) {
      AddProblem(loc, "is longer than " + std::to_string(rule.max_value_len) + " bytes");
    } else {
      out[it.key()] = it->get<std::string>();
    }
  }
  return out;
}

std::string JsonBody::Enum(const std::string& key, const std::vector<std::string>& allowed,
                           bool required) {
  std::string v = String(key, {.required = required, .max_len = 64});
  if (v.empty() || std::find(allowed.begin(), allowed.end(), v) != allowed.end()) return v;
  std::string choices;
  for (const auto& a : allowed)
    choices += (choices.empty() ? "" : ", ") + a;
  AddProblem(Pointer(key), "must be one of " + choices + ", not '" + Truncated(v) + "'");
  return {};
}

bool JsonBody::ok() {
  if (parsed_) {
    for (auto it = doc_.begin(); it != doc_.end(); ++it) {
      if (known_.count(it.key()) == 0) {
        AddProblem(Pointer(it.key()), "unknown field");
        known_.insert(it.key());  // report once even if ok() is called again
      }
    }
  }
  return problems_.empty();
}

Response JsonBody::ErrorResponse() {
  if (unsupported_type_) {
    return Response::Error(415, "unsupported_media_type", problems_.front().second, "content-type");
  }
  return Response::Invalid(problems_);
}

}  // namespace portcullis::http
