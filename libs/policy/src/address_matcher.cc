#include "portcullis/policy/address_matcher.h"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace portcullis::policy {
namespace {

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// `text` for messages: at most 64 bytes, control bytes as '?'.
std::string Shown(std::string_view text) {
  std::string out(text.substr(0, 64));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  if (text.size() > 64) out += "...";
  return out;
}

Status Bad(std::string_view input, std::string_view problem) {
  return InvalidArgumentError(Shown(input) + ": " + std::string(problem));
}

// Parses a strict dotted quad into out[0..3]; `input` is for messages.
Status ParseV4(std::string_view s, std::string_view input, uint8_t* out) {
  int octet = 0;
  size_t i = 0;
  while (true) {
    if (octet == 4) return Bad(input, "expected 4 dot-separated octets");
    size_t j = i;
    while (j < s.size() && s[j] != '.')
      ++j;
    std::string_view part = s.substr(i, j - i);
    if (part.empty()) return Bad(input, "empty octet");
    for (char c : part) {
      if (!IsDigit(c)) return Bad(input, std::string("invalid character '") + c + "' in octet");
    }
    if (part.size() > 1 && part[0] == '0') {
      return Bad(input, "octet with a leading zero (ambiguous: octal or decimal?)");
    }
    if (part.size() > 3) return Bad(input, "octet out of range");
    int v = 0;
    for (char c : part)
      v = v * 10 + (c - '0');
    if (v > 255) return Bad(input, "octet out of range");
    out[octet++] = static_cast<uint8_t>(v);
    if (j == s.size()) break;
    i = j + 1;
  }
  if (octet != 4) return Bad(input, "expected 4 dot-separated octets");
  return OkStatus();
}

// Parses ':'-separated groups of `part` (no "::" inside) into groups[count..].
// A dotted quad is accepted as the last piece when `v4_tail_allowed`.
Status ParseGroups(std::string_view part, bool v4_tail_allowed, std::string_view input,
                   std::array<uint16_t, 8>& groups, int& count) {
  if (part.empty()) return OkStatus();
  size_t i = 0;
  while (true) {
    size_t j = part.find(':', i);
    const bool last = j == std::string_view::npos;
    if (last) j = part.size();
    std::string_view g = part.substr(i, j - i);
    if (g.empty()) return Bad(input, "empty group (a single ':' where '::' or a group belongs)");
    if (g.find('.') != std::string_view::npos) {
      if (!last || !v4_tail_allowed) {
        return Bad(input, "an embedded IPv4 address must be the last 32 bits");
      }
      if (count > 6) return Bad(input, "too many groups");
      uint8_t b[4];
      PORTCULLIS_RETURN_IF_ERROR(ParseV4(g, input, b));
      groups[count++] = static_cast<uint16_t>(b[0] << 8 | b[1]);
      groups[count++] = static_cast<uint16_t>(b[2] << 8 | b[3]);
      return OkStatus();
    }
    if (g.size() > 4) return Bad(input, "group of more than 4 hex digits");
    int v = 0;
    for (char c : g) {
      const int h = HexValue(c);
      if (h < 0) return Bad(input, std::string("invalid character '") + c + "' in IPv6 group");
      v = v * 16 + h;
    }
    if (count >= 8) return Bad(input, "too many groups");
    groups[count++] = static_cast<uint16_t>(v);
    if (last) return OkStatus();
    i = j + 1;
  }
}

Status ParseV6(std::string_view s, std::string_view input, std::array<uint8_t, 16>& out) {
  if (s.find('%') != std::string_view::npos) {
    return Bad(input, "IPv6 zone index ('%...') not allowed in a policy");
  }
  std::array<uint16_t, 8> head{};
  std::array<uint16_t, 8> tail{};
  int head_count = 0;
  int tail_count = 0;
  const size_t gap = s.find("::");
  if (gap == std::string_view::npos) {
    PORTCULLIS_RETURN_IF_ERROR(ParseGroups(s, true, input, head, head_count));
    if (head_count != 8) return Bad(input, "expected 8 groups (or '::')");
  } else {
    if (s.find("::", gap + 1) != std::string_view::npos) {
      return Bad(input, "more than one '::'");
    }
    PORTCULLIS_RETURN_IF_ERROR(ParseGroups(s.substr(0, gap), false, input, head, head_count));
    PORTCULLIS_RETURN_IF_ERROR(ParseGroups(s.substr(gap + 2), true, input, tail, tail_count));
    if (head_count + tail_count > 7) return Bad(input, "too many groups for '::'");
  }
  std::array<uint16_t, 8> groups{};
  for (int k = 0; k < head_count; ++k)
    groups[k] = head[k];
  for (int k = 0; k < tail_count; ++k)
    groups[8 - tail_count + k] = tail[k];
  for (int k = 0; k < 8; ++k) {
    out[2 * k] = static_cast<uint8_t>(groups[k] >> 8);
    out[2 * k + 1] = static_cast<uint8_t>(groups[k] & 0xff);
  }
  return OkStatus();
}

StatusOr<IpAddress> ParseAddress(std::string_view s, std::string_view input) {
  if (s.empty()) return Bad(input, "empty address");
  if (s.find(':') != std::string_view::npos) {
    std::array<uint8_t, 16> b{};
    PORTCULLIS_RETURN_IF_ERROR(ParseV6(s, input, b));
    return IpAddress::V6(b);
  }
  uint8_t b[4];
  PORTCULLIS_RETURN_IF_ERROR(ParseV4(s, input, b));
  return IpAddress::V4(uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3]);
}

