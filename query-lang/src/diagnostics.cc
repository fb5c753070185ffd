#include "portcullis/qql/diagnostics.h"

#include <algorithm>
#include <limits>

#include "utf8.h"

namespace portcullis::qql {
namespace {

// A line is shown from at most this many code points before the caret...
constexpr std::size_t kContextBefore = 40;
// ...once the caret is further right than this...
constexpr std::size_t kCutAfter = 60;
// ...and is at most this wide.
constexpr std::size_t kWindowWidth = 100;
constexpr std::size_t kQuotedWidth = 40;
// Longer words are not typos of a field or a command.
constexpr std::size_t kMaxSuggestLength = 64;

// One displayed character: where it starts in the query and how it is shown.
struct Unit {
  std::size_t begin;
  std::string_view shown;
};

// Splits s into display units; control characters and invalid UTF-8 become '?'
// and a tab becomes one space, so one unit is one column.
std::vector<Unit> Units(std::string_view s, std::size_t from, std::size_t to) {
  std::vector<Unit> units;
  std::size_t i = from;
  while (i < to) {
    std::size_t n = internal::Utf8SequenceLength(s, i);
    if (n == 0 || i + n > to) {
      units.push_back({i, "?"});
      ++i;
      continue;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (n == 1 && c == '\t') {
      units.push_back({i, " "});
    } else if (n == 1 && (c < 0x20 || c == 0x7F)) {
      units.push_back({i, "?"});
    } else {
      units.push_back({i, s.substr(i, n)});
    }
    i += n;
  }
  return units;
}

char Lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Optimal string alignment distance, ASCII case ignored.
std::size_t EditDistance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  std::vector<std::size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (std::size_t j = 0; j <= m; ++j)
    prev[j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = Lower(a[i - 1]) == Lower(b[j - 1]) ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && Lower(a[i - 1]) == Lower(b[j - 2]) &&
          Lower(a[i - 2]) == Lower(b[j - 1])) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
    }
    prev2.swap(prev);
    prev.swap(cur);
  }
  return prev[m];
}

}  // namespace

std::string RenderDiagnostic(std::string_view query, const Diagnostic& diagnostic) {
  const std::size_t offset = std::min(diagnostic.offset, query.size());
  std::size_t line_start = 0;
  if (offset > 0) {
    std::size_t nl = query.rfind('\n', offset - 1);
    if (nl != std::string_view::npos) line_start = nl + 1;
  }
  const std::size_t line_number =
      1 + static_cast<std::size_t>(std::count(query.begin(), query.begin() + line_start, '\n'));
  std::size_t line_end = query.find('\n', line_start);
  if (line_end == std::string_view::npos) line_end = query.size();
  if (line_end > line_start && query[line_end - 1] == '\r' && offset < line_end) --line_end;

  const std::vector<Unit> units = Units(query, line_start, line_end);
  std::size_t caret = 0;  // the unit the caret is under
  while (caret < units.size() && units[caret].begin < offset)
    ++caret;
  // An offset inside a multi-byte sequence points at that sequence.
  if (caret > 0 && caret <= units.size() && units[caret - 1].begin < offset &&
      (caret == units.size() ? line_end : units[caret].begin) > offset) {
    --caret;
  }

  std::size_t first = 0;
  if (caret > kCutAfter) first = caret - kContextBefore;
  const std::size_t last = std::min(units.size(), first + kWindowWidth);
  std::string shown = first > 0 ? "..." : "";
  const std::size_t pad = shown.size() + (caret - first);
  for (std::size_t u = first; u < last; ++u)
    shown += units[u].shown;
  if (last < units.size()) shown += "...";

  std::string out = std::to_string(line_number) + ":" + std::to_string(caret + 1) + ": ";
  out += diagnostic.message;
  out += "\n  ";
  out += shown;
  out += "\n  ";
  out.append(pad, ' ');
  out += '^';
  return out;
}

Status DiagnosticsError(std::string_view query, const std::vector<Diagnostic>& diagnostics) {
  if (diagnostics.empty()) Fatal("DiagnosticsError without a diagnostic");
  std::string message;
  for (const Diagnostic& d : diagnostics) {
    if (!message.empty()) message += '\n';
    message += RenderDiagnostic(query, d);
  }
  return InvalidArgumentError(std::move(message));
}

Status ErrorAt(std::string_view query, std::size_t offset, std::string message) {
  return DiagnosticsError(query, {Diagnostic{offset, std::move(message)}});
}

std::string Quoted(std::string_view text) {
  const std::vector<Unit> units = Units(text, 0, text.size());
  std::string out = "'";
  for (std::size_t u = 0; u < units.size() && u < kQuotedWidth; ++u)
    out += units[u].shown;
  if (units.size() > kQuotedWidth) out += "...";
  out += '\'';
  return out;
}

std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string_view>& candidates) {
  if (word.empty() || word.size() > kMaxSuggestLength) return std::nullopt;
  const std::size_t allowed = std::max<std::size_t>(1, word.size() / 3);
  std::size_t best = std::numeric_limits<std::size_t>::max();
  std::string_view best_candidate;
  for (std::string_view c : candidates) {
    if (c.size() > word.size() + allowed || word.size() > c.size() + allowed) continue;
    const std::size_t d = EditDistance(word, c);
    if (d < best) {
      best = d;
      best_candidate = c;
    }
  }
  if (best > allowed) return std::nullopt;
  return std::string(best_candidate);
}

}  // namespace portcullis::qql
