#include "portcullis/policy/address_matcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace portcullis::policy {
namespace {

using ::testing::HasSubstr;

IpAddress Ip(std::string_view text) {
  StatusOr<IpAddress> ip = IpAddress::Parse(text);
  EXPECT_TRUE(ip.ok()) << text << ": " << ip.status();
  return ip.ok() ? *ip : IpAddress();
}

Cidr Net(std::string_view text) {
  StatusOr<Cidr> c = Cidr::Parse(text);
  EXPECT_TRUE(c.ok()) << text << ": " << c.status();
  return c.ok() ? *c : Cidr();
}

std::vector<uint32_t> Rules(const RuleBits& b) {
  std::vector<uint32_t> out;
  for (uint32_t r = 0; r < kMaxRules; ++r) {
    if (b.Test(r)) out.push_back(r);
  }
  return out;
}

TEST(IpAddressTest, ParseAndPrintTable) {
  struct Case {
    std::string text, canonical;
    IpFamily family;
  };
  const std::vector<Case> cases = {
      {"0.0.0.0", "0.0.0.0", IpFamily::kV4},
      {"10.0.0.1", "10.0.0.1", IpFamily::kV4},
      {"255.255.255.255", "255.255.255.255", IpFamily::kV4},
      {"::", "::", IpFamily::kV6},
      {"::1", "::1", IpFamily::kV6},
      {"2001:DB8::1", "2001:db8::1", IpFamily::kV6},
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1", IpFamily::kV6},
      {"fe80::", "fe80::", IpFamily::kV6},
      {"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8", IpFamily::kV6},
      {"1:0:3:4:5:6:7:8", "1:0:3:4:5:6:7:8", IpFamily::kV6},
      {"::ffff:10.0.0.1", "::ffff:a00:1", IpFamily::kV6},
      {"1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304", IpFamily::kV6},
  };
  for (const Case& c : cases) {
    IpAddress ip = Ip(c.text);
    EXPECT_EQ(ip.family(), c.family) << c.text;
    EXPECT_EQ(ip.ToString(), c.canonical) << c.text;
  }
  EXPECT_EQ(Ip("10.1.2.3"), IpAddress::V4(0x0a010203));
}

TEST(IpAddressTest, Mapped) {
  EXPECT_TRUE(Ip("::ffff:10.0.0.1").IsV4Mapped());
  EXPECT_EQ(Ip("::ffff:10.0.0.1").Unmapped(), Ip("10.0.0.1"));
  EXPECT_FALSE(Ip("::10.0.0.1").IsV4Mapped());  // deprecated IPv4-compatible: plain IPv6
  EXPECT_FALSE(Ip("10.0.0.1").IsV4Mapped());
  EXPECT_EQ(Ip("2001:db8::1").Unmapped(), Ip("2001:db8::1"));
}

struct ErrorCase {
  std::string text;
  std::string message;  // exact
};

TEST(CidrTest, ParseErrorTable) {
  const std::vector<ErrorCase> cases = {
      {"10.0.0.256/8", "10.0.0.256/8: octet out of range"},
      {"10.0.0.1000", "10.0.0.1000: octet out of range"},
      {"10.0.0/8", "10.0.0/8: expected 4 dot-separated octets"},
      {"10.0.0.0.0", "10.0.0.0.0: expected 4 dot-separated octets"},
      {"10..0.0", "10..0.0: empty octet"},
      {"10.0.0.01", "10.0.0.01: octet with a leading zero (ambiguous: octal or decimal?)"},
      {"10.0.0.x", "10.0.0.x: invalid character 'x' in octet"},
      {"", ": empty address"},
      {"/8", "/8: empty address"},
      {"10.0.0.0/", "10.0.0.0/: missing prefix length after '/'"},
      {"10.0.0.0/33", "10.0.0.0/33: prefix length 33 too long for IPv4 (max 32)"},
      {"::/129", "::/129: prefix length 129 too long for IPv6 (max 128)"},
      {"10.0.0.0/-1", "10.0.0.0/-1: invalid character '-' in prefix length"},
      {"10.0.0.0/8 ", "10.0.0.0/8 : invalid character ' ' in prefix length"},
      {"10.0.0.1/8", "10.0.0.1/8: host bits set (did you mean 10.0.0.0/8?)"},
      {"2001:db8::1/32", "2001:db8::1/32: host bits set (did you mean 2001:db8::/32?)"},
      {"1::2::3", "1::2::3: more than one '::'"},
      {"1:2:3:4:5:6:7", "1:2:3:4:5:6:7: expected 8 groups (or '::')"},
      {"1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8:9: too many groups"},
      {"1:2:3:4::5:6:7:8", "1:2:3:4::5:6:7:8: too many groups for '::'"},
      {"12345::", "12345::: group of more than 4 hex digits"},
      {"g::", "g::: invalid character 'g' in IPv6 group"},
      {"1:::2", "1:::2: more than one '::'"},
      {":1::", ":1::: empty group (a single ':' where '::' or a group belongs)"},
      {"fe80::1%eth0", "fe80::1%eth0: IPv6 zone index ('%...') not allowed in a policy"},
      {"1.2.3.4::", "1.2.3.4::: an embedded IPv4 address must be the last 32 bits"},
      {"::ffff:10.0.0.256", "::ffff:10.0.0.256: octet out of range"},
  };
  for (const ErrorCase& c : cases) {
    StatusOr<Cidr> r = Cidr::Parse(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), c.message);
  }
}

