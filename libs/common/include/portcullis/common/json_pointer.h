// JSON pointers (RFC 6901) for error locations: "/rules/3/paths/0".
//
//   std::string at = JsonPointer("/rules", 3);       // "/rules/3"
//   at = JsonPointer(at, "a/b");                     // "/rules/3/a~1b"
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace portcullis {

// `base` followed by one reference token, escaped ('~' -> "~0", '/' -> "~1").
std::string JsonPointer(std::string base, std::string_view key);
std::string JsonPointer(std::string base, std::size_t index);

}  // namespace portcullis
