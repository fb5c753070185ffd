// Fuzz target: random bytes as a QQL query, through the lexer, parser, binder
// and SQL emitter (Compile), in both listing orders. It must never crash,
// hang or read out of bounds, and:
//   - a rejected query is InvalidArgument with a message (kInternal would be
//     the emitter failing its own vocabulary check: a bug);
//   - an accepted query has placeholders exactly $1..$n, n == params.size(),
//     each with a cast, and its tenant, from and to as $1, $2, $3;
//   - no value of the query (a value or quoted string, a label key) appears
//     in the SQL text unless the same bytes are in the SQL the emitter writes
//     for fixed reference queries (so "ts" or "AND" may, "x'); --" may not).
//
// With clang: CC=clang CXX=clang++ cmake -S . -B build-fuzz, then
//   build-fuzz/bin/qql_fuzz -dict=tests/fuzz/qql.dict tests/fuzz/corpus/qql
// With any compiler, qql_fuzz_replay runs the seed corpus (CTest).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "portcullis/qql/lexer.h"
#include "portcullis/qql/qql.h"

namespace {

using portcullis::StatusCode;
using portcullis::StatusOr;
using portcullis::qql::CompileOptions;
using portcullis::qql::SqlQuery;

CompileOptions Options(CompileOptions::Order order) {
  CompileOptions o;
  o.tenant_id = "00000000-0000-4000-8000-0000000000aa";
  o.now = std::chrono::system_clock::time_point(
              std::chrono::sys_days(std::chrono::year(2026) / std::chrono::November / 28)) +
          std::chrono::hours(12);
  o.from = o.now - std::chrono::hours(24 * 7);
  o.to = o.now;
  o.order = order;
  return o;
}

// Every fragment the emitter writes, from reference queries that use each
// construct once.
const std::string& ReferenceSql() {
  static const std::string text = [] {
    std::string all;
    for (auto order : {CompileOptions::Order::kNewestFirst, CompileOptions::Order::kCommitOrder}) {
      for (const char* q : {"", "process.name:a* and not (file.path:* or host.name:[a, b])",
                            "process.pid:[1 .. 2] network.remote.ip:10.0.0.0/8 "
                            "network.local.ip != 10.0.0.0/8 event.time > now process.uid != 1",
                            "labels.a:b | sort labels.a desc, process.pid"}) {
        StatusOr<SqlQuery> s = portcullis::qql::Compile(q, Options(order));
        if (s.ok()) all += s->sql + "\n";
      }
    }
    for (const char* q : {"| count", "| count by process.name, labels.a | sort count asc",
                          "| top 5 host.name", "| timechart 1h"}) {
      StatusOr<SqlQuery> s =
          portcullis::qql::Compile(q, Options(CompileOptions::Order::kNewestFirst));
      if (s.ok()) all += s->sql + "\n";
    }
    if (all.empty()) __builtin_trap();
    return all;
  }();
  return text;
}

void CheckPlaceholders(const SqlQuery& q) {
  std::string seen(q.params.size(), '\0');
  for (std::size_t i = 0; i < q.sql.size(); ++i) {
    if (q.sql[i] != '$') continue;
    std::size_t j = i + 1;
    std::size_t n = 0;
    while (j < q.sql.size() && q.sql[j] >= '0' && q.sql[j] <= '9' && n <= q.params.size())
      n = n * 10 + static_cast<std::size_t>(q.sql[j++] - '0');
    if (n < 1 || n > q.params.size() || q.sql.compare(j, 2, "::") != 0) __builtin_trap();
    seen[n - 1] = 1;
  }
  if (seen.find('\0') != std::string::npos) __builtin_trap();
  if (q.sql.find("tenant_id = $1::uuid AND ts >= $2::timestamptz AND ts < $3::timestamptz") ==
      std::string::npos) {
    __builtin_trap();
  }
  for (const std::string& p : q.params) {
    if (p.find('\0') != std::string::npos) __builtin_trap();
  }
}

void CheckNoValueInSql(std::string_view query, const SqlQuery& q) {
  StatusOr<std::vector<portcullis::qql::Token>> tokens = portcullis::qql::Lex(query);
  if (!tokens.ok()) __builtin_trap();  // it compiled, so it lexed
  for (const portcullis::qql::Token& t : *tokens) {
    std::string_view value;
    if (t.kind == portcullis::qql::TokenKind::kValue ||
        t.kind == portcullis::qql::TokenKind::kString) {
      value = t.text;
    } else if (t.kind == portcullis::qql::TokenKind::kWord && t.text.rfind("labels.", 0) == 0) {
      value = std::string_view(t.text).substr(7);
    } else {
      continue;
    }
    if (value.size() < 2) continue;
    if (q.sql.find(value) != std::string::npos && ReferenceSql().find(value) == std::string::npos) {
      __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view query(reinterpret_cast<const char*>(data), size);
  for (auto order : {CompileOptions::Order::kNewestFirst, CompileOptions::Order::kCommitOrder}) {
    StatusOr<SqlQuery> s = portcullis::qql::Compile(query, Options(order));
    if (!s.ok()) {
      if (s.status().code() != StatusCode::kInvalidArgument) __builtin_trap();
      if (s.status().message().empty()) __builtin_trap();
      continue;
    }
    CheckPlaceholders(*s);
    CheckNoValueInSql(query, *s);
  }
  return 0;
}