TEST(CidrTest, ParseTable) {
  struct Case {
    std::string text, canonical;
  };
  const std::vector<Case> cases = {
      {"10.0.0.0/8", "10.0.0.0/8"},
      {"10.1.2.3", "10.1.2.3/32"},
      {"0.0.0.0/0", "0.0.0.0/0"},
      {"::/0", "::/0"},
      {"::1", "::1/128"},
      {"2001:db8::/32", "2001:db8::/32"},
      {"2001:db8::1/128", "2001:db8::1/128"},
      {"::ffff:10.0.0.0/104", "10.0.0.0/8"},  // mapped space is IPv4
      {"::ffff:10.0.0.1", "10.0.0.1/32"},
      {"::ffff:0.0.0.0/96", "0.0.0.0/0"},
      {"::fffe:0:0/95", "::fffe:0:0/95"},  // wider than the mapped space: IPv6
  };
  for (const Case& c : cases)
    EXPECT_EQ(Net(c.text).ToString(), c.canonical) << c.text;
}

TEST(CidrTest, Contains) {
  EXPECT_TRUE(Net("10.0.0.0/8").Contains(Ip("10.255.0.1")));
  EXPECT_TRUE(Net("10.0.0.0/8").Contains(Ip("::ffff:10.0.0.1")));
  EXPECT_FALSE(Net("10.0.0.0/8").Contains(Ip("11.0.0.0")));
  EXPECT_FALSE(Net("0.0.0.0/0").Contains(Ip("::1")));
}

TEST(AddressMatcherTest, MatchTable) {
  AddressMatcher::Builder b;
  ASSERT_TRUE(b.Add(Net("10.0.0.0/8"), 0).ok());
  ASSERT_TRUE(b.Add(Net("10.1.0.0/16"), 1).ok());
  ASSERT_TRUE(b.Add(Net("10.1.2.3"), 2).ok());
  ASSERT_TRUE(b.Add(Net("0.0.0.0/0"), 3).ok());
  ASSERT_TRUE(b.Add(Net("::/0"), 4).ok());
  ASSERT_TRUE(b.Add(Net("2001:db8::/32"), 5).ok());
  ASSERT_TRUE(b.Add(Net("2001:db8::1"), 6).ok());
  ASSERT_TRUE(b.Add(Net("192.168.1.128/25"), 7).ok());
  ASSERT_TRUE(b.Add(Net("::ffff:172.16.0.0/108"), 8).ok());  // = 172.16.0.0/12
  ASSERT_TRUE(b.Add(Net("255.255.255.255/32"), 9).ok());
  ASSERT_TRUE(b.Add(Net("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"), 10).ok());
  const AddressMatcher m = std::move(b).Build();
  struct Case {
    std::string ip;
    std::vector<uint32_t> rules;
  };
  const std::vector<Case> cases = {
      {"10.1.2.3", {0, 1, 2, 3}},
      {"10.1.2.4", {0, 1, 3}},
      {"10.2.0.0", {0, 3}},
      {"11.0.0.0", {3}},
      {"0.0.0.0", {3}},
      {"255.255.255.255", {3, 9}},
      {"192.168.1.127", {3}},
      {"192.168.1.128", {3, 7}},
      {"192.168.1.255", {3, 7}},
      {"172.31.255.255", {3, 8}},
      {"172.32.0.0", {3}},
      // IPv4-mapped IPv6 is looked up as IPv4, so ::/0 does not match it.
      {"::ffff:10.1.2.3", {0, 1, 2, 3}},
      {"::ffff:172.16.0.1", {3, 8}},
      {"::1", {4}},
      {"::", {4}},
      {"2001:db8::1", {4, 5, 6}},
      {"2001:db8::2", {4, 5}},
      {"2001:db9::1", {4}},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", {4, 10}},
      {"::10.1.2.3", {4}},  // IPv4-compatible (not mapped): plain IPv6
  };
  for (const Case& c : cases) {
    RuleBits bits;
    m.Match(Ip(c.ip), bits);
    EXPECT_EQ(Rules(bits), c.rules) << c.ip;
  }
}

