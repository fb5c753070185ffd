// A small blocking HTTP/1.1 client over TLS (OpenSSL) or plain TCP, for
// portcullisctl, the agent's uplink and the test suites. One connection, kept
// alive across calls and re-opened when the server closed it.
//
//   http::Client c({.host = "127.0.0.1", .port = 8443, .ca_file = "ca.crt"});
//   StatusOr<http::ClientResponse> r = c.Send("GET", "/healthz");
//
// Not thread-safe: one Client per thread. The first Client makes the process
// ignore SIGPIPE (a closed TLS peer would otherwise kill it).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "portcullis/common/status.h"

namespace portcullis::http {

struct ClientOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  bool tls = true;
  std::string ca_file;                    // verify the server against this CA (required with TLS)
  std::string server_name = "localhost";  // SNI and the name the certificate must carry
  std::chrono::milliseconds timeout{10000};
  std::size_t max_response_bytes = 64 << 20;
};

struct ClientResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  const std::string* Header(const std::string& lower_name) const;
};

class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  StatusOr<ClientResponse> Send(
      const std::string& method, const std::string& target, const std::string& body = {},
      const std::vector<std::pair<std::string, std::string>>& headers = {});
  // Sends bytes as they are (for malformed-request tests) and reads one response.
  StatusOr<ClientResponse> SendRaw(const std::string& bytes);
  // Number of TCP connections opened so far (keep-alive tests).
  int connections_opened() const { return connections_opened_; }

 private:
  struct Conn;
  Status Connect();
  void Close();
  StatusOr<ClientResponse> Exchange(const std::string& bytes, bool retry_on_stale);

  ClientOptions options_;
  std::unique_ptr<Conn> conn_;
  int connections_opened_ = 0;
};

}  // namespace portcullis::http
