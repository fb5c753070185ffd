// Request bodies in gzip or zstd, decompressed with a bound on the output so
// that a small body cannot expand into gigabytes (a decompression bomb).
//
//   StatusOr<std::string> raw = Decompress("zstd", body, 16 << 20);
//   // InvalidArgument for corrupt data or an unknown encoding ("br"),
//   // ResourceExhausted ("too large") past the bound.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "portcullis/common/status.h"

namespace portcullis::ingest {

// `encoding`: "", "identity", "gzip" or "zstd" (case-insensitive).
StatusOr<std::string> Decompress(std::string_view encoding, std::string_view body,
                                 std::size_t max_output);

// For tests and load generators.
StatusOr<std::string> Compress(std::string_view encoding, std::string_view raw);

}  // namespace portcullis::ingest