TEST(AddressMatcherTest, EmptyAndDuplicates) {
  RuleBits bits;
  AddressMatcher().Match(Ip("10.0.0.1"), bits);
  EXPECT_TRUE(bits.None());

  AddressMatcher::Builder b;
  ASSERT_TRUE(b.Add(Net("10.0.0.0/8"), 7).ok());
  ASSERT_TRUE(b.Add(Net("10.0.0.0/8"), 7).ok());
  ASSERT_TRUE(b.Add(Net("10.0.0.0/8"), 4095).ok());
  const AddressMatcher m = std::move(b).Build();
  m.Match(Ip("10.9.9.9"), bits);
  EXPECT_EQ(Rules(bits), (std::vector<uint32_t>{7, 4095}));
}

TEST(AddressMatcherTest, RejectsBadEntries) {
  AddressMatcher::Builder b;
  EXPECT_THAT(b.Add(Net("10.0.0.0/8"), kMaxRules).message(),
              HasSubstr("rule index 4096 out of range"));
  Cidr hand_made{Ip("10.0.0.1"), 8};  // not through Parse: host bits set
  EXPECT_EQ(b.Add(hand_made, 0).code(), StatusCode::kInvalidArgument);
  Cidr too_long{Ip("10.0.0.0"), 33};
  EXPECT_EQ(b.Add(too_long, 0).code(), StatusCode::kInvalidArgument);
}

TEST(PortRangeTest, ParseTable) {
  struct Case {
    std::string text;
    uint16_t lo, hi;
  };
  const std::vector<Case> cases = {
      {"443", 443, 443},     {"0", 0, 0},       {"65535", 65535, 65535}, {"8000-8999", 8000, 8999},
      {"0-65535", 0, 65535}, {"22-22", 22, 22}, {"00080", 80, 80},
  };
  for (const Case& c : cases) {
    StatusOr<PortRange> r = PortRange::Parse(c.text);
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.status();
    EXPECT_EQ(*r, (PortRange{c.lo, c.hi})) << c.text;
  }
}

TEST(PortRangeTest, ParseErrorTable) {
  const std::vector<ErrorCase> cases = {
      {"", ": missing port number"},
      {"65536", "65536: port 65536 out of range (max 65535)"},
      {"99999", "99999: port 99999 out of range (max 65535)"},
      {"123456", "123456: port out of range (max 65535)"},
      {"9000-8000", "9000-8000: reversed range (write the low port first)"},
      {"-1", "-1: missing port number"},
      {"80-", "80-: missing port number"},
      {"80-90-100", "80-90-100: invalid character '-' in port"},
      {"http", "http: invalid character 'h' in port"},
      {" 80", " 80: invalid character ' ' in port"},
      {"+80", "+80: invalid character '+' in port"},
  };
  for (const ErrorCase& c : cases) {
    StatusOr<PortRange> r = PortRange::Parse(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().message(), c.message);
  }
}

TEST(PortRangeTest, ContainsEdges) {
  const PortRange r{8000, 8999};
  EXPECT_FALSE(r.Contains(7999));
  EXPECT_TRUE(r.Contains(8000));
  EXPECT_TRUE(r.Contains(8999));
  EXPECT_FALSE(r.Contains(9000));
  EXPECT_TRUE(PortRange::Any().Contains(0));
  EXPECT_TRUE(PortRange::Any().Contains(65535));
}

}  // namespace
}  // namespace portcullis::policy
