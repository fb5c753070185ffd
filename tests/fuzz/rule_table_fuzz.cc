// Fuzz target: random bytes as a rule table, the agent's input from the
// network. Parsing may fail; a table that parses must either load into the
// evaluator or be refused with a status, never crash or read out of bounds,
// and a loaded table must answer decisions of every kind.
//
// With clang: build/tests/rule_table_fuzz tests/fuzz/corpus/rule_table.
// With any compiler, rule_table_fuzz_replay runs the seed corpus (CTest).
#include <cstddef>
#include <cstdint>

#include "portcullis/policy/evaluator.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace portcullis::policy;
  portcullis::v1::RuleTable table;
  if (!table.ParseFromArray(data, static_cast<int>(size))) return 0;
  auto loaded = CompiledPolicy::Load(table);
  if (!loaded.ok()) return 0;
  const CompiledPolicy& p = **loaded;
  (void)p.DecideFile({FileOp::kWrite, "/usr/bin/python3", "/etc/app/config.yaml"});
  (void)p.DecideNetwork(
      {Direction::kOutbound, Protocol::kTcp, IpAddress::V4(0x0a000001), 443, "/usr/bin/curl"});
  for (int nr = -1; nr < 600; nr += 7)
    (void)p.DecideSyscall({.number = nr, .args = {1, 2, 3, 4, 5, 6}, .program = "/bin/sh"});
  return 0;
}
