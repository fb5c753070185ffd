#include "portcullis/policy/glob.h"

#include <cstdio>
#include <utility>

namespace portcullis::policy {
namespace {

constexpr size_t kNone = static_cast<size_t>(-1);

// The pattern as it can be shown in a message: at most 80 bytes, control
// bytes (NUL included) as \xNN.
std::string Printable(std::string_view pattern) {
  std::string out;
  const size_t shown = pattern.size() > 80 ? 80 : pattern.size();
  for (size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<unsigned char>(pattern[i]);
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (shown < pattern.size()) out += "...";
  return out;
}

Status Error(std::string_view pattern, std::string_view what, size_t offset) {
  std::string m = "glob \"" + Printable(pattern) + "\": " + std::string(what) + " at offset " +
                  std::to_string(offset);
  return InvalidArgumentError(std::move(m));
}

}  // namespace

StatusOr<Glob> Glob::Compile(std::string_view p) {
  if (p.empty()) return InvalidArgumentError("glob pattern is empty");
  if (p.size() > kMaxPatternLength) {
    return InvalidArgumentError("glob \"" + Printable(p) + "\": pattern is " +
                                std::to_string(p.size()) + " bytes long, the maximum is " +
                                std::to_string(kMaxPatternLength));
  }
  if (size_t nul = p.find('\0'); nul != std::string_view::npos) {
    return Error(p, "NUL byte", nul);
  }

  Glob g;
  g.pattern_ = std::string(p);
  const size_t n = p.size();

  // Reads one possibly escaped class member at p[i], advancing i.
  auto read_class_char = [&](size_t& i, unsigned char& out) -> Status {
    if (p[i] == '\\') {
      if (i + 1 >= n) return Error(p, "'\\' at the end of the pattern escapes nothing", i);
      ++i;
    }
    if (p[i] == '/') {
      return Error(p, "'/' in a character class (a class never matches '/')", i);
    }
    out = static_cast<unsigned char>(p[i]);
    ++i;
    return OkStatus();
  };

  for (size_t i = 0; i < n;) {
    const char c = p[i];
    if (c == '*') {
      size_t j = i;
      while (j < n && p[j] == '*')
        ++j;
      if (j - i == 1) {
        g.tokens_.push_back({Op::kStar, 0});
        i = j;
        continue;
      }
      const bool starts_segment = i == 0 || p[i - 1] == '/';
      const bool ends_segment = j == n || p[j] == '/';
      if (j - i != 2 || !starts_segment || !ends_segment) {
        return Error(p,
                     "'" + std::string(j - i, '*') +
                         "' is not allowed here: '**' must be a whole path segment, as in "
                         "\"/a/**\" or \"/a/**/b\"; use '*' to match within a segment",
                     i);
      }
      if (j == n) {
        g.tokens_.push_back({Op::kStarStarEnd, 0});
        i = j;
      } else {
        g.tokens_.push_back({Op::kStarStarSlash, 0});
        i = j + 1;  // the '/' belongs to the token
      }
    } else if (c == '?') {
      g.tokens_.push_back({Op::kAnyChar, 0});
      ++i;
    } else if (c == '\\') {
      if (i + 1 >= n) {
        return Error(p, "'\\' at the end of the pattern escapes nothing (write '\\\\')", i);
      }
      g.tokens_.push_back({Op::kLiteral, static_cast<unsigned char>(p[i + 1])});
      i += 2;
    } else if (c == '[') {
      const size_t open = i;
      ++i;
      bool negate = false;
      if (i < n && p[i] == '!') {
        negate = true;
        ++i;
      }
      CharSet set{};
      auto add = [&set](unsigned b) { set[b / 64] |= uint64_t{1} << (b % 64); };
      bool first = true;
      while (true) {
        if (i >= n) {
          return Error(p, "unterminated character class (add a closing ']') opened", open);
        }
        if (p[i] == ']' && !first) {
          ++i;
          break;
        }
        first = false;
        const size_t lo_at = i;
        unsigned char lo = 0;
        PORTCULLIS_RETURN_IF_ERROR(read_class_char(i, lo));
        if (i + 1 < n && p[i] == '-' && p[i + 1] != ']') {
          ++i;
          unsigned char hi = 0;
          PORTCULLIS_RETURN_IF_ERROR(read_class_char(i, hi));
          if (hi < lo) {
            return Error(p, "reversed range in character class (write the low end first)", lo_at);
          }
          for (unsigned b = lo; b <= hi; ++b)
            add(b);
        } else {
          add(lo);
        }
      }
      if (negate) {
        for (uint64_t& w : set)
          w = ~w;
      }
      set['/' / 64] &= ~(uint64_t{1} << ('/' % 64));  // a range such as "[!a]" or "[+-0]"
      g.tokens_.push_back({Op::kClass, static_cast<uint16_t>(g.classes_.size())});
      g.classes_.push_back(set);
    } else {
      g.tokens_.push_back({Op::kLiteral, static_cast<unsigned char>(c)});
      ++i;
    }
  }
  return g;
}

bool Glob::TokenMatches(const Token& t, char c) const {
  switch (t.op) {
    case Op::kLiteral:
      return static_cast<unsigned char>(c) == t.arg;
    case Op::kAnyChar:
      return c != '/';
    case Op::kClass: {
      const auto b = static_cast<unsigned char>(c);
      return (classes_[t.arg][b / 64] >> (b % 64)) & 1u;
    }
    case Op::kStar:
    case Op::kStarStarSlash:
    case Op::kStarStarEnd:
      break;
  }
  return false;
}

// Two pointers over pattern (px) and path (nx), with two restart points:
//  - the latest '*': on a mismatch it swallows one more byte, unless that byte
//    is '/' or the path is exhausted; an earlier '*' could not do better, as
//    it is confined to its own segment or precedes the latest one in it.
//  - the latest "**/": when the '*' cannot help, it swallows one more whole
//    segment (up to the next '/'); being able to absorb anything that ends in
//    '/', it makes every earlier restart point useless, so it forgets them.
// Each restart strictly advances its restart position, hence no exponential
// blow-up.
bool Glob::Matches(std::string_view path) const {
  const size_t m = tokens_.size();
  const size_t n = path.size();
  size_t px = 0;
  size_t nx = 0;
  size_t star_px = kNone;
  size_t star_nx = 0;
  size_t dstar_px = kNone;
  size_t dstar_nx = 0;
  while (px < m || nx < n) {
    if (px < m) {
      const Token& t = tokens_[px];
      if (t.op == Op::kStar) {
        star_px = px;
        star_nx = nx;
        ++px;
        continue;
      }
      if (t.op == Op::kStarStarEnd) return true;  // always the last token
      if (t.op == Op::kStarStarSlash) {
        dstar_px = px;
        dstar_nx = nx;
        star_px = kNone;
        ++px;
        continue;
      }
      if (nx < n && TokenMatches(t, path[nx])) {
        ++px;
        ++nx;
        continue;
      }
    }
    if (star_px != kNone && star_nx < n && path[star_nx] != '/') {
      ++star_nx;
      px = star_px + 1;
      nx = star_nx;
      continue;
    }
    if (dstar_px != kNone) {
      const size_t slash = path.find('/', dstar_nx);
      if (slash == std::string_view::npos) return false;
      dstar_nx = slash + 1;
      px = dstar_px + 1;
      nx = dstar_nx;
      star_px = kNone;
      continue;
    }
    return false;
  }
  return true;
}

std::string GlobLiteralPrefix(std::string_view pattern) {
  std::string prefix;
  std::string_view rest = pattern;
  while (!rest.empty() && rest.front() == '/') {
    rest.remove_prefix(1);
    std::size_t end = rest.find('/');
    if (end == std::string_view::npos) break;  // the last segment is the glob's
    std::string_view seg = rest.substr(0, end);
    if (seg.empty() || seg.find_first_of("*?[\\") != std::string_view::npos) break;
    prefix += '/';
    prefix += seg;
    rest.remove_prefix(end);
  }
  return prefix;
}

}  // namespace portcullis::policy
