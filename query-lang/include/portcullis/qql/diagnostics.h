// Diagnostics of the QQL stages: a message and the byte offset in the query it
// is about, rendered for a person as "line:column: message", the line, and a
// caret under the column:
//
//   1:14: expected a value after ':'
//     process.name:
//                  ^
//
// Every stage reports through these, so every error a caller sees has the same
// shape. The rendered text never holds a control character or invalid UTF-8
// (both are shown as '?'), so it can go into a JSON error body as it is.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "portcullis/common/status.h"

namespace portcullis::qql {

struct Diagnostic {
  std::size_t offset = 0;  // byte offset into the query; == size() means "at the end"
  std::string message;
};

// "L:C: message\n  <line>\n  <caret line>". Lines and columns count from 1;
// columns count code points. A long line is cut to a window around the
// column, with "..." where it was cut.
std::string RenderDiagnostic(std::string_view query, const Diagnostic& diagnostic);

// InvalidArgument whose message is every diagnostic rendered, in order,
// separated by a newline. `diagnostics` must not be empty.
Status DiagnosticsError(std::string_view query, const std::vector<Diagnostic>& diagnostics);

// InvalidArgument for one diagnostic.
Status ErrorAt(std::string_view query, std::size_t offset, std::string message);

// User text for a message: in single quotes, at most 40 code points (then
// "..."), control characters and invalid UTF-8 as '?'.
std::string Quoted(std::string_view text);

// The candidate closest to `word` by edit distance (insertions, deletions,
// substitutions and adjacent transpositions, ASCII case ignored), if it is
// close enough to be a plausible typo: at most one edit per three characters
// of the word, and at least one.
std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string_view>& candidates);

}  // namespace portcullis::qql
