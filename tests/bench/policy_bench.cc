// Evaluator benchmark: decisions per second on a 1,000-rule policy with
// realistic paths, beside a baseline that only looks up the syscall (the
// cheapest decision the evaluator can make), in one run, as a ratio.
//
//   build/bin/policy_bench [iterations]
//
// Prints its figures; asserts nothing (timing never fails a test).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "portcullis/policy/evaluator.h"

namespace {

using namespace portcullis::policy;
using Clock = std::chrono::steady_clock;

Policy ThousandRules() {
  Policy p;
  p.defaults.file = Action::kAllow;
  const char* roots[] = {"/etc", "/usr/lib", "/var/lib", "/opt/app", "/srv/data"};
  for (int i = 0; i < 1000; ++i) {
    Rule r;
    r.id = "r" + std::to_string(i);
    r.action = i % 3 == 0 ? Action::kDeny : (i % 3 == 1 ? Action::kMonitor : Action::kAllow);
    FileRule f;
    std::string base = std::string(roots[i % 5]) + "/pkg" + std::to_string(i);
    switch (i % 4) {
      case 0:
        f.paths.push_back({PathPattern::Kind::kExact, base + "/config.yaml"});
        break;
      case 1:
        f.paths.push_back({PathPattern::Kind::kSubtree, base});
        break;
      case 2:
        f.paths.push_back({PathPattern::Kind::kExact, base + "/lib.so." + std::to_string(i)});
        break;
      default:
        // A few globs (they are checked one by one): 1 in 20 rules.
        if (i % 20 == 3) {
          f.paths.push_back({PathPattern::Kind::kGlob, base + "/*.log"});
        } else {
          f.paths.push_back({PathPattern::Kind::kSubtree, base + "/cache"});
        }
    }
    if (i % 10 == 0) f.programs.push_back("/usr/bin/python3." + std::to_string(i % 12));
    f.operations = i % 2 ? kAllFileOps : static_cast<std::uint32_t>(FileOp::kWrite);
    r.body = f;
    p.rules.push_back(r);
  }
  return p;
}

template <typename F>
double Rate(long iterations, F&& f) {
  auto start = Clock::now();
  for (long i = 0; i < iterations; ++i)
    f(i);
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  return static_cast<double>(iterations) / secs;
}

}  // namespace

int main(int argc, char** argv) {
  long iterations = argc > 1 ? std::atol(argv[1]) : 5'000'000;
  auto compiled = CompiledPolicy::Compile(ThousandRules());
  if (!compiled.ok()) {
    std::fprintf(stderr, "compile: %s\n", compiled.status().ToString().c_str());
    return 1;
  }
  const CompiledPolicy& p = **compiled;
  // Realistic paths: hits on exact, subtree and glob rules, and misses.
  std::vector<std::string> paths;
  for (int i = 0; i < 1000; ++i) {
    const char* roots[] = {"/etc", "/usr/lib", "/var/lib", "/opt/app", "/srv/data"};
    std::string base = std::string(roots[i % 5]) + "/pkg" + std::to_string(i);
    paths.push_back(base + "/config.yaml");
    paths.push_back(base + "/sub/dir/file.txt");
    paths.push_back(base + "/app.log");
    paths.push_back("/usr/share/doc/pkg" + std::to_string(i) + "/README");
  }
  volatile int sink = 0;
  double baseline = Rate(iterations, [&](long i) {
    auto d = p.DecideSyscall({.number = static_cast<int>(i & 255), .program = "/usr/bin/python3"});
    sink = sink + (d ? 1 : 0);
  });
  double files = Rate(iterations, [&](long i) {
    const std::string& path = paths[static_cast<std::size_t>(i) % paths.size()];
    Decision d = p.DecideFile({.op = i % 2 ? FileOp::kRead : FileOp::kWrite,
                               .program = "/usr/bin/python3",
                               .path = path});
    sink = sink + d.rule;
  });
  std::printf("policy evaluator, 1,000 file rules (exact, subtree, 1 in 20 globs), %zu paths\n",
              paths.size());
  std::printf("%-44s %14s %10s\n", "benchmark", "decisions/s", "ratio");
  std::printf("%-44s %14.0f %10.3f\n", "baseline: syscall lookup only", baseline, 1.0);
  std::printf("%-44s %14.0f %10.3f\n", "file decision (path + op + program)", files,
              files / baseline);
  std::printf("target: >= 5,000,000 file decisions/s per core: %s\n",
              files >= 5e6 ? "met" : "NOT met");
  return 0;
}