// Parses 1..5 decimal digits into a value <= 65535; `what` names it.
Status ParsePort(std::string_view s, std::string_view input, uint16_t& out) {
  if (s.empty()) return Bad(input, "missing port number");
  for (char c : s) {
    if (!IsDigit(c)) return Bad(input, std::string("invalid character '") + c + "' in port");
  }
  if (s.size() > 5) return Bad(input, "port out of range (max 65535)");
  uint32_t v = 0;
  for (char c : s)
    v = v * 10 + static_cast<uint32_t>(c - '0');
  if (v > 65535) return Bad(input, "port " + std::to_string(v) + " out of range (max 65535)");
  out = static_cast<uint16_t>(v);
  return OkStatus();
}

// True if every bit of `ip` from `prefix` on is zero.
bool HostBitsZero(const IpAddress& ip, int prefix) {
  for (int i = prefix; i < ip.bit_length(); ++i) {
    if (ip.Bit(i)) return false;
  }
  return true;
}

IpAddress Masked(const IpAddress& ip, int prefix) {
  std::array<uint8_t, 16> b = ip.bytes();
  for (int i = prefix; i < ip.bit_length(); ++i) {
    b[i / 8] = static_cast<uint8_t>(b[i / 8] & ~(1u << (7 - i % 8)));
  }
  if (ip.family() == IpFamily::kV6) return IpAddress::V6(b);
  return IpAddress::V4(uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3]);
}

Status CheckRule(uint32_t rule) {
  if (rule >= kMaxRules) {
    return InvalidArgumentError("rule index " + std::to_string(rule) + " out of range (max " +
                                std::to_string(kMaxRules - 1) + ")");
  }
  return OkStatus();
}

}  // namespace

StatusOr<IpAddress> IpAddress::Parse(std::string_view text) {
  return ParseAddress(text, text);
}

bool IpAddress::IsV4Mapped() const {
  if (family_ != IpFamily::kV6) return false;
  for (int i = 0; i < 10; ++i) {
    if (bytes_[i] != 0) return false;
  }
  return bytes_[10] == 0xff && bytes_[11] == 0xff;
}

IpAddress IpAddress::Unmapped() const {
  if (!IsV4Mapped()) return *this;
  return V4(uint32_t{bytes_[12]} << 24 | uint32_t{bytes_[13]} << 16 | uint32_t{bytes_[14]} << 8 |
            bytes_[15]);
}

