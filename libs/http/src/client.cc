#include "portcullis/http/client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "portcullis/common/strings.h"

namespace portcullis::http {
namespace {

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

}  // namespace

const std::string* ClientResponse::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? nullptr : &it->second;
}

struct Client::Conn {
  int fd = -1;
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  std::string buffered;  // bytes read past the previous response
  ~Conn() {
    if (ssl != nullptr) {
      SSL_shutdown(ssl);
      SSL_free(ssl);
    }
    if (ctx != nullptr) SSL_CTX_free(ctx);
    if (fd >= 0) ::close(fd);
  }
};

Client::Client(ClientOptions options) : options_(std::move(options)) {
  // SSL_write to a peer that closed raises SIGPIPE (there is no MSG_NOSIGNAL
  // for it): a process using the client gets write errors instead.
  static std::once_flag ignore_sigpipe;
  std::call_once(ignore_sigpipe, [] { signal(SIGPIPE, SIG_IGN); });  // NOLINT
}
Client::~Client() = default;

void Client::Close() {
  conn_.reset();
}

Status Client::Connect() {
  Close();
  auto conn = std::make_unique<Conn>();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(options_.port);
  int rc = getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) return UnavailableError("resolve " + options_.host + ": " + gai_strerror(rc));
  Status last = UnavailableError("no address for " + options_.host);
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    timeval tv{};
    tv.tv_sec = options_.timeout.count() / 1000;
    tv.tv_usec = static_cast<suseconds_t>((options_.timeout.count() % 1000) * 1000);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      conn->fd = fd;
      break;
    }
    last =
        UnavailableError("connect to " + options_.host + ":" + port + ": " + std::strerror(errno));
    ::close(fd);
  }
  freeaddrinfo(res);
  if (conn->fd < 0) return last;

  if (options_.tls) {
    if (options_.ca_file.empty()) return InvalidArgumentError("TLS client needs a CA file");
    conn->ctx = SSL_CTX_new(TLS_client_method());
    if (conn->ctx == nullptr) return InternalError("SSL_CTX_new: " + OpenSslError());
    SSL_CTX_set_min_proto_version(conn->ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(conn->ctx, SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_load_verify_locations(conn->ctx, options_.ca_file.c_str(), nullptr) != 1) {
      return InvalidArgumentError("cannot load CA file '" + options_.ca_file +
                                  "': " + OpenSslError());
    }
    conn->ssl = SSL_new(conn->ctx);
    SSL_set_fd(conn->ssl, conn->fd);
    X509_VERIFY_PARAM* param = SSL_get0_param(conn->ssl);
    in6_addr probe{};
    bool is_ip = inet_pton(AF_INET, options_.server_name.c_str(), &probe) == 1 ||
                 inet_pton(AF_INET6, options_.server_name.c_str(), &probe) == 1;
    if (is_ip) {
      // An address is checked against the certificate's IP SANs; no SNI.
      X509_VERIFY_PARAM_set1_ip_asc(param, options_.server_name.c_str());
    } else {
      // SSL_set_tlsext_host_name is a macro with a C cast; call what it expands to.
      SSL_ctrl(conn->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(options_.server_name.c_str()));
      X509_VERIFY_PARAM_set1_host(param, options_.server_name.c_str(), 0);
    }
    if (SSL_connect(conn->ssl) != 1) {
      long verify = SSL_get_verify_result(conn->ssl);
      std::string why =
          verify != X509_V_OK ? X509_verify_cert_error_string(verify) : OpenSslError();
      return UnavailableError("TLS handshake with " + options_.host + ":" + port + ": " + why);
    }
  }
  conn_ = std::move(conn);
  ++connections_opened_;
  return OkStatus();
}

StatusOr<ClientResponse> Client::Send(
    const std::string& method, const std::string& target, const std::string& body,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: " + options_.server_name +
                    "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  bool has_type = false;
  for (const auto& [k, v] : headers) {
    req += k + ": " + v + "\r\n";
    has_type = has_type || AsciiLower(k) == "content-type";
  }
  if (!body.empty() && !has_type) req += "Content-Type: application/json\r\n";
  req += "\r\n" + body;
  return Exchange(req, /*retry_on_stale=*/true);
}

