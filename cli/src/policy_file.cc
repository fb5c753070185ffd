// Policy files in JSON or YAML with a pointer -> line map (see policy_file.h).
#include "portcullis/cli/policy_file.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>
#include <vector>

#include "portcullis/common/json_pointer.h"
#include "portcullis/common/strings.h"

namespace portcullis::cli {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kUtf8Bom = "\xef\xbb\xbf";
constexpr std::string_view kStrTag = "tag:yaml.org,2002:str";

// A key or value quoted for a message: JSON string syntax, so that control
// characters in a file cannot reach the terminal unescaped.
std::string Quoted(std::string_view text) {
  return Json(std::string(text)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

Status Refused(std::string_view name, int line, std::string_view what) {
  std::string where(name);
  if (line > 0) where += ":" + std::to_string(line);
  return InvalidArgumentError(where + ": " + std::string(what));
}

// Appends a member whose key is known to be new. ordered_json's own insertion
// searches the members one by one: quadratic, minutes for a 4 MiB object.
void AppendMember(Json& object, std::string key, Json value) {
  Json::object_t& members = object.get_ref<Json::object_t&>();
  members.Json::object_t::Container::emplace_back(std::move(key), std::move(value));
}

std::string DepthMessage() {
  return "nested deeper than " + std::to_string(kMaxPolicyDepth) + " levels";
}

std::string DuplicateMessage(std::string_view key, int first_line) {
  return "duplicate key " + Quoted(key) + " (first on line " + std::to_string(first_line) + ")";
}

// --- YAML -------------------------------------------------------------------

// yaml-cpp passes invalid UTF-8 through, which JSON cannot carry.
bool ValidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char b0 = byte(i);
    std::size_t len;
    std::uint32_t cp;
    std::uint32_t min;
    if (b0 < 0x80) {
      ++i;
      continue;
    } else if (b0 >= 0xc2 && b0 <= 0xdf) {
      len = 2;
      cp = b0 & 0x1fu;
      min = 0x80;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      len = 3;
      cp = b0 & 0x0fu;
      min = 0x800;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      len = 4;
      cp = b0 & 0x07u;
      min = 0x10000;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((byte(i + k) & 0xc0u) != 0x80u) return false;
      cp = (cp << 6) | (byte(i + k) & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

bool IsDigits(std::string_view s, bool hex) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [hex](char c) {
    return (c >= '0' && c <= '9') || (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
  });
}

// What a plain scalar means (see the header); an error for an integer that
// does not fit in 64 bits.
StatusOr<Json> TypePlainScalar(const std::string& text) {
  static const char* const kTrue[] = {"true", "True", "TRUE"};
  static const char* const kFalse[] = {"false", "False", "FALSE"};
  static const char* const kNull[] = {"", "~", "null", "Null", "NULL"};
  for (const char* t : kTrue) {
    if (text == t) return Json(true);
  }
  for (const char* f : kFalse) {
    if (text == f) return Json(false);
  }
  for (const char* n : kNull) {
    if (text == n) return Json(nullptr);
  }
  std::string_view s = text;
  const auto out_of_range = [&] {
    return InvalidArgumentError("integer " + text + " does not fit in 64 bits");
  };
  if (s.starts_with("0x") && IsDigits(s.substr(2), /*hex=*/true)) {
    std::uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(s.data() + 2, s.data() + s.size(), v, 16);
    if (ec != std::errc() || ptr != s.data() + s.size()) return out_of_range();
    return Json(v);
  }
  bool negative = false;
  std::string_view digits = s;
  if (!digits.empty() && (digits.front() == '-' || digits.front() == '+')) {
    negative = digits.front() == '-';
    digits.remove_prefix(1);
  }
  // "007" is octal to YAML 1.1 and decimal to 1.2: kept as written.
  if (!IsDigits(digits, /*hex=*/false) || (digits.size() > 1 && digits.front() == '0')) {
    return Json(text);
  }
  if (negative) {
    std::int64_t v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size()) return out_of_range();
    return Json(v);
  }
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return out_of_range();
  return Json(v);
}

// Thrown by the event handler to stop yaml-cpp at the first refusal; caught
// in ParseYaml, never beyond.
struct YamlRefusal {
  int line;  // 1-based
  std::string message;
};

// Builds the JSON document from yaml-cpp's events, recording lines.
class JsonBuilder final : public YAML::EventHandler {
 public:
  // `text` is what yaml-cpp reads, to check its quoted scalars against.
  JsonBuilder(std::string_view text, SourceMap* source) : text_(text), source_(source) {}

  bool has_root() const { return has_root_; }
  int root_line() const { return root_line_; }
  Json TakeRoot() { return std::move(root_); }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ > 1) Refuse(mark, "more than one document (---) in a policy file");
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    CheckAnchor(mark, anchor);
    if (ExpectingKey()) Refuse(mark, "a mapping key must not be null or empty");
    Place(mark);
    Add(Json(nullptr));
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    Refuse(mark, "aliases (*name) are not supported: write the value out");
  }

  void OnAnchor(const YAML::Mark& mark, const std::string& name) override {
    Refuse(mark, "anchors (&" + name + ") are not supported: write the value out");
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    CheckAnchor(mark, anchor);
    if (!ValidUtf8(value)) Refuse(mark, "text that is not valid UTF-8");
    // yaml-cpp's tags: "?" for plain scalars, "!" for quoted and block ones.
    bool plain = tag == "?";
    if (!plain && tag != "!" && tag != kStrTag) {
      Refuse(mark, "tag " + Quoted(tag) + " is not supported (only !!str)");
    }
    if (tag == "!") CheckClosingQuote(mark);
    if (ExpectingKey()) {
      Frame& map = stack_.back();
      if (plain && value == "<<") Refuse(mark, "merge keys (<<) are not supported");
      int line = Line(mark);
      auto [it, inserted] = map.keys.emplace(value, line);
      if (!inserted) Refuse(mark, DuplicateMessage(value, it->second));
      map.key = value;
      map.key_line = line;
      map.expecting_key = false;
      return;
    }
    Json v;
    if (plain) {
      StatusOr<Json> typed = TypePlainScalar(value);
      if (!typed.ok()) Refuse(mark, typed.status().message());
      v = *std::move(typed);
    } else {
      v = value;
    }
    Place(mark);
    Add(std::move(v));
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(mark, tag, anchor, /*is_map=*/false);
  }
  void OnSequenceEnd() override { Close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(mark, tag, anchor, /*is_map=*/true);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Frame {
    Json value;
    std::string pointer;
    bool is_map = false;
    bool expecting_key = true;        // maps: the next node is a key
    std::string key;                  // maps: the key of the value to come
    int key_line = 0;                 // maps: its line
    std::map<std::string, int> keys;  // maps: keys seen -> line
  };

  static int Line(const YAML::Mark& mark) { return mark.line + 1; }

  [[noreturn]] static void Refuse(const YAML::Mark& mark, std::string message) {
    throw YamlRefusal{Line(mark), std::move(message)};
  }

  // yaml-cpp 0.7 accepts a quoted scalar left open at the end of the input,
  // making the rest of the file its text: a file whose rules would vanish
  // into a string. Block scalars (| >) start with no quote and are skipped.
  void CheckClosingQuote(const YAML::Mark& mark) const {
    if (mark.pos < 0 || static_cast<std::size_t>(mark.pos) >= text_.size()) return;
    std::size_t i = static_cast<std::size_t>(mark.pos);
    char quote = text_[i];
    if (quote != '"' && quote != '\'') return;
    for (++i; i < text_.size(); ++i) {
      if (quote == '"' && text_[i] == '\\') {
        ++i;
      } else if (text_[i] == quote) {
        if (quote == '\'' && i + 1 < text_.size() && text_[i + 1] == '\'') {
          ++i;  // '' is a quote inside single quotes
        } else {
          return;
        }
      }
    }
    Refuse(mark, std::string("unterminated quoted string (no closing ") + quote + ")");
  }

  static void CheckAnchor(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) Refuse(mark, "anchors (&name) are not supported");
  }

  bool ExpectingKey() const {
    return !stack_.empty() && stack_.back().is_map && stack_.back().expecting_key;
  }

  // The pointer of the node starting at `mark`, its line recorded: for a
  // member of a mapping the line of its key, else the node's own.
  std::string Place(const YAML::Mark& mark) {
    std::string pointer;
    int line = Line(mark);
    if (stack_.empty()) {
      root_line_ = line;
    } else if (stack_.back().is_map) {
      pointer = JsonPointer(stack_.back().pointer, stack_.back().key);
      line = stack_.back().key_line;
    } else {
      pointer = JsonPointer(stack_.back().pointer, stack_.back().value.size());
    }
    source_->lines.emplace(pointer, line);
    return pointer;
  }

  // Puts a finished value into its parent (or makes it the root).
  void Add(Json value) {
    if (stack_.empty()) {
      root_ = std::move(value);
      has_root_ = true;
      return;
    }
    Frame& parent = stack_.back();
    if (parent.is_map) {
      AppendMember(parent.value, parent.key, std::move(value));
      parent.expecting_key = true;
    } else {
      parent.value.push_back(std::move(value));
    }
  }

  void Open(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor, bool is_map) {
    CheckAnchor(mark, anchor);
    if (tag != "?") Refuse(mark, "tag " + Quoted(tag) + " is not supported (only !!str)");
    if (ExpectingKey()) {
      Refuse(mark, std::string("a mapping key must be a scalar, not a ") +
                       (is_map ? "mapping" : "sequence"));
    }
    if (stack_.size() + 1 > static_cast<std::size_t>(kMaxPolicyDepth)) {
      Refuse(mark, DepthMessage());
    }
    Frame f;
    f.pointer = Place(mark);
    f.is_map = is_map;
    f.value = is_map ? Json::object() : Json::array();
    stack_.push_back(std::move(f));
  }

  void Close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    Add(std::move(f.value));
  }

