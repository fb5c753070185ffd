// How portcullisctl reaches the server: the server URL parsed into an
// Endpoint, and a small Transport interface (one request, one reply) so that
// the runner can be tested with a fake and the real one wraps http::Client
// (TLS with CA and host name verification).
//
//   StatusOr<Endpoint> ep = ParseServerUrl("https://registry.example:8443", false);
//   ep->ca_file = "/etc/portcullis/ca.crt";
//   std::unique_ptr<Transport> t = NewHttpTransport(*ep);
//   StatusOr<Reply> r = t->Send("GET", "/v1/agents?limit=5", "", api_key, {});
//
// A Transport is used by one thread; failures to reach the server (resolve,
// connect, TLS handshake, a broken reply) are a non-OK status, HTTP error
// statuses are a Reply.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "portcullis/common/status.h"

namespace portcullis::cli {

struct Endpoint {
  std::string host;  // DNS name or IP address, without brackets
  std::uint16_t port = 0;
  bool tls = true;
  std::string base_path;  // "" or "/prefix" (no trailing slash) when behind a proxy
  std::string ca_file;    // required with TLS
};

// Parses "https://HOST[:PORT][/PREFIX]" (port 443 by default). "http://" is
// refused unless `allow_plaintext` (--insecure-plaintext), and then it is the
// only scheme accepted (port 80 by default). No user info, query or fragment.
StatusOr<Endpoint> ParseServerUrl(std::string_view url, bool allow_plaintext);

// Whether `host` is an IPv4 or IPv6 literal.
bool IsIpLiteral(std::string_view host);

struct Reply {
  int status = 0;
  std::string body;
  std::string content_type;  // lower-case, "" when absent
  std::string retry_after;   // the Retry-After header, "" when absent
  // Every header, names lower-case (export reads Portcullis-Next-Cursor).
  std::map<std::string, std::string> headers;
};

// Request headers beyond Accept, User-Agent and Authorization.
using Headers = std::vector<std::pair<std::string, std::string>>;

class Transport {
 public:
  virtual ~Transport() = default;
  // `target` is the path and query, already encoded. `bearer` goes into the
  // Authorization header; `body`, when not empty, is sent as JSON; `headers`
  // are added as they are (If-Match), an Accept among them replacing the
  // default application/json (export asks for lines).
  virtual StatusOr<Reply> Send(const std::string& method, const std::string& target,
                               const std::string& body, const std::string& bearer,
                               const Headers& headers) = 0;
};

using TransportFactory = std::function<std::unique_ptr<Transport>(const Endpoint&)>;

// The real transport: one kept-alive connection through http::Client.
std::unique_ptr<Transport> NewHttpTransport(const Endpoint& endpoint);

}  // namespace portcullis::cli
