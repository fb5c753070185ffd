// Strong identifier types. A TenantId can't be passed where an AgentId is
// expected: in a multi-tenant system that is a security property, so every id
// that crosses a function boundary is one of these, never a bare string.
//
//   StatusOr<TenantId> t = TenantId::Parse(header_value);
//   AgentId a = AgentId::Generate();
//   std::string text = a.ToString();  // "0b6f2c1e-..."
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "portcullis/common/status.h"

namespace portcullis {

// A 128-bit UUID, stored as its 16 bytes.
class Uuid {
 public:
  using Bytes = std::array<std::uint8_t, 16>;

  Uuid() = default;  // the nil UUID
  explicit Uuid(const Bytes& bytes) : bytes_(bytes) {}

  // Accepts the canonical 8-4-4-4-12 hex form only (either case).
  static StatusOr<Uuid> Parse(std::string_view text);
  // A random (version 4) UUID from the kernel's CSPRNG.
  static Uuid Random();

  const Bytes& bytes() const { return bytes_; }
  // The 16 bytes as a string (protobuf `bytes` fields).
  std::string Binary() const {
    return std::string(reinterpret_cast<const char*>(bytes_.data()), bytes_.size());
  }
  bool is_nil() const;
  // Lower-case canonical form.
  std::string ToString() const;

  friend bool operator==(const Uuid& a, const Uuid& b) { return a.bytes_ == b.bytes_; }
  friend bool operator!=(const Uuid& a, const Uuid& b) { return !(a == b); }
  friend bool operator<(const Uuid& a, const Uuid& b) { return a.bytes_ < b.bytes_; }

 private:
  Bytes bytes_{};
};

// Fills `out` with `size` bytes from getrandom(2); terminates if the kernel
// can't provide them (there is no safe fallback for secrets).
void FillRandom(void* out, std::size_t size);

template <typename Tag>
class StrongId {
 public:
  StrongId() = default;
  explicit StrongId(Uuid uuid) : uuid_(uuid) {}

  static StatusOr<StrongId> Parse(std::string_view text) {
    StatusOr<Uuid> u = Uuid::Parse(text);
    if (!u.ok()) return u.status().WithContext(Tag::kName);
    return StrongId(*u);
  }
  static StrongId Generate() { return StrongId(Uuid::Random()); }

  const Uuid& uuid() const { return uuid_; }
  bool is_nil() const { return uuid_.is_nil(); }
  std::string ToString() const { return uuid_.ToString(); }

  friend bool operator==(const StrongId& a, const StrongId& b) { return a.uuid_ == b.uuid_; }
  friend bool operator!=(const StrongId& a, const StrongId& b) { return a.uuid_ != b.uuid_; }
  friend bool operator<(const StrongId& a, const StrongId& b) { return a.uuid_ < b.uuid_; }

 private:
  Uuid uuid_;
};

struct TenantIdTag {
  static constexpr const char* kName = "tenant id";
};
struct AgentIdTag {
  static constexpr const char* kName = "agent id";
};
struct PolicyIdTag {
  static constexpr const char* kName = "policy id";
};
struct EventIdTag {
  static constexpr const char* kName = "event id";
};

using TenantId = StrongId<TenantIdTag>;
using AgentId = StrongId<AgentIdTag>;
using PolicyId = StrongId<PolicyIdTag>;
using EventId = StrongId<EventIdTag>;

}  // namespace portcullis

template <>
struct std::hash<portcullis::Uuid> {
  std::size_t operator()(const portcullis::Uuid& u) const noexcept;
};

template <typename Tag>
struct std::hash<portcullis::StrongId<Tag>> {
  std::size_t operator()(const portcullis::StrongId<Tag>& id) const noexcept {
    return std::hash<portcullis::Uuid>()(id.uuid());
  }
};
