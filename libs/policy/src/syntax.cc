#include "portcullis/policy/syntax.h"

#include <algorithm>

#include "portcullis/policy/address_matcher.h"
#include "portcullis/policy/document.h"
#include "portcullis/policy/glob.h"

namespace portcullis::policy {
namespace {

// Checks what every path-like value must satisfy; `what` names it in errors.
Status CheckAbsolute(std::string_view text, std::string_view what) {
  std::string quoted = "'" + std::string(text.substr(0, 80)) + (text.size() > 80 ? "...'" : "'");
  if (text.empty() || text.front() != '/') {
    return InvalidArgumentError(std::string(what) + " " + quoted + " must be an absolute path");
  }
  if (text.size() > kMaxPathLength) {
    return InvalidArgumentError(std::string(what) + " is longer than " +
                                std::to_string(kMaxPathLength) + " bytes");
  }
  if (text.find('\0') != std::string_view::npos) {
    return InvalidArgumentError(std::string(what) + " contains a NUL byte");
  }
  // Segments: no empty, "." or ".." (the agent matches normalized paths, so
  // such a rule could never match and would silently do nothing).
  std::size_t start = 1;
  while (start <= text.size()) {
    std::size_t end = text.find('/', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view seg = text.substr(start, end - start);
    bool last = end == text.size();
    if ((seg.empty() && !last) || seg == "." || seg == "..") {
      return InvalidArgumentError(std::string(what) + " " + quoted +
                                  " is not normalized (no '//', '.' or '..' segments)");
    }
    start = end + 1;
  }
  return OkStatus();
}

bool HasGlobSyntax(std::string_view text) {
  return text.find_first_of("*?[") != std::string_view::npos;
}

}  // namespace

StatusOr<PathPattern> ParsePathPattern(std::string_view text) {
  PORTCULLIS_RETURN_IF_ERROR(CheckAbsolute(text, "path"));
  PathPattern p;
  if (HasGlobSyntax(text)) {
    StatusOr<Glob> g = Glob::Compile(text);
    if (!g.ok()) return g.status();
    p.kind = PathPattern::Kind::kGlob;
    p.text = std::string(text);
  } else if (text.size() > 1 && text.back() == '/') {
    p.kind = PathPattern::Kind::kSubtree;
    p.text = std::string(text.substr(0, text.size() - 1));
  } else if (text == "/") {
    p.kind = PathPattern::Kind::kSubtree;  // the whole file system
    p.text = "/";
  } else {
    p.kind = PathPattern::Kind::kExact;
    p.text = std::string(text);
  }
  return p;
}

Status ValidatePathPattern(std::string_view text) {
  PORTCULLIS_RETURN_IF_ERROR(CheckAbsolute(text, "program"));
  if (text.back() == '/') {
    return InvalidArgumentError("program '" + std::string(text) + "' names a directory; use '" +
                                std::string(text) + "*' or '" + std::string(text) +
                                "**' for the programs in it");
  }
  if (HasGlobSyntax(text)) return Glob::Compile(text).status();
  return OkStatus();
}

Status ValidateCidr(std::string_view text) {
  return Cidr::Parse(text).status();
}

StatusOr<PortRange> ParsePortRange(std::string_view text) {
  return PortRange::Parse(text);
}

bool IsValidRuleId(std::string_view id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

}  // namespace portcullis::policy