StatusOr<ClientResponse> Client::SendRaw(const std::string& bytes) {
  return Exchange(bytes, /*retry_on_stale=*/false);
}

StatusOr<ClientResponse> Client::Exchange(const std::string& bytes, bool retry_on_stale) {
  bool reused = conn_ != nullptr;
  if (!reused) PORTCULLIS_RETURN_IF_ERROR(Connect());

  auto write_all = [&](const std::string& data) -> bool {
    std::size_t off = 0;
    while (off < data.size()) {
      int n = conn_->ssl != nullptr
                  ? SSL_write(conn_->ssl, data.data() + off, static_cast<int>(data.size() - off))
                  : static_cast<int>(
                        ::send(conn_->fd, data.data() + off, data.size() - off, MSG_NOSIGNAL));
      if (n <= 0) {
        if (conn_->ssl == nullptr && n < 0 && errno == EINTR) continue;
        return false;
      }
      off += static_cast<std::size_t>(n);
    }
    return true;
  };
  // Reads more bytes into the buffer; false on EOF or error.
  auto read_more = [&]() -> bool {
    char buf[16384];
    int n = conn_->ssl != nullptr ? SSL_read(conn_->ssl, buf, sizeof(buf))
                                  : static_cast<int>(::recv(conn_->fd, buf, sizeof(buf), 0));
    if (n <= 0) return false;
    conn_->buffered.append(buf, static_cast<std::size_t>(n));
    return conn_->buffered.size() <= options_.max_response_bytes;
  };

  // A server may answer (413, say) and close before taking the whole request:
  // on a failed write, still read what it said.
  bool sent = write_all(bytes);

  std::string& buf = conn_->buffered;
  std::size_t head_end;
  while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
    if (!read_more()) {
      bool nothing = buf.empty();
      Close();
      if (nothing && reused && retry_on_stale) return Exchange(bytes, false);
      return UnavailableError(sent ? "connection closed before a complete response"
                                   : "failed to send the request");
    }
  }
  ClientResponse resp;
  std::string head = buf.substr(0, head_end);
  std::size_t line_end = head.find("\r\n");
  std::string status_line = head.substr(0, line_end);
  if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) {
    Close();
    return InternalError("malformed status line: " + status_line);
  }
  resp.status = std::atoi(status_line.c_str() + 9);
  std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    std::size_t e = head.find("\r\n", pos);
    if (e == std::string::npos) e = head.size();
    std::string line = head.substr(pos, e - pos);
    std::size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string v = line.substr(colon + 1);
      v.erase(0, v.find_first_not_of(' '));
      resp.headers[AsciiLower(line.substr(0, colon))] = v;
    }
    pos = e + 2;
  }
  buf.erase(0, head_end + 4);

  const std::string* te = resp.Header("transfer-encoding");
  if (te != nullptr && AsciiLower(*te).find("chunked") != std::string::npos) {
    for (;;) {
      std::size_t le;
      while ((le = buf.find("\r\n")) == std::string::npos) {
        if (!read_more()) return UnavailableError("truncated chunked response");
      }
      std::size_t size = std::strtoul(buf.substr(0, le).c_str(), nullptr, 16);
      while (buf.size() < le + 2 + size + 2) {
        if (!read_more()) return UnavailableError("truncated chunked response");
      }
      resp.body.append(buf, le + 2, size);
      buf.erase(0, le + 2 + size + 2);
      if (size == 0) break;
    }
  } else if (const std::string* cl = resp.Header("content-length")) {
    std::size_t len = std::strtoull(cl->c_str(), nullptr, 10);
    if (len > options_.max_response_bytes) return ResourceExhaustedError("response too large");
    while (buf.size() < len) {
      if (!read_more()) return UnavailableError("truncated response body");
    }
    resp.body = buf.substr(0, len);
    buf.erase(0, len);
  } else {
    while (read_more()) {
    }
    resp.body = std::move(buf);
    buf.clear();
    Close();
    return resp;
  }
  const std::string* connection = resp.Header("connection");
  if (connection != nullptr && AsciiLower(*connection) == "close") Close();
  return resp;
}

}  // namespace portcullis::http