  std::string_view text_;
  SourceMap* source_;
  std::vector<Frame> stack_;
  Json root_;
  bool has_root_ = false;
  int root_line_ = 1;
  int documents_ = 0;
};

StatusOr<Json> ParseYaml(std::string_view text, SourceMap* source) {
  const std::string& name = source->file;
  // Without a byte order mark, yaml-cpp's positions are offsets into `text`.
  if (text.starts_with(kUtf8Bom)) text.remove_prefix(kUtf8Bom.size());
  std::istringstream in{std::string(text)};
  JsonBuilder builder(text, source);
  try {
    YAML::Parser parser(in);
    if (!parser.HandleNextDocument(builder) || !builder.has_root()) {
      return Refused(name, 0, "no YAML document (the file holds only comments or blanks)");
    }
    // A second document is refused by the builder when it starts.
    while (parser.HandleNextDocument(builder)) {
    }
  } catch (const YamlRefusal& r) {
    return Refused(name, r.line, r.message);
  } catch (const YAML::Exception& e) {
    return Refused(name, e.mark.is_null() ? 0 : e.mark.line + 1, e.msg);
  } catch (const std::exception& e) {
    return Refused(name, 0, std::string("cannot read YAML: ") + e.what());
  }
  Json root = builder.TakeRoot();
  if (!root.is_object()) {
    return Refused(name, builder.root_line(),
                   "a policy document must be a mapping (an object) at the top level");
  }
  return root;
}

