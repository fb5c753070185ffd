// Request framing guard: follows the byte stream of one connection, request by
// request (head, then Content-Length bytes of body), and decides before
// Pistache buffers anything whether a request is acceptable.
//
// Why: Pistache 0.0.5 answers a request larger than its buffer with a
// plain-text 413 and then keeps parsing the rest of that body as if it were
// new requests on the same connection (a desync an attacker controls). This
// guard rejects such requests first, with our JSON error, and the connection
// is closed after the answer. It also refuses request bodies without
// Content-Length (chunked), which our APIs never need and which would escape
// the size check.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::http::internal {

struct Rejection {
  int status;
  std::string code;
  std::string message;
};

class RequestFraming {
 public:
  RequestFraming(std::size_t max_head_bytes, std::size_t max_body_bytes)
      : max_head_(max_head_bytes), max_body_(max_body_bytes) {}

  // Consumes a chunk of the connection's bytes. Returns a rejection when a
  // request in it must not be processed; after that every call rejects too.
  // `request_ends`, if given, gets the offset in `bytes` just past each
  // request that ends in this chunk (pipelined requests: several).
  std::optional<Rejection> Feed(std::string_view bytes,
                                std::vector<std::size_t>* request_ends = nullptr);
  bool rejected() const { return rejected_.has_value(); }
  // Refuses everything from now on (the connection is being closed for a
  // reason found elsewhere).
  void Refuse(Rejection why) { rejected_ = std::move(why); }

 private:
  std::optional<Rejection> EndOfHead();

  const std::size_t max_head_;
  const std::size_t max_body_;
  bool in_body_ = false;
  std::string head_;
  std::size_t body_left_ = 0;
  std::optional<Rejection> rejected_;
};

}  // namespace portcullis::http::internal
