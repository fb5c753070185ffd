#include "portcullis/testing/infra.h"

#include <cstdlib>

#include "portcullis/common/config.h"
#include "portcullis/common/ids.h"

namespace portcullis::testing {
namespace {

std::string EnvOrDie(const char* name) {
  const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read before threads
  if (v == nullptr || *v == '\0') {
    Fatal(std::string(name) + " is not set: run the tests through ctest");
  }
  return v;
}

}  // namespace

const InfraEnv& InfraEnv::Get() {
  static const InfraEnv* env = [] {
    auto* e = new InfraEnv();
    std::string file = EnvOrDie("PORTCULLIS_ENV_FILE");
    StatusOr<ConfigMap> map = ConfigMap::Load(file, nullptr);
    if (!map.ok()) {
      Fatal("cannot load the infrastructure env file (is scripts/infra.sh up running?): " +
            map.status().ToString());
    }
    for (const auto& [k, v] : map->entries())
      e->values_[k] = v.value;
    return e;
  }();
  return *env;
}

const std::string& InfraEnv::Require(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) Fatal("the infrastructure env file has no " + key);
  return it->second;
}

std::string SourceDir() {
  return EnvOrDie("PORTCULLIS_SOURCE_DIR");
}
std::string BinDir() {
  return EnvOrDie("PORTCULLIS_BIN_DIR");
}

Status RunInfra(const std::string& args) {
  std::string cmd = SourceDir() + "/scripts/infra.sh " + args + " >&2";
  int rc = std::system(cmd.c_str());  // NOLINT(concurrency-mt-unsafe,cert-env33-c)
  if (rc != 0) return InternalError("'" + cmd + "' exited with " + std::to_string(rc));
  return OkStatus();
}

std::string UniqueName(const std::string& prefix) {
  std::string id = Uuid::Random().ToString();
  std::string out = prefix;
  for (char c : id) {
    if (c != '-') out.push_back(c);
    if (out.size() >= prefix.size() + 12) break;
  }
  return out;
}

}  // namespace portcullis::testing
