// Policy files for portcullisctl: a policy document written in JSON or YAML,
// read into the JSON the policy service takes, with a map from every value's
// JSON pointer to the line it was written on. The service locates problems by
// JSON pointer ("/rules/3/paths/0"); the map turns them into
// "policy.yaml:12: /rules/3/paths/0: ..." for the person who wrote the file.
//
//   StatusOr<PolicyFile> f = ReadPolicyFile("web.yaml");
//   if (!f.ok()) { /* "web.yaml:7: duplicate key "action" (first on line 5)" */ }
//   request.body = {{"document", f->document}};
//   int line = f->source.LineOf("/rules/3/paths/0");  // 12
//
// YAML is read with a deliberately small subset of its features, so that a
// file means the same thing to every reader:
//   - one document; mappings become objects, sequences arrays;
//   - plain scalars are typed like YAML 1.2's core schema, narrowed:
//     true/false (also True, TRUE...) -> bool; null, ~ or nothing -> null;
//     decimal integers ("-12", "+3") and 0x hex -> numbers (int64);
//     anything else, floats and "007" included, stays a string;
//   - quoted and block (| >) scalars, and !!str, are always strings;
//   - refused, with the line: duplicate keys, anchors, aliases, merge keys
//     (<<), tags other than !!str, keys that are not scalars, more than one
//     document, nesting deeper than kMaxPolicyDepth.
// JSON files are checked for duplicate keys and depth too (a silently
// dropped rule is worse than an error). Pure functions but ReadPolicyFile;
// no exceptions escape.
#pragma once

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "portcullis/common/status.h"

namespace portcullis::cli {

// The policy service's own document limit (libs/policy/document.h).
inline constexpr std::size_t kMaxPolicyFileBytes = 4 << 20;
// Objects and arrays inside one another, the document itself being level 1.
inline constexpr int kMaxPolicyDepth = 64;

enum class PolicyFormat { kJson, kYaml };

// Where the values of a document were written.
struct SourceMap {
  std::string file;                  // the name as given, for messages
  std::map<std::string, int> lines;  // JSON pointer (RFC 6901) -> 1-based line

  // The line of `pointer`, else of its nearest ancestor in the map; 0 when
  // neither is known. For a member of an object it is the line of its key.
  int LineOf(std::string_view pointer) const;
  // "web.yaml:12", or "web.yaml" when the line is unknown.
  std::string Where(std::string_view pointer) const;
};

struct PolicyFile {
  PolicyFormat format = PolicyFormat::kJson;
  nlohmann::ordered_json document;  // an object, keys in file order
  SourceMap source;
};

// .json -> JSON, .yaml/.yml -> YAML (case-insensitive); otherwise JSON when
// the first non-blank character is '{', else YAML.
PolicyFormat DetectPolicyFormat(std::string_view path, std::string_view text);

// Parses a whole file's text; `name` goes into messages and the SourceMap.
// InvalidArgument "name:LINE: what" for anything refused.
StatusOr<PolicyFile> ParsePolicyText(std::string_view text, std::string_view name,
                                     PolicyFormat format);

// Reads `path` (a regular file or a pipe, at most kMaxPolicyFileBytes),
// detects its format and parses it. InvalidArgument when it cannot be read
// or is refused.
StatusOr<PolicyFile> ReadPolicyFile(const std::string& path);

}  // namespace portcullis::cli
