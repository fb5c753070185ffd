#include "portcullis/agent/policy_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "portcullis/policy/compiler.h"
#include "portcullis/policy/document.h"

namespace portcullis::agent {
namespace {

// A JSON document starts with '{' (after blanks). A serialized RuleTable
// cannot: '{' would be field 15 with the deprecated group wire type, which
// proto3 never writes.
bool LooksLikeJson(std::string_view bytes) {
  for (char c : bytes) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    return c == '{';
  }
  return false;
}

}  // namespace

StatusOr<LoadedPolicy> LoadPolicy(std::string_view bytes, std::string_view name,
                                  bool force_permissive) {
  LoadedPolicy out;
  if (LooksLikeJson(bytes)) {
    policy::ParseResult doc = policy::ParsePolicyDocument(bytes);
    if (!doc.ok()) {
      std::string message = std::string(name) + ": invalid policy document";
      for (const policy::Diagnostic& d : doc.diagnostics)
        message += "\n  " + (d.location.empty() ? std::string("/") : d.location) + ": " + d.message;
      return InvalidArgumentError(message);
    }
    if (force_permissive) doc.policy->mode = policy::Mode::kPermissive;
    auto table = policy::CompileRuleTable(*doc.policy, {.policy_id = "", .version = 0});
    if (!table.ok()) return table.status().WithContext(name);
    out.table = std::move(*table);
  } else {
    if (!out.table.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      return InvalidArgumentError(std::string(name) +
                                  ": neither a policy document nor a rule table");
    }
    if (force_permissive) out.table.set_permissive(true);
  }
  auto compiled = policy::CompiledPolicy::Load(out.table);
  if (!compiled.ok()) return compiled.status().WithContext(name);
  out.compiled = std::move(*compiled);
  return out;
}

StatusOr<LoadedPolicy> LoadPolicyFile(const std::string& path, bool force_permissive) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    std::string m = path + ": " + std::strerror(e);
    return e == ENOENT ? NotFoundError(m) : PermissionDeniedError(m);
  }
  std::string bytes;
  char buf[65536];
  while (true) {
    ssize_t r = ::read(fd, buf, sizeof(buf));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int e = errno;
      ::close(fd);
      return UnavailableError(path + ": " + std::strerror(e));
    }
    if (r == 0) break;
    bytes.append(buf, static_cast<std::size_t>(r));
    if (bytes.size() > kMaxPolicyFileBytes) {
      ::close(fd);
      return InvalidArgumentError(path + ": larger than " + std::to_string(kMaxPolicyFileBytes) +
                                  " bytes");
    }
  }
  ::close(fd);
  return LoadPolicy(bytes, path, force_permissive);
}

}  // namespace portcullis::agent
