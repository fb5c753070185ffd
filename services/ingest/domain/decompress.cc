#include "domain/decompress.h"

#include <zlib.h>
#include <zstd.h>

#include <memory>

#include "portcullis/common/strings.h"

namespace portcullis::ingest {
namespace {

Status TooLarge(std::size_t max) {
  return ResourceExhaustedError("the decompressed body exceeds " + std::to_string(max) + " bytes");
}

StatusOr<std::string> Gunzip(std::string_view in, std::size_t max) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return InternalError("inflateInit2 failed");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&z, inflateEnd);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[64 * 1024];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      return InvalidArgumentError("the body is not valid gzip data");
    }
    out.append(buf, sizeof(buf) - z.avail_out);
    if (out.size() > max) return TooLarge(max);
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
      return InvalidArgumentError("the gzip data is truncated");
    }
  }
  if (z.avail_in != 0) return InvalidArgumentError("trailing bytes after the gzip data");
  return out;
}

StatusOr<std::string> Unzstd(std::string_view in, std::size_t max) {
  std::unique_ptr<ZSTD_DCtx, std::size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!ctx) return InternalError("ZSTD_createDCtx failed");
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  std::string out;
  char buf[64 * 1024];
  std::size_t rc = 1;
  while (input.pos < input.size || rc != 0) {
    ZSTD_outBuffer output{buf, sizeof(buf), 0};
    rc = ZSTD_decompressStream(ctx.get(), &output, &input);
    if (ZSTD_isError(rc)) return InvalidArgumentError("the body is not valid zstd data");
    out.append(buf, output.pos);
    if (out.size() > max) return TooLarge(max);
    if (input.pos == input.size && output.pos == 0 && rc != 0) {
      return InvalidArgumentError("the zstd data is truncated");
    }
  }
  return out;
}

}  // namespace

StatusOr<std::string> Decompress(std::string_view encoding, std::string_view body,
                                 std::size_t max_output) {
  std::string e = AsciiLower(std::string(encoding));
  if (e.empty() || e == "identity") {
    if (body.size() > max_output) return TooLarge(max_output);
    return std::string(body);
  }
  if (e == "gzip") return Gunzip(body, max_output);
  if (e == "zstd") return Unzstd(body, max_output);
  return InvalidArgumentError("Content-Encoding '" + std::string(encoding) +
                              "' is not supported (use gzip, zstd or none)");
}

StatusOr<std::string> Compress(std::string_view encoding, std::string_view raw) {
  std::string e = AsciiLower(std::string(encoding));
  if (e == "zstd") {
    std::string out(ZSTD_compressBound(raw.size()), '\0');
    std::size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), 3);
    if (ZSTD_isError(n)) return InternalError("ZSTD_compress failed");
    out.resize(n);
    return out;
  }
  if (e == "gzip") {
    z_stream z{};
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
      return InternalError("deflateInit2 failed");
    }
    std::string out(deflateBound(&z, static_cast<uLong>(raw.size())), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
    z.avail_in = static_cast<uInt>(raw.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    int rc = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    if (rc != Z_STREAM_END) return InternalError("deflate failed");
    return out;
  }
  if (e.empty() || e == "identity") return std::string(raw);
  return InvalidArgumentError("unknown encoding " + std::string(encoding));
}

}  // namespace portcullis::ingest
