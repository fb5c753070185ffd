// Server URL parsing and the http::Client-backed Transport (see transport.h).
#include "portcullis/cli/transport.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <utility>
#include <vector>

#include "portcullis/common/strings.h"
#include "portcullis/http/client.h"

namespace portcullis::cli {
namespace {

bool ValidHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.';
}

bool ValidPathChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '/';
}

class HttpTransport final : public Transport {
 public:
  explicit HttpTransport(const Endpoint& endpoint)
      : client_({.host = endpoint.host,
                 .port = endpoint.port,
                 .tls = endpoint.tls,
                 .ca_file = endpoint.ca_file,
                 .server_name = endpoint.host}) {}

  StatusOr<Reply> Send(const std::string& method, const std::string& target,
                       const std::string& body, const std::string& bearer,
                       const Headers& extra) override {
    Headers headers;
    bool accept_given = std::any_of(extra.begin(), extra.end(),
                                    [](const auto& h) { return AsciiLower(h.first) == "accept"; });
    if (!accept_given) headers.emplace_back("Accept", "application/json");
    headers.emplace_back("User-Agent", "portcullisctl");
    if (!bearer.empty()) headers.emplace_back("Authorization", "Bearer " + bearer);
    headers.insert(headers.end(), extra.begin(), extra.end());
    StatusOr<http::ClientResponse> r = client_.Send(method, target, body, headers);
    if (!r.ok()) return r.status();
    Reply reply;
    reply.status = r->status;
    reply.body = std::move(r->body);
    if (const std::string* ct = r->Header("content-type")) reply.content_type = AsciiLower(*ct);
    if (const std::string* ra = r->Header("retry-after")) reply.retry_after = *ra;
    reply.headers = std::move(r->headers);
    return reply;
  }

 private:
  http::Client client_;
};

}  // namespace

bool IsIpLiteral(std::string_view host) {
  std::string h(host);
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

StatusOr<Endpoint> ParseServerUrl(std::string_view url, bool allow_plaintext) {
  Endpoint ep;
  std::string lower = AsciiLower(url);
  std::uint16_t default_port;
  std::string_view rest;
  if (lower.starts_with("https://")) {
    if (allow_plaintext) {
      return InvalidArgumentError("--insecure-plaintext is for an http:// server URL, got '" +
                                  std::string(url) + "'");
    }
    ep.tls = true;
    default_port = 443;
    rest = url.substr(8);
  } else if (lower.starts_with("http://")) {
    if (!allow_plaintext) {
      return InvalidArgumentError(
          "refusing plaintext http:// (credentials would travel unencrypted); use https:// or, "
          "for local development only, --insecure-plaintext");
    }
    ep.tls = false;
    default_port = 80;
    rest = url.substr(7);
  } else {
    return InvalidArgumentError("server URL must start with https://, got '" + std::string(url) +
                                "'");
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return InvalidArgumentError("server URL must not have a query or fragment");
  }
  std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    return InvalidArgumentError("server URL must not contain credentials (use PORTCULLIS_API_KEY)");
  }

  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return InvalidArgumentError("server URL has an unterminated [IPv6] address");
    }
    ep.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return InvalidArgumentError("server URL: bad text after ]");
      port_text = after.substr(1);
      if (port_text.empty()) return InvalidArgumentError("server URL has an empty port");
    }
    if (ep.host.find(':') == std::string::npos || !IsIpLiteral(ep.host)) {
      return InvalidArgumentError("server URL: '" + ep.host + "' is not an IPv6 address");
    }
  } else {
    std::size_t colon = authority.find(':');
    ep.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return InvalidArgumentError("server URL has an empty port");
    }
    if (!std::all_of(ep.host.begin(), ep.host.end(), ValidHostChar)) {
      return InvalidArgumentError("server URL has an invalid host '" + ep.host + "'");
    }
  }
  if (ep.host.empty()) return InvalidArgumentError("server URL has no host");

  ep.port = default_port;
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || value == 0 ||
        value > 65535) {
      return InvalidArgumentError("server URL has an invalid port '" + std::string(port_text) +
                                  "'");
    }
    ep.port = static_cast<std::uint16_t>(value);
  }

  while (!path.empty() && path.back() == '/')
    path.remove_suffix(1);
  if (!std::all_of(path.begin(), path.end(), ValidPathChar)) {
    return InvalidArgumentError("server URL path may only use letters, digits and -._~/");
  }
  ep.base_path = std::string(path);
  return ep;
}

std::unique_ptr<Transport> NewHttpTransport(const Endpoint& endpoint) {
  return std::make_unique<HttpTransport>(endpoint);
}

}  // namespace portcullis::cli