// --- JSON -------------------------------------------------------------------

// Builds the document from JSON text that nlohmann has already accepted,
// recording the line of every value and refusing duplicate keys and
// excessive nesting (which the parser lets through: duplicates silently keep
// the last value). Scalars are nlohmann's reading of their token.
class JsonWalker {
 public:
  JsonWalker(std::string_view text, SourceMap* source) : text_(text), source_(source) {
    if (text_.starts_with(kUtf8Bom)) pos_ = kUtf8Bom.size();
  }

  Status Walk(Json* document) { return Value("", 0, document); }

 private:
  void SkipSpace() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '\n') {
        ++line_;
      } else if (c != ' ' && c != '\t' && c != '\r') {
        return;
      }
      ++pos_;
    }
  }

  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  // A string token, pos_ at its opening quote; returns its raw text.
  std::string_view ScanString() {
    std::size_t start = pos_++;
    while (pos_ < text_.size() && text_[pos_] != '"')
      pos_ += text_[pos_] == '\\' ? 2 : 1;
    ++pos_;
    return text_.substr(start, std::min(pos_, text_.size()) - start);
  }

  Status Refuse(std::string_view what) const { return Refused(source_->file, line_, what); }

  // `depth`: the containers this value is inside.
  Status Value(const std::string& pointer, int depth, Json* out) {
    SkipSpace();
    source_->lines.emplace(pointer, line_);
    char c = Peek();
    if (c == '{' || c == '[') {
      if (depth + 1 > kMaxPolicyDepth) return Refuse(DepthMessage());
      bool is_object = c == '{';
      char close = is_object ? '}' : ']';
      *out = is_object ? Json::object() : Json::array();
      ++pos_;
      SkipSpace();
      if (Peek() == close) {
        ++pos_;
        return OkStatus();
      }
      std::map<std::string, int> keys;
      for (std::size_t index = 0;; ++index) {
        SkipSpace();
        Json child;
        if (is_object) {
          std::string key = Json::parse(ScanString()).get<std::string>();
          auto [it, inserted] = keys.emplace(key, line_);
          if (!inserted) return Refuse(DuplicateMessage(key, it->second));
          std::string child_pointer = JsonPointer(pointer, key);
          source_->lines.emplace(child_pointer, line_);
          SkipSpace();
          ++pos_;  // ':'
          PORTCULLIS_RETURN_IF_ERROR(Value(child_pointer, depth + 1, &child));
          AppendMember(*out, key, std::move(child));
        } else {
          PORTCULLIS_RETURN_IF_ERROR(Value(JsonPointer(pointer, index), depth + 1, &child));
          out->push_back(std::move(child));
        }
        SkipSpace();
        if (Peek() != ',') break;
        ++pos_;
      }
      ++pos_;  // the closing bracket
      return OkStatus();
    }
    std::size_t start = pos_;
    if (c == '"') {
      ScanString();
    } else {
      while (pos_ < text_.size() &&
             std::string_view(",]} \t\r\n").find(text_[pos_]) == std::string_view::npos) {
        ++pos_;
      }
    }
    *out = Json::parse(text_.substr(start, pos_ - start));
    return OkStatus();
  }

  std::string_view text_;
  SourceMap* source_;
  std::size_t pos_ = 0;
  int line_ = 1;
};

