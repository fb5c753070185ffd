// Small string helpers shared by every library.
//
//   if (AsciiLower(header_name) == "content-length") ...
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace portcullis {

// ASCII lower case (header names, enum words); other bytes unchanged.
std::string AsciiLower(std::string_view s);

// Base64 with the URL alphabet (RFC 4648 section 5), no padding: tokens that
// travel in query strings (cursors).
std::string Base64UrlEncode(std::string_view bytes);
// nullopt unless `text` is exactly such an encoding (no padding, no other
// characters, no stray bits).
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace portcullis