std::string IpAddress::ToString() const {
  if (family_ == IpFamily::kV4) {
    return std::to_string(bytes_[0]) + "." + std::to_string(bytes_[1]) + "." +
           std::to_string(bytes_[2]) + "." + std::to_string(bytes_[3]);
  }
  uint16_t g[8];
  for (int k = 0; k < 8; ++k)
    g[k] = static_cast<uint16_t>(bytes_[2 * k] << 8 | bytes_[2 * k + 1]);
  // The longest run of two or more zero groups (the first if tied) becomes "::".
  int best = -1;
  int best_len = 1;
  for (int k = 0; k < 8;) {
    if (g[k] != 0) {
      ++k;
      continue;
    }
    int e = k;
    while (e < 8 && g[e] == 0)
      ++e;
    if (e - k > best_len) {
      best = k;
      best_len = e - k;
    }
    k = e;
  }
  std::string out;
  char buf[8];
  for (int k = 0; k < 8; ++k) {
    if (k == best) {
      out += "::";
      k += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    std::snprintf(buf, sizeof buf, "%x", g[k]);
    out += buf;
  }
  return out;
}

StatusOr<Cidr> Cidr::Parse(std::string_view text) {
  const size_t slash = text.find('/');
  StatusOr<IpAddress> addr = ParseAddress(text.substr(0, slash), text);
  if (!addr.ok()) return addr.status();
  const int max = addr->bit_length();
  int prefix = max;
  if (slash != std::string_view::npos) {
    std::string_view p = text.substr(slash + 1);
    if (p.empty()) return Bad(text, "missing prefix length after '/'");
    for (char c : p) {
      if (!IsDigit(c)) {
        return Bad(text, std::string("invalid character '") + c + "' in prefix length");
      }
    }
    if (p.size() > 3) return Bad(text, "prefix length too long");
    prefix = 0;
    for (char c : p)
      prefix = prefix * 10 + (c - '0');
    if (prefix > max) {
      return Bad(text, "prefix length " + std::to_string(prefix) + " too long for " +
                           (max == 32 ? "IPv4 (max 32)" : "IPv6 (max 128)"));
    }
  }
  if (!HostBitsZero(*addr, prefix)) {
    Cidr suggestion{Masked(*addr, prefix), prefix};
    return Bad(text, "host bits set (did you mean " + suggestion.ToString() + "?)");
  }
  if (addr->IsV4Mapped() && prefix >= 96) return Cidr{addr->Unmapped(), prefix - 96};
  return Cidr{*addr, prefix};
}

bool Cidr::Contains(const IpAddress& ip) const {
  const IpAddress a = ip.Unmapped();
  if (a.family() != network.family()) return false;
  for (int i = 0; i < prefix_length; ++i) {
    if (a.Bit(i) != network.Bit(i)) return false;
  }
  return true;
}

std::string Cidr::ToString() const {
  return network.ToString() + "/" + std::to_string(prefix_length);
}

StatusOr<PortRange> PortRange::Parse(std::string_view text) {
  const size_t dash = text.find('-');
  PortRange r;
  if (dash == std::string_view::npos) {
    PORTCULLIS_RETURN_IF_ERROR(ParsePort(text, text, r.lo));
    r.hi = r.lo;
    return r;
  }
  PORTCULLIS_RETURN_IF_ERROR(ParsePort(text.substr(0, dash), text, r.lo));
  PORTCULLIS_RETURN_IF_ERROR(ParsePort(text.substr(dash + 1), text, r.hi));
  if (r.lo > r.hi) return Bad(text, "reversed range (write the low port first)");
  return r;
}

AddressMatcher::AddressMatcher() : nodes_(2) {}

void AddressMatcher::Match(const IpAddress& ip, RuleBits& out) const {
  const IpAddress a = ip.Unmapped();
  uint32_t index = a.family() == IpFamily::kV4 ? kV4Root : kV6Root;
  const int bits = a.bit_length();
  for (int i = 0;; ++i) {
    const Node& node = nodes_[index];
    for (uint32_t r = node.rules_begin; r < node.rules_end; ++r)
      out.Set(rules_[r]);
    if (i == bits) return;
    index = node.child[a.Bit(i)];
    if (index == 0) return;
  }
}

AddressMatcher::Builder::Builder() : nodes_(2) {}

Status AddressMatcher::Builder::Add(const Cidr& cidr, uint32_t rule) {
  PORTCULLIS_RETURN_IF_ERROR(CheckRule(rule));
  const IpAddress& net = cidr.network;
  if (cidr.prefix_length < 0 || cidr.prefix_length > net.bit_length() ||
      !HostBitsZero(net, cidr.prefix_length)) {
    return InvalidArgumentError("invalid CIDR " + cidr.ToString());
  }
  uint32_t index = net.family() == IpFamily::kV4 ? kV4Root : kV6Root;
  for (int i = 0; i < cidr.prefix_length; ++i) {
    const int bit = net.Bit(i);
    if (nodes_[index].child[bit] == 0) {
      nodes_[index].child[bit] = static_cast<uint32_t>(nodes_.size());
      nodes_.emplace_back();
    }
    index = nodes_[index].child[bit];
  }
  nodes_[index].rules.push_back(rule);
  return OkStatus();
}

AddressMatcher AddressMatcher::Builder::Build() && {
  AddressMatcher m;
  m.nodes_.resize(nodes_.size());
  for (size_t k = 0; k < nodes_.size(); ++k) {
    std::vector<uint32_t>& rules = nodes_[k].rules;
    std::sort(rules.begin(), rules.end());
    rules.erase(std::unique(rules.begin(), rules.end()), rules.end());
    AddressMatcher::Node& n = m.nodes_[k];
    n.child[0] = nodes_[k].child[0];
    n.child[1] = nodes_[k].child[1];
    n.rules_begin = static_cast<uint32_t>(m.rules_.size());
    m.rules_.insert(m.rules_.end(), rules.begin(), rules.end());
    n.rules_end = static_cast<uint32_t>(m.rules_.size());
  }
  return m;
}

}  // namespace portcullis::policy
