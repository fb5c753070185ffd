// The HTTP server every Portcullis service runs: Pistache underneath, with
// routing, TLS, explicit keep-alive, request size limits, timeouts, JSON error
// bodies, an authentication hook, access logs and request metrics.
//
//   http::Server server(options, metrics);
//   server.Route(http::Method::kGet, "/v1/agents/{id}", handler,
//                {.authenticate = true});
//   server.SetAuthenticator(authenticator);
//   if (Status s = server.Start(); !s.ok()) ...
//   ...
//   server.Shutdown();
//
// A handler never throws to Pistache: anything thrown becomes a JSON 500 and a
// log line. Routes are registered before Start() and immutable afterwards, so
// worker threads read them without locks.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "portcullis/common/ids.h"
#include "portcullis/common/status.h"
#include "portcullis/metrics/registry.h"

namespace portcullis::http {

enum class Method { kGet, kPost, kPut, kPatch, kDelete, kHead, kOptions };
std::string_view MethodName(Method m);

// Who is calling, as established by the Authenticator.
struct Principal {
  std::string kind;     // "admin_key", "analyst_key", "agent", "operator", ...
  std::string subject;  // key id or agent id: safe to log, never a secret
  std::optional<TenantId> tenant;
  std::vector<std::string> scopes;
  bool HasScope(std::string_view scope) const;
};

struct Request {
  Method method = Method::kGet;
  std::string path;   // without the query string
  std::string route;  // the matched pattern, e.g. "/v1/agents/{id}"
  std::map<std::string, std::string> path_params;
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string remote_address;
  std::string request_id;
  std::optional<Principal> principal;  // set when the route authenticates

  // Header value by lower-case name.
  const std::string* Header(std::string_view lower_name) const;
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;

  static Response Json(int status, const nlohmann::json& body);
  // {"error":{"code":..., "message":..., "location":...}} with the HTTP status
  // of `status`'s code. `location` (a JSON pointer, header or parameter name)
  // is omitted when empty.
  static Response Error(const Status& status, std::string_view location = {});
  static Response Error(int http_status, std::string_view code, std::string_view message,
                        std::string_view location = {});
  // 400 listing every problem: "message" names the first and how many there
  // are, "location" is the first one's, "details" has them all.
  static Response Invalid(const std::vector<std::pair<std::string, std::string>>& problems);
};

// The HTTP status a canonical code maps to.
int HttpStatusFor(StatusCode code);

using Handler = std::function<Response(const Request&)>;

// Deferred responses (long-polls): the handler returns at once and the
// response is sent later, from any thread, by calling the Responder exactly
// once (later calls are ignored). Until then the request counts as in flight,
// and no worker thread is held. A Responder that is dropped without being
// called answers 500, so no client waits forever on a lost request.
// Answer within the server's header_timeout: Pistache 0.0.5 counts a
// connection whose request was handed over as waiting for its next request
// and answers 408 when that timeout passes (see libs/http/README.md).
class Responder {
 public:
  struct State;
  explicit Responder(std::shared_ptr<State> state) : state_(std::move(state)) {}
  void operator()(Response response) const;

 private:
  std::shared_ptr<State> state_;
};
using DeferredHandler = std::function<void(const Request&, Responder)>;

// The authentication hook: turns credentials of a request into a Principal or
// an Unauthenticated/PermissionDenied status (-> 401/403 JSON errors).
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  virtual StatusOr<Principal> Authenticate(const Request& request) = 0;
};

struct RouteOptions {
  bool authenticate = true;        // false only for health, readiness, metrics...
  bool access_log = true;          // off for probes hit every few seconds
  std::size_t max_body_bytes = 0;  // 0: the server's default
};

struct ServerOptions {
  std::string service = "portcullis";
  std::string listen = "127.0.0.1:0";  // host:port; port 0 picks a free one
  int threads = 2;
  std::size_t max_body_bytes = 1 << 20;
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};
  std::chrono::milliseconds keepalive_timeout{60000};
  // TLS is on unless allow_plaintext is set explicitly (development only).
  std::string tls_cert_file;
  std::string tls_key_file;
  bool allow_plaintext = false;
};

class Server {
 public:
  Server(ServerOptions options, std::shared_ptr<metrics::Registry> metrics);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registers a route. Patterns are literal segments and {name} captures,
  // matched segment by segment. Must be called before Start().
  void Route(Method method, std::string pattern, Handler handler, RouteOptions options = {});
  void RouteDeferred(Method method, std::string pattern, DeferredHandler handler,
                     RouteOptions options = {});
  // Called when Shutdown starts, before it waits for requests in flight:
  // answer deferred requests now (they would otherwise hold the drain).
  void OnDraining(std::function<void()> fn);
  void SetAuthenticator(std::shared_ptr<Authenticator> authenticator);

  // Binds and starts serving on background threads.
  Status Start();
  // The bound port (after Start).
  std::uint16_t port() const;
  bool tls() const { return !options_.allow_plaintext; }
  // Stops accepting, lets in-flight requests finish, joins the threads.
  void Shutdown();

  const ServerOptions& options() const { return options_; }

  struct State;  // routing table and shared instruments (internal)

 private:
  const ServerOptions options_;
  std::shared_ptr<State> state_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Splits "host:port" ("[::1]:443" for IPv6); InvalidArgument on bad input.
StatusOr<std::pair<std::string, std::uint16_t>> ParseListenAddress(std::string_view text);

}  // namespace portcullis::http
