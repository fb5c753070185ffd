// Network rule matching: IP addresses, CIDR blocks, port ranges, and the
// AddressMatcher that finds every network rule whose CIDR contains an address.
// Built once when a policy is loaded, then immutable; the agent calls Match on
// every intercepted connect/accept/bind without allocating or locking.
//
//   AddressMatcher::Builder b;
//   StatusOr<Cidr> net = Cidr::Parse("10.0.0.0/8");   // or "2001:db8::/32", "10.1.2.3"
//   if (!net.ok()) return net.status();                // "10.0.0.256/8: octet out of range"
//   PORTCULLIS_RETURN_IF_ERROR(b.Add(*net, 0));        // rule 0
//   AddressMatcher m = std::move(b).Build();
//   RuleBits bits;
//   m.Match(*IpAddress::Parse("::ffff:10.1.2.3"), bits);  // bits = {0}
//
// Decisions:
// - A bare address is a host route: /32 for IPv4, /128 for IPv6.
// - Host bits set ("10.0.0.1/8") are an error, with the network suggested:
//   in a security policy such a typo usually hides a wrong intent.
// - IPv4-mapped IPv6 addresses (::ffff:a.b.c.d), which the agent sees on
//   dual-stack IPv6 sockets, are IPv4 addresses: Match looks them up as IPv4,
//   so ::ffff:10.0.0.1 matches 10.0.0.0/8, and a CIDR written inside the mapped
//   space with prefix >= 96 (::ffff:10.0.0.0/104) is parsed as its IPv4 form
//   (10.0.0.0/8). Consequently IPv6 blocks such as ::/0 do not match mapped
//   addresses: they are IPv4 hosts.
// - IPv4 is strict dotted-quad (no leading zeros, which inet_aton would read
//   as octal); IPv6 zone indexes ("%eth0") are rejected.
// - Port 0 is allowed: bind(port 0) asks the kernel for an ephemeral port, and
//   a listen rule must be able to name it.
//
// Cost of Match: a walk of a binary trie (one per family) over the address
// bits, at most 32 or 128 steps whatever the number of entries, ORing the
// rules stored on the nodes passed.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "portcullis/common/status.h"
#include "portcullis/policy/rule_bits.h"

namespace portcullis::policy {

enum class IpFamily : uint8_t { kV4, kV6 };

// An IPv4 or IPv6 address; IPv4 uses the first 4 bytes (network order).
class IpAddress {
 public:
  constexpr IpAddress() = default;  // 0.0.0.0

  // "10.0.0.1", "2001:db8::1", "::ffff:10.0.0.1". Errors name the input.
  static StatusOr<IpAddress> Parse(std::string_view text);

  // `addr` in host byte order (0x0a000001 is 10.0.0.1).
  static constexpr IpAddress V4(uint32_t addr) {
    IpAddress ip;
    ip.family_ = IpFamily::kV4;
    for (int i = 0; i < 4; ++i)
      ip.bytes_[i] = static_cast<uint8_t>(addr >> (24 - 8 * i));
    return ip;
  }
  // Network byte order, as in struct in6_addr.
  static constexpr IpAddress V6(const std::array<uint8_t, 16>& bytes) {
    IpAddress ip;
    ip.family_ = IpFamily::kV6;
    ip.bytes_ = bytes;
    return ip;
  }

  IpFamily family() const { return family_; }
  int bit_length() const { return family_ == IpFamily::kV4 ? 32 : 128; }
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }
  // Bit `i` counted from the most significant bit of the first byte.
  bool Bit(int i) const { return (bytes_[i / 8] >> (7 - i % 8)) & 1u; }

  // ::ffff:a.b.c.d
  bool IsV4Mapped() const;
  // The IPv4 address for an IPv4-mapped one, else the address itself.
  IpAddress Unmapped() const;

  // Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest run of
  // zero groups as "::").
  std::string ToString() const;

  friend bool operator==(const IpAddress& a, const IpAddress& b) = default;

 private:
  IpFamily family_ = IpFamily::kV4;
  std::array<uint8_t, 16> bytes_{};
};

// A network: address plus prefix length, host bits all zero.
struct Cidr {
  IpAddress network;
  int prefix_length = 0;

  // "10.0.0.0/8", "2001:db8::/32", "10.1.2.3" (= /32), "::1" (= /128).
  static StatusOr<Cidr> Parse(std::string_view text);

  bool Contains(const IpAddress& ip) const;  // unmaps ip first, like Match
  std::string ToString() const;

  friend bool operator==(const Cidr& a, const Cidr& b) = default;
};

// An inclusive port range, 0..65535.
struct PortRange {
  uint16_t lo = 0;
  uint16_t hi = 65535;

  // "443" or "8000-8999" (no spaces, lo <= hi, each <= 65535, 0 allowed).
  static StatusOr<PortRange> Parse(std::string_view text);
  static constexpr PortRange Any() { return {0, 65535}; }

  constexpr bool Contains(uint16_t port) const { return lo <= port && port <= hi; }

  friend bool operator==(const PortRange& a, const PortRange& b) = default;
};

class AddressMatcher {
 public:
  class Builder;

  AddressMatcher();  // matches nothing

  // ORs into `out` the rule index of every entry whose CIDR contains `ip`
  // (IPv4-mapped addresses are looked up as IPv4).
  void Match(const IpAddress& ip, RuleBits& out) const;

 private:
  struct Node {
    uint32_t child[2] = {0, 0};  // 0: none (the roots are never children)
    uint32_t rules_begin = 0;
    uint32_t rules_end = 0;
  };
  static constexpr uint32_t kV4Root = 0;
  static constexpr uint32_t kV6Root = 1;

  std::vector<Node> nodes_;
  std::vector<uint32_t> rules_;
};

// Collects entries; not thread-safe. Build() consumes it.
class AddressMatcher::Builder {
 public:
  Builder();
  // InvalidArgument if rule >= kMaxRules.
  Status Add(const Cidr& cidr, uint32_t rule);
  AddressMatcher Build() &&;

 private:
  struct Node {
    uint32_t child[2] = {0, 0};
    std::vector<uint32_t> rules;
  };
  std::vector<Node> nodes_;
};

}  // namespace portcullis::policy
