#include "portcullis/common/ids.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>

namespace portcullis {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void FillRandom(void* out, std::size_t size) {
  auto* p = static_cast<std::uint8_t*>(out);
  while (size > 0) {
    ssize_t n = getrandom(p, size, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      Fatal(std::string("getrandom failed: ") + std::strerror(errno));
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

StatusOr<Uuid> Uuid::Parse(std::string_view text) {
  constexpr std::size_t kLen = 36;
  if (text.size() != kLen) {
    return InvalidArgumentError("expected a UUID of 36 characters, got " +
                                std::to_string(text.size()));
  }
  Bytes bytes{};
  std::size_t b = 0;
  for (std::size_t i = 0; i < kLen;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') {
        return InvalidArgumentError("malformed UUID: expected '-' at offset " + std::to_string(i));
      }
      ++i;
      continue;
    }
    int hi = HexValue(text[i]);
    int lo = HexValue(text[i + 1]);
    if (hi < 0 || lo < 0) {
      return InvalidArgumentError("malformed UUID: non-hex character at offset " +
                                  std::to_string(hi < 0 ? i : i + 1));
    }
    bytes[b++] = static_cast<std::uint8_t>(hi << 4 | lo);
    i += 2;
  }
  return Uuid(bytes);
}

Uuid Uuid::Random() {
  Bytes bytes;
  FillRandom(bytes.data(), bytes.size());
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return Uuid(bytes);
}

bool Uuid::is_nil() const {
  for (std::uint8_t b : bytes_) {
    if (b != 0) return false;
  }
  return true;
}

std::string Uuid::ToString() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < bytes_.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[bytes_[i] >> 4]);
    out.push_back(kHex[bytes_[i] & 0x0f]);
  }
  return out;
}

}  // namespace portcullis

std::size_t std::hash<portcullis::Uuid>::operator()(const portcullis::Uuid& u) const noexcept {
  std::size_t h = 0;
  std::memcpy(&h, u.bytes().data(), sizeof(h));
  return h;
}
