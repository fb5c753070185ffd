#include "portcullis/common/json_pointer.h"

namespace portcullis {

std::string JsonPointer(std::string base, std::string_view key) {
  base.push_back('/');
  for (char c : key) {
    if (c == '~') {
      base += "~0";
    } else if (c == '/') {
      base += "~1";
    } else {
      base.push_back(c);
    }
  }
  return base;
}

std::string JsonPointer(std::string base, std::size_t index) {
  return base + "/" + std::to_string(index);
}

}  // namespace portcullis
