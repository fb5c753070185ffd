// The policy model: what admins write and agents enforce. A policy has rules,
// a default action per category and a mode. Rules are ordered; the first rule
// that matches a behaviour decides it; an unmatched behaviour takes its
// category's default, so one policy is an allowlist and another a blocklist.
//
//   Policy p;
//   p.defaults.network = Action::kDeny;                       // allowlist
//   p.rules.push_back({.id = "https-out", .action = Action::kAllow,
//                      .body = NetworkRule{.direction = Direction::kOutbound,
//                                          .ports = {{443, 443}}}});
//
// Plain values, no behaviour: document.h parses them from JSON with every
// problem located, the compiler turns them into the rule table.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "portcullis/policy/address_matcher.h"  // PortRange

namespace portcullis::policy {

enum class Action { kAllow, kDeny, kMonitor };
enum class Mode { kEnforcing, kPermissive };
// kApplication: a decision taken by a syscall (application) rule.
enum class Category { kFile, kNetwork, kProcess, kApplication };

// File operations, as a bit set.
enum class FileOp : std::uint32_t {
  kRead = 1u << 0,
  kWrite = 1u << 1,
  kCreate = 1u << 2,
  kDelete = 1u << 3,
  kRename = 1u << 4,
  kChmod = 1u << 5,  // chmod and chown: changes of mode or owner
  kExec = 1u << 6,
};
inline constexpr std::uint32_t kAllFileOps = (1u << 7) - 1;

// A path as written in a rule: "/etc/shadow" (exact), "/var/log/" (the
// directory and everything beneath it), or a glob ("/home/*/.ssh/**").
struct PathPattern {
  enum class Kind { kExact, kSubtree, kGlob };
  Kind kind = Kind::kExact;
  std::string text;  // the subtree's directory has no trailing slash
};

struct FileRule {
  std::vector<std::string> programs;  // exact paths or globs; empty: any program
  std::vector<PathPattern> paths;     // at least one
  std::uint32_t operations = kAllFileOps;
};

enum class Direction { kOutbound, kInbound, kListen };
enum class Protocol { kAny, kTcp, kUdp };

struct NetworkRule {
  Direction direction = Direction::kOutbound;
  std::vector<std::string> addresses;  // CIDRs (v4, v6); empty: any address
  std::vector<PortRange> ports;        // empty: any port
  Protocol protocol = Protocol::kAny;
  std::vector<std::string> programs;
};

enum class ArgOp { kEqual, kNotEqual, kMask, kRange };

// A condition on a scalar syscall argument: arg == value, arg != value,
// (arg & mask) == value, or lo <= arg <= hi.
struct ArgCondition {
  int index = 0;  // 0..5
  ArgOp op = ArgOp::kEqual;
  std::uint64_t value = 0;       // kEqual, kNotEqual, kMask: the value; kRange: lo
  std::uint64_t mask_or_hi = 0;  // kMask: the mask; kRange: hi
};

// The advanced superset: any syscall by name, up to three argument conditions.
struct SyscallRule {
  std::string syscall;
  int number = -1;  // resolved for x86-64 by the parser
  std::vector<ArgCondition> args;
  std::vector<std::string> programs;
};

struct Rule {
  std::string id;  // unique in the policy; reported in events
  Action action = Action::kDeny;
  std::variant<FileRule, NetworkRule, SyscallRule> body;
};

struct Defaults {
  Action file = Action::kAllow;
  Action network = Action::kAllow;
  Action process = Action::kAllow;
};

struct Policy {
  std::string name;
  Mode mode = Mode::kEnforcing;
  Defaults defaults;
  std::vector<std::string> hardening;  // built-in rule sets switched on
  std::vector<Rule> rules;
};

std::string_view ActionName(Action a);
// An operation's name in policy documents and events ("read", ...; a
// document may also write "chown" for kChmod).
std::string_view FileOpName(FileOp op);
std::string_view ModeName(Mode m);

}  // namespace portcullis::policy