int LineAtByte(std::string_view text, std::size_t byte) {
  byte = std::min(byte, text.size());
  return 1 + static_cast<int>(
                 std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(byte), '\n'));
}

StatusOr<Json> ParseJson(std::string_view text, SourceMap* source) {
  const std::string& name = source->file;
  // The syntax first, without building anything (ordered_json's parser
  // takes quadratic time on a large object); JsonWalker builds the document.
  // Parsing again is only for the message of a refusal.
  try {
    if (!nlohmann::json::accept(text)) {
      nlohmann::json discarded = nlohmann::json::parse(text);
      return Refused(name, 0, "not valid JSON");
    }
  } catch (const nlohmann::json::parse_error& e) {
    // "[json.exception.parse_error.101] parse error at line 3, column 5: syntax error ..."
    std::string message = e.what();
    if (std::size_t col = message.find(", column "); col != std::string::npos) {
      if (std::size_t colon = message.find(": ", col); colon != std::string::npos) {
        message.erase(0, colon + 2);
      }
    } else if (std::size_t bracket = message.find("] "); bracket != std::string::npos) {
      message.erase(0, bracket + 2);
    }
    return Refused(name, LineAtByte(text, e.byte == 0 ? 0 : e.byte - 1), message);
  } catch (const std::exception& e) {
    return Refused(name, 0, std::string("cannot read JSON: ") + e.what());
  }
  Json doc;
  try {
    PORTCULLIS_RETURN_IF_ERROR(JsonWalker(text, source).Walk(&doc));
  } catch (const std::exception& e) {
    // Cannot happen for text nlohmann accepted; loud rather than wrong.
    return InternalError(name + ": reading the accepted JSON: " + e.what());
  }
  if (!doc.is_object()) {
    return Refused(name, 0, "a policy document must be an object at the top level");
  }
  return doc;
}

}  // namespace

int SourceMap::LineOf(std::string_view pointer) const {
  std::string p(pointer);
  for (;;) {
    if (auto it = lines.find(p); it != lines.end()) return it->second;
    if (p.empty()) return 0;
    p.resize(p.rfind('/'));
  }
}

std::string SourceMap::Where(std::string_view pointer) const {
  int line = LineOf(pointer);
  return line > 0 ? file + ":" + std::to_string(line) : file;
}

PolicyFormat DetectPolicyFormat(std::string_view path, std::string_view text) {
  std::string lower = AsciiLower(path);
  if (lower.ends_with(".json")) return PolicyFormat::kJson;
  if (lower.ends_with(".yaml") || lower.ends_with(".yml")) return PolicyFormat::kYaml;
  if (text.starts_with(kUtf8Bom)) text.remove_prefix(kUtf8Bom.size());
  std::size_t first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && text[first] == '{' ? PolicyFormat::kJson
                                                               : PolicyFormat::kYaml;
}

StatusOr<PolicyFile> ParsePolicyText(std::string_view text, std::string_view name,
                                     PolicyFormat format) {
  PolicyFile f;
  f.format = format;
  f.source.file = std::string(name);
  if (text.size() > kMaxPolicyFileBytes) {
    return InvalidArgumentError(f.source.file + ": larger than 4 MiB (" +
                                std::to_string(text.size()) + " bytes)");
  }
  StatusOr<Json> doc =
      format == PolicyFormat::kJson ? ParseJson(text, &f.source) : ParseYaml(text, &f.source);
  if (!doc.ok()) return doc.status();
  f.document = *std::move(doc);
  return f;
}

StatusOr<PolicyFile> ReadPolicyFile(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) return InvalidArgumentError(path + ": is a directory");
  if (fs::is_regular_file(path, ec)) {
    std::uintmax_t size = fs::file_size(path, ec);
    if (!ec && size > kMaxPolicyFileBytes) {
      return InvalidArgumentError(path + ": larger than 4 MiB (" + std::to_string(size) +
                                  " bytes)");
    }
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return InvalidArgumentError("cannot read policy file '" + path +
                                "': " + std::generic_category().message(errno));
  }
  // Read one byte past the limit: a pipe has no size to check beforehand.
  std::string text(kMaxPolicyFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return InvalidArgumentError("cannot read policy file '" + path + "'");
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxPolicyFileBytes) {
    return InvalidArgumentError(path + ": larger than 4 MiB");
  }
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    return InvalidArgumentError(path + ": the policy file is empty");
  }
  return ParsePolicyText(text, path, DetectPolicyFormat(path, text));
}

}  // namespace portcullis::cli
