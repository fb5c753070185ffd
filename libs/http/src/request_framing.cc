#include "request_framing.h"

#include <algorithm>
#include <cctype>

#include "portcullis/common/strings.h"

namespace portcullis::http::internal {
namespace {

// RFC 9110 token characters, the only ones a header name may have.
bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<Rejection> RequestFraming::EndOfHead() {
  std::optional<std::size_t> length;
  std::string_view head(head_);
  std::size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    std::size_t end = head.find("\r\n", pos + 2);
    if (end == std::string_view::npos) end = head.size();
    std::string_view line = head.substr(pos + 2, end - pos - 2);
    pos = end;
    if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      return Rejection{400, "invalid_argument", "folded header lines are not accepted"};
    }
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // Pistache reports malformed lines
    // The name exactly as Pistache will read it: a token, no surrounding
    // space. "Content-Length :" must not be a length to us and not to it.
    std::string_view raw_name = line.substr(0, colon);
    if (raw_name.empty() || !std::all_of(raw_name.begin(), raw_name.end(), IsTokenChar)) {
      return Rejection{400, "invalid_argument", "malformed header name"};
    }
    std::string name = AsciiLower(raw_name);
    std::string_view value = Trim(line.substr(colon + 1));
    if (name == "transfer-encoding") {
      return Rejection{411, "length_required",
                       "request bodies must have a Content-Length (Transfer-Encoding is not "
                       "accepted)"};
    }
    if (name == "content-length") {
      if (value.empty() || value.size() > 18 ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return Rejection{400, "invalid_argument", "malformed Content-Length"};
      }
      std::size_t n = std::stoull(std::string(value));
      if (length && *length != n) {
        return Rejection{400, "invalid_argument", "conflicting Content-Length headers"};
      }
      length = n;
    }
  }
  std::size_t body = length.value_or(0);
  if (body > max_body_) {
    return Rejection{413, "payload_too_large",
                     "request body of " + std::to_string(body) + " bytes exceeds the limit of " +
                         std::to_string(max_body_)};
  }
  head_.clear();
  body_left_ = body;
  in_body_ = body > 0;
  return std::nullopt;
}

std::optional<Rejection> RequestFraming::Feed(std::string_view bytes,
                                              std::vector<std::size_t>* request_ends) {
  if (rejected_) return rejected_;
  const std::size_t total = bytes.size();
  auto ended = [&] {
    if (request_ends != nullptr) request_ends->push_back(total - bytes.size());
  };
  while (!bytes.empty()) {
    if (in_body_) {
      std::size_t n = std::min(body_left_, bytes.size());
      body_left_ -= n;
      bytes.remove_prefix(n);
      if (body_left_ == 0) {
        in_body_ = false;
        ended();
      }
      continue;
    }
    // Head: copy up to and including the blank line, if it is in this chunk.
    std::size_t already = head_.size();
    head_.append(bytes.data(),
                 std::min(bytes.size(), max_head_ + 4 - std::min(already, max_head_)));
    std::size_t search_from = already >= 3 ? already - 3 : 0;
    std::size_t end = head_.find("\r\n\r\n", search_from);
    if (end == std::string::npos) {
      if (head_.size() > max_head_) {
        rejected_ = Rejection{431, "headers_too_large",
                              "request head larger than " + std::to_string(max_head_) + " bytes"};
        return rejected_;
      }
      bytes = {};
      continue;
    }
    std::size_t used = end + 4 - already;
    head_.resize(end + 4);
    bytes.remove_prefix(used);
    if (auto r = EndOfHead()) {
      rejected_ = r;
      return rejected_;
    }
    if (!in_body_) ended();
  }
  return std::nullopt;
}

}  // namespace portcullis::http::internal
