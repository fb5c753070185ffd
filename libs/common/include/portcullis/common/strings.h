// Small string helpers shared by every library.
//
//   if (AsciiLower(header_name) == "content-length") ...
#pragma once

#include <string>
#include <string_view>

namespace portcullis {

// ASCII lower case (header names, enum words); other bytes unchanged.
std::string AsciiLower(std::string_view s);

}  // namespace portcullis
