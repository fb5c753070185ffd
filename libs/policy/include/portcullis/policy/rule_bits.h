// RuleBits: the set of rules (by index in first-match order) that a behavior
// matches, as a fixed-capacity bitset with no heap storage.
//
// Each matcher (paths, addresses, ports, programs...) ORs the rules it matches
// into a RuleBits; the evaluator ANDs the sets of the different dimensions and
// takes the lowest index, which is the first matching rule:
//
//   RuleBits by_path, by_program;
//   path_matcher.Match("/etc/shadow", by_path);
//   program_matcher.Match("/usr/bin/cat", by_program);
//   by_path.And(by_program);
//   if (std::optional<uint32_t> rule = by_path.FirstSet()) Apply(rules[*rule]);
//
// The set tracks how many of its 64-bit words are in use (`words_in_use()`):
// only those are ever read, and words beyond them are not even initialised,
// so creating, clearing, combining and scanning a set cost what the policy's
// rule count needs, not the full kMaxRules capacity (a decision makes a few
// sets on the stack: zeroing 512 bytes for each was most of its cost).
//
// A RuleBits is a plain value (512 bytes plus a counter): put it on the stack
// of the thread that evaluates. Not synchronised.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <type_traits>

#include "portcullis/common/status.h"

namespace portcullis::policy {

// The largest number of rules a compiled policy may have; the compiler rejects
// bigger policies, so every rule index fits a RuleBits.
inline constexpr uint32_t kMaxRules = 4096;

class RuleBits {
 public:
  static constexpr size_t kWords = kMaxRules / 64;

  // words_ is deliberately left uninitialised (see above), except in constant
  // evaluation, which does not allow indeterminate values.
  constexpr RuleBits() {
    if (std::is_constant_evaluated()) words_.fill(0);
  }
  constexpr RuleBits(const RuleBits& other) : used_(other.used_) {
    if (std::is_constant_evaluated()) words_.fill(0);
    for (uint32_t w = 0; w < used_; ++w)
      words_[w] = other.words_[w];
  }
  constexpr RuleBits& operator=(const RuleBits& other) {
    used_ = other.used_;
    for (uint32_t w = 0; w < used_; ++w)
      words_[w] = other.words_[w];
    return *this;
  }

  // `rule` must be < kMaxRules: matchers validate indexes when they are built,
  // so an out-of-range index here is a programming error and terminates.
  constexpr void Set(uint32_t rule) {
    if (rule >= kMaxRules) [[unlikely]] {
      Fatal("RuleBits::Set: rule index out of range");
    }
    const uint32_t w = rule / 64;
    for (; used_ <= w; ++used_)
      words_[used_] = 0;
    words_[w] |= uint64_t{1} << (rule % 64);
  }

  // Returns false for an index >= kMaxRules.
  constexpr bool Test(uint32_t rule) const {
    if (rule / 64 >= used_) return false;  // also every index >= kMaxRules
    return (words_[rule / 64] >> (rule % 64)) & 1u;
  }

  // Empties the set.
  constexpr void Clear() { used_ = 0; }

  // this = this | other.
  constexpr void Or(const RuleBits& other) {
    const uint16_t n = std::min(used_, other.used_);
    for (uint32_t w = 0; w < n; ++w)
      words_[w] |= other.words_[w];
    for (uint32_t w = n; w < other.used_; ++w)
      words_[w] = other.words_[w];
    used_ = std::max(used_, other.used_);
  }

  // this = this & other.
  constexpr void And(const RuleBits& other) {
    const uint16_t n = std::min(used_, other.used_);
    for (uint32_t w = 0; w < n; ++w)
      words_[w] &= other.words_[w];
    used_ = n;
  }

  // The lowest rule index >= `from` in the set, or nullopt: iterates the
  // candidates in first-match order without modifying the set.
  constexpr std::optional<uint32_t> NextSet(uint32_t from) const {
    for (uint32_t w = from / 64; w < used_; ++w) {
      uint64_t word = words_[w];
      if (w == from / 64) word &= ~uint64_t{0} << (from % 64);
      if (word != 0) return w * 64 + static_cast<uint32_t>(std::countr_zero(word));
    }
    return std::nullopt;
  }

  // The lowest rule index in the set (the first match), or nullopt if empty.
  constexpr std::optional<uint32_t> FirstSet() const {
    for (uint32_t w = 0; w < used_; ++w) {
      if (words_[w] != 0) return w * 64 + static_cast<uint32_t>(std::countr_zero(words_[w]));
    }
    return std::nullopt;
  }

  constexpr bool None() const { return !FirstSet().has_value(); }
  constexpr bool Any() const { return FirstSet().has_value(); }

  constexpr uint32_t Count() const {
    uint32_t n = 0;
    for (uint32_t w = 0; w < used_; ++w)
      n += static_cast<uint32_t>(std::popcount(words_[w]));
    return n;
  }

  // An upper bound on the words holding set bits: 1 + the highest word written
  // since the last Clear (a word may have become zero again through And).
  // Words from here on are not part of the set and may hold anything.
  constexpr uint32_t words_in_use() const { return used_; }

  friend constexpr bool operator==(const RuleBits& a, const RuleBits& b) {
    const uint16_t n = std::max(a.used_, b.used_);
    for (uint32_t w = 0; w < n; ++w) {
      const uint64_t x = w < a.used_ ? a.words_[w] : 0;
      const uint64_t y = w < b.used_ ? b.words_[w] : 0;
      if (x != y) return false;
    }
    return true;
  }

 private:
  std::array<uint64_t, kWords> words_;  // words_[used_..] are unspecified
  uint16_t used_ = 0;
};

}  // namespace portcullis::policy
