// Fuzz target: random bytes as a policy document. The parser must return a
// policy or diagnostics, never crash, hang or read out of bounds; a policy it
// accepts must survive a second parse of the same bytes identically, compile
// to a rule table that survives the wire, load and answer a decision.
//
// With clang: cmake -DCMAKE_CXX_COMPILER=clang++ builds policy_document_fuzz
// with libFuzzer (run: build/tests/policy_document_fuzz tests/fuzz/corpus/policy_document).
// With any compiler, policy_document_fuzz_replay runs the seed corpus (CTest).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "portcullis/policy/compiler.h"
#include "portcullis/policy/document.h"
#include "portcullis/policy/evaluator.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  portcullis::policy::ParseResult a = portcullis::policy::ParsePolicyDocument(text);
  if (a.ok() != a.diagnostics.empty()) __builtin_trap();
  if (a.ok()) {
    portcullis::policy::ParseResult b = portcullis::policy::ParsePolicyDocument(text);
    if (!b.ok() || b.policy->rules.size() != a.policy->rules.size()) __builtin_trap();
    // Every valid document compiles, its table survives the wire and loads,
    // and the evaluator answers (no crash, no out-of-range read).
    auto table = portcullis::policy::CompileRuleTable(*a.policy);
    if (!table.ok()) return 0;  // e.g. more than kMaxRules with hardening
    std::string wire;
    portcullis::v1::RuleTable back;
    if (!table->SerializeToString(&wire) || !back.ParseFromString(wire)) __builtin_trap();
    auto loaded = portcullis::policy::CompiledPolicy::Load(back);
    if (!loaded.ok()) __builtin_trap();
    (*loaded)->DecideFile({portcullis::policy::FileOp::kRead, "/usr/bin/x", "/etc/passwd"});
  }
  return 0;
}
