#include "portcullis/http/server.h"

#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/net.h>
#include <pistache/peer.h>
#include <sys/socket.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "pistache_access.h"
#include "portcullis/common/log.h"
#include "portcullis/common/strings.h"
#include "request_framing.h"

namespace portcullis::http {
namespace {

namespace P = Pistache;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxRequestIdLength = 128;
// Pistache rejects a request whose head plus body exceed its buffer with a
// plain-text 413 of its own; leave room for headers so that our JSON 413 (from
// the per-route limit) is what clients see for any body that fits the buffer.
constexpr std::size_t kHeaderAllowance = 64 * 1024;
constexpr std::chrono::milliseconds kWriteGrace{200};

std::optional<Method> FromPistache(P::Http::Method m) {
  switch (m) {
    case P::Http::Method::Get:
      return Method::kGet;
    case P::Http::Method::Post:
      return Method::kPost;
    case P::Http::Method::Put:
      return Method::kPut;
    case P::Http::Method::Patch:
      return Method::kPatch;
    case P::Http::Method::Delete:
      return Method::kDelete;
    case P::Http::Method::Head:
      return Method::kHead;
    case P::Http::Method::Options:
      return Method::kOptions;
    default:
      return std::nullopt;
  }
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/')
      ++i;
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

// application/x-www-form-urlencoded decoding of a query name or value ('+'
// is a space, %XX a byte). Pistache 0.0.5 hands them over undecoded. An
// invalid escape is kept as it is.
std::string DecodeQueryComponent(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < in.size() &&
               std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool ValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdLength) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

// A response header with any name. Pistache 0.0.5 does not write the "raw"
// headers of a response, only typed ones, so every header we add is typed.
class NamedHeader final : public P::Http::Header::Header {
 public:
  NamedHeader(std::string name, std::string value)
      : name_(std::move(name)), value_(std::move(value)) {}
  const char* name() const override { return name_.c_str(); }
  void parse(const std::string& data) override { value_ = data; }
  void write(std::ostream& os) const override { os << value_; }
#ifdef SAFE_HEADER_CAST
  uint64_t hash() const override {
    return std::hash<std::string>()(name_);
  }
#endif

 private:
  std::string name_;
  std::string value_;
};

struct CompiledRoute {
  Method method;
  std::string pattern;
  std::vector<std::string> segments;  // "{name}" for captures
  Handler handler;                    // one of handler and deferred is set
  DeferredHandler deferred;
  RouteOptions options;
};

}  // namespace

struct Server::State {
  ServerOptions options;
  std::shared_ptr<metrics::Registry> metrics;
  std::vector<CompiledRoute> routes;
  std::shared_ptr<Authenticator> authenticator;
  prometheus::Family<prometheus::Counter>* requests = nullptr;
  prometheus::Family<prometheus::Histogram>* latency = nullptr;
  prometheus::Gauge* in_flight_gauge = nullptr;

  std::mutex mu;  // guards in_flight and draining for the shutdown wait
  std::condition_variable idle;
  int in_flight = 0;
  bool draining = false;
  std::vector<std::function<void()>> on_draining;
  // The largest body any route accepts: the framing guard's limit (each
  // route's own limit is checked once its request is routed).
  std::size_t largest_body = 0;

  // Finds the route for method+path. Sets *path_matched when some route has
  // the path but not the method (-> 405).
  const CompiledRoute* Match(Method method, std::string_view path,
                             std::map<std::string, std::string>* params, bool* path_matched) const {
    std::vector<std::string_view> parts = SplitPath(path);
    for (const CompiledRoute& r : routes) {
      if (r.segments.size() != parts.size()) continue;
      std::map<std::string, std::string> captured;
      bool ok = true;
      for (std::size_t i = 0; i < parts.size() && ok; ++i) {
        const std::string& seg = r.segments[i];
        if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
          captured[seg.substr(1, seg.size() - 2)] = std::string(parts[i]);
        } else {
          ok = seg == parts[i];
        }
      }
      if (!ok) continue;
      *path_matched = true;
      if (r.method != method) continue;
      *params = std::move(captured);
      return &r;
    }
    return nullptr;
  }

  // Sets req.principal, or returns the error response.
  std::optional<Response> Authenticate(Request& req, const CompiledRoute* route) const {
    if (!route->options.authenticate) return std::nullopt;
    if (!authenticator) {
      return Response::Error(UnauthenticatedError("this endpoint requires credentials"));
    }
    StatusOr<Principal> p = authenticator->Authenticate(req);
    if (!p.ok()) return Response::Error(p.status(), "authorization");
    req.principal = std::move(*p);
    return std::nullopt;
  }

  // Runs a deferred handler; true if it took the request (it will answer
  // through `responder`), false with `*resp` set if it threw.
  bool DispatchDeferred(Request& req, const CompiledRoute* route, const Responder& responder,
                        Response* resp) const {
    try {
      route->deferred(req, responder);
      return true;
    } catch (const std::exception& e) {
      log::Error("handler threw",
                 {{"route", route->pattern}, {"error", e.what()}, {"request_id", req.request_id}});
    } catch (...) {
      log::Error("handler threw", {{"route", route->pattern}, {"request_id", req.request_id}});
    }
    *resp = Response::Error(
        InternalError("internal error; see the service log for request " + req.request_id));
    return false;
  }

  Response Dispatch(Request& req, const CompiledRoute* route) const {
    if (std::optional<Response> denied = Authenticate(req, route)) return *denied;
    try {
      return route->handler(req);
    } catch (const std::exception& e) {
      log::Error("handler threw",
                 {{"route", route->pattern}, {"error", e.what()}, {"request_id", req.request_id}});
    } catch (...) {
      log::Error("handler threw", {{"route", route->pattern}, {"request_id", req.request_id}});
    }
    return Response::Error(
        InternalError("internal error; see the service log for request " + req.request_id));
  }
};

namespace {

P::Async::Promise<ssize_t> Send(const Request& req, const Response& resp,
                                P::Http::ResponseWriter& writer, bool close) {
  // Keep-alive is explicit: Pistache 0.0.5 otherwise answers "Connection:
  // close" to every HTTP/1.1 request without a Connection header, and it
  // reports such requests as if they had sent "close", so the request's
  // header can't be trusted either. A client that wants to close does so.
  // ResponseWriter starts with a Connection header copied from the request,
  // and Collection::add does not replace: remove it first.
  writer.headers().remove<P::Http::Header::Connection>();
  writer.headers().add<P::Http::Header::Connection>(close ? P::Http::ConnectionControl::Close
                                                          : P::Http::ConnectionControl::KeepAlive);
  auto& headers = writer.headers();
  headers.add(std::make_shared<NamedHeader>("X-Request-Id", req.request_id));
  headers.add(std::make_shared<NamedHeader>("Cache-Control", "no-store"));
  headers.add(std::make_shared<NamedHeader>("X-Content-Type-Options", "nosniff"));
  for (const auto& [name, value] : resp.headers) {
    headers.add(std::make_shared<NamedHeader>(name, value));
  }
  if (resp.body.empty() && resp.status == 204) {
    return writer.send(P::Http::Code::No_Content);
  }
  return writer.send(static_cast<P::Http::Code>(resp.status), resp.body,
                     P::Http::Mime::MediaType::fromString(resp.content_type));
}

// On the reactor thread: writes `wire` (possibly nothing) behind what is
// already queued on the connection, then half-closes it (a lingering close:
// the client may still be sending; closing our reading side too would answer
// those bytes with a reset that can destroy our answer before the client
// reads it). The shutdown runs on the reactor thread right after the write,
// while the connection is still registered. A failed write means the peer is
// gone: its descriptor is Pistache's to close, and by then its number may
// belong to another connection, so nothing is done with it.
void WriteThenHalfClose(const std::shared_ptr<P::Tcp::Peer>& peer, const std::string& wire) {
  const int fd = peer->fd();
  peer->send(P::RawBuffer(wire, wire.size()))
      .then([fd](ssize_t) { ::shutdown(fd, SHUT_WR); }, [](std::exception_ptr) {});
}

}  // namespace

namespace internal {

// One connection's state, kept with its Pistache peer: the framing guard, and
// whether a deferred request on it still waits for its answer. HTTP/1.1
// answers in order, so a request pipelined behind such a request can't be
// processed before that answer is out; it is not processed at all, and the
// answer says "Connection: close" (RFC 9112 9.3.2: a client that pipelines
// retries what was left unanswered).
struct Connection {
  Connection(std::size_t max_head, std::size_t max_body) : framing(max_head, max_body) {}

  // On the reactor thread, before each request's bytes go to the parser:
  // whether they may, or the pending answer must say "Connection: close".
  bool MayProceed() {
    std::lock_guard<std::mutex> lock(mu);
    if (!answer_pending) return true;
    close_after_answer = true;
    return false;
  }

  RequestFraming framing;  // reactor thread only
  std::mutex mu;
  bool answer_pending = false;      // guarded by mu
  bool close_after_answer = false;  // guarded by mu
};

}  // namespace internal

// A request on its way to its response: what finishing it needs (the writer,
// what to log and measure) and the once-only guard.
struct Responder::State {
  State(std::shared_ptr<Server::State> s, P::Http::ResponseWriter w)
      : server(std::move(s)), writer(std::move(w)) {}
  ~State() {
    if (!answered.load()) {
      Finish(Response::Error(InternalError(
          "internal error: the request was dropped unanswered; see the service log for request " +
          req.request_id)));
    }
  }

  void Finish(Response resp) {
    if (answered.exchange(true)) return;
    // The answer of a deferred request: queued before the connection is free
    // for the next request (Pistache writes in the order it is given).
    std::unique_lock<std::mutex> connection_lock;
    bool close_after = false;
    if (connection) {
      connection_lock = std::unique_lock<std::mutex>(connection->mu);
      close_after = connection->close_after_answer;
      connection->answer_pending = false;
    }
    try {
      // After a dropped pipelined request the answer says "Connection:
      // close" and nothing more is read (the framing guard refuses it): the
      // client closes and sends again. (No shutdown() here: this thread is
      // not the reactor's, and by the time the write completes the peer may
      // be gone and its descriptor number reused by another connection.)
      (void)Send(req, resp, writer, close || close_after);
    } catch (const std::exception& e) {
      // The peer went away while the response was pending.
      log::Info("response not sent", {{"error", e.what()}, {"request_id", req.request_id}});
    }
    if (connection_lock.owns_lock()) connection_lock.unlock();
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::string route_label = route != nullptr ? route->pattern : "unmatched";
    server->requests
        ->Add({{"method", method_label},
               {"route", route_label},
               {"code", std::to_string(resp.status)}})
        .Increment();
    server->latency
        ->Add({{"method", method_label}, {"route", route_label}}, metrics::LatencyBuckets())
        .Observe(seconds);
    if (route == nullptr || route->options.access_log) {
      log::Info("request", {{"method", method_label},
                            {"path", req.path},
                            {"route", route_label},
                            {"status", resp.status},
                            {"duration_ms", seconds * 1000.0},
                            {"bytes_in", bytes_in},
                            {"bytes_out", resp.body.size()},
                            {"remote", req.remote_address},
                            {"request_id", req.request_id},
                            {"principal", req.principal ? req.principal->subject : ""}});
    }
    server->in_flight_gauge->Decrement();
    {
      std::lock_guard<std::mutex> lock(server->mu);
      --server->in_flight;
    }
    server->idle.notify_all();
  }

  std::shared_ptr<Server::State> server;
  P::Http::ResponseWriter writer;
  Request req;
  const CompiledRoute* route = nullptr;
  std::string method_label;
  Clock::time_point start = Clock::now();
  std::size_t bytes_in = 0;
  bool close = false;  // draining: close the connection after the response
  std::atomic<bool> answered{false};
  // Set for a deferred request: its connection waits for this answer.
  std::shared_ptr<internal::Connection> connection;
};

// The send promise is not settled when the peer has gone away, so the
// request stops counting as in flight once its response is queued; Shutdown
// leaves the reactor a grace period to write it out.
void Responder::operator()(Response response) const {
  state_->Finish(std::move(response));
}

namespace {

class PistacheHandler : public P::Http::Handler {
 public:
  HTTP_PROTOTYPE(PistacheHandler)

  explicit PistacheHandler(std::shared_ptr<Server::State> state) : state_(std::move(state)) {}

  void onRequest(const P::Http::Request& preq, P::Http::ResponseWriter writer) override {
    dispatched_ = true;
    auto pending = std::make_shared<Responder::State>(state_, std::move(writer));
    Request& req = pending->req;
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      ++state_->in_flight;
    }
    state_->in_flight_gauge->Increment();
    req.path = preq.resource();
    req.remote_address = preq.address().host();
    for (const auto& h : preq.headers().list()) {
      std::ostringstream value;
      h->write(value);
      req.headers[AsciiLower(h->name())] = value.str();
    }
    for (const auto& [name, raw] : preq.headers().rawList()) {
      req.headers[AsciiLower(name)] = raw.value();
    }
    const std::string* rid = req.Header("x-request-id");
    req.request_id = rid != nullptr && ValidRequestId(*rid) ? *rid : Uuid::Random().ToString();
    for (auto it = preq.query().parameters_begin(); it != preq.query().parameters_end(); ++it) {
      req.query[DecodeQueryComponent(it->first)] = DecodeQueryComponent(it->second);
    }
    pending->bytes_in = preq.body().size();

    Response resp;
    const CompiledRoute* route = nullptr;
    std::optional<Method> method = FromPistache(preq.method());
    pending->method_label = method ? MethodName(*method) : "OTHER";
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      pending->close = state_->draining;
    }
    if (pending->close) {
      resp = Response::Error(UnavailableError("the service is shutting down"));
      resp.headers.emplace_back("Retry-After", "1");
    } else if (!method) {
      resp = Response::Error(405, "method_not_allowed", "unsupported HTTP method");
    } else {
      req.method = *method;
      bool path_matched = false;
      route = state_->Match(*method, req.path, &req.path_params, &path_matched);
      if (route == nullptr) {
        resp = path_matched ? Response::Error(405, "method_not_allowed",
                                              std::string(MethodName(*method)) +
                                                  " is not allowed on " + req.path)
                            : Response::Error(NotFoundError("no such endpoint: " + req.path));
      } else {
        req.route = route->pattern;
        pending->route = route;
        std::size_t limit = route->options.max_body_bytes != 0 ? route->options.max_body_bytes
                                                               : state_->options.max_body_bytes;
        if (preq.body().size() > limit) {
          resp = Response::Error(413, "payload_too_large",
                                 "request body of " + std::to_string(preq.body().size()) +
                                     " bytes exceeds the limit of " + std::to_string(limit),
                                 "body");
        } else {
          req.body = preq.body();
          if (!route->deferred) {
            resp = state_->Dispatch(req, route);
          } else if (std::optional<Response> denied = state_->Authenticate(req, route)) {
            resp = std::move(*denied);
          } else {
            if (current_ != nullptr) {
              std::lock_guard<std::mutex> lock(current_->mu);
              current_->answer_pending = true;
              pending->connection = current_;
            }
            if (state_->DispatchDeferred(req, route, Responder{pending}, &resp)) {
              return;  // the handler answers through its Responder
            }
          }
        }
      }
    }
    Responder{pending}(std::move(resp));
  }

  // Runs the framing guard on every byte before Pistache's parser sees it,
  // and gives the parser one request at a time: Pistache 0.0.5's parser
  // drops whatever follows a complete request in the same call, so requests
  // a client pipelined would go unanswered.
  void onInput(const char* buffer, size_t len, const std::shared_ptr<P::Tcp::Peer>& peer) override {
    static const std::string kKey = "portcullis.connection";
    auto connection = std::static_pointer_cast<internal::Connection>(peer->tryGetData(kKey));
    if (!connection) {
      connection = std::make_shared<internal::Connection>(kHeaderAllowance, state_->largest_body);
      peer->putData(kKey, connection);
    }
    internal::RequestFraming& framing = connection->framing;
    if (framing.rejected()) return;  // the connection is closing: drop the rest
    std::vector<std::size_t> ends;
    // (A rejection is of a request after those that ended before it: they
    // are answered first, in order.)
    const std::optional<internal::Rejection> rejection =
        framing.Feed(std::string_view(buffer, len), &ends);
    if (!rejection && (ends.empty() || ends.back() != len)) {
      ends.push_back(len);  // the start of a request not complete yet
    }
    auto may_proceed = [&] {
      if (connection->MayProceed()) return true;
      // Pipelined behind a request still waiting for its answer: dropped,
      // and that answer says "Connection: close" (Responder::State::Finish).
      framing.Refuse({400, "bad_request", "pipelined behind a pending answer"});
      state_->requests->Add({{"method", "OTHER"}, {"route", "pipelined"}, {"code", "dropped"}})
          .Increment();
      log::Info(
          "request pipelined behind a pending answer: dropped, and that answer says "
          "Connection: close",
          {{"remote", peer->address().host()}});
      return false;
    };
    std::size_t from = 0;
    for (std::size_t end : ends) {
      if (!may_proceed()) return;
      dispatched_ = false;
      current_ = connection;
      internal::PistacheParseInput(*this, buffer + from, end - from, peer);
      current_.reset();
      if (!dispatched_ && end > from && internal::PistacheParserIdle(peer)) {
        RefusedByParser(framing, peer);
        return;
      }
      from = end;
    }
    if (rejection && may_proceed()) Reject(*rejection, peer);
  }

  void onTimeout(const P::Http::Request& preq, P::Http::ResponseWriter writer) override {
    Request req;
    req.request_id = Uuid::Random().ToString();
    Response resp =
        Response::Error(408, "request_timeout", "the request was not received in time", "");
    (void)Send(req, resp, writer, /*close=*/true);
    log::Warn("request timed out", {{"remote", preq.address().host()}});
  }

 private:
  // Answers a request the framing guard refused and closes the connection
  // once the answer is written: what follows on it can't be trusted.
  void Reject(const internal::Rejection& r, const std::shared_ptr<P::Tcp::Peer>& peer) {
    Response resp = Response::Error(r.status, r.code, r.message);
    std::string reason = r.status == 413   ? "Payload Too Large"
                         : r.status == 411 ? "Length Required"
                         : r.status == 431 ? "Request Header Fields Too Large"
                                           : "Bad Request";
    std::string wire = "HTTP/1.1 " + std::to_string(r.status) + " " + reason +
                       "\r\nContent-Type: application/json\r\nContent-Length: " +
                       std::to_string(resp.body.size()) +
                       "\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n" + resp.body;
    // What still arrives is dropped (rejected() above) until the client
    // closes, or Pistache's header timeout does.
    WriteThenHalfClose(peer, wire);
    state_->requests
        ->Add({{"method", "OTHER"}, {"route", "rejected"}, {"code", std::to_string(r.status)}})
        .Increment();
    log::Warn("request rejected before parsing",
              {{"status", r.status}, {"reason", r.message}, {"remote", peer->address().host()}});
  }

  // Pistache's parser refused the request (an unknown method, a header its
  // typed parsers reject) and Pistache answered it itself, keeping the
  // connection: the rest of that request (its body, on its way) or the header
  // timeout would then get a second answer, which the client would take for
  // its next request's. Nothing more is read; the connection closes once that
  // answer is out (Pistache's transport writes in the order it was given: an
  // empty write queued behind the answer completes after it).
  void RefusedByParser(internal::RequestFraming& framing,
                       const std::shared_ptr<P::Tcp::Peer>& peer) {
    framing.Refuse({400, "bad_request", "request refused by the HTTP parser"});
    WriteThenHalfClose(peer, std::string());
    state_->requests->Add({{"method", "OTHER"}, {"route", "rejected"}, {"code", "400"}})
        .Increment();
    log::Warn("request refused by the HTTP parser: connection closed",
              {{"remote", peer->address().host()}});
  }

  std::shared_ptr<Server::State> state_;
  // Set around the parser's call, which calls onRequest from within onInput
  // on the same thread: per thread, whether or not handlers are shared
  // between reactor threads. Whether the parser dispatched a request, and
  // the connection it came on.
  static inline thread_local bool dispatched_ = false;
  static inline thread_local std::shared_ptr<internal::Connection> current_;
};

}  // namespace

struct Server::Impl {
  std::unique_ptr<P::Http::Endpoint> endpoint;
  bool started = false;
};

std::string_view MethodName(Method m) {
  switch (m) {
    case Method::kGet:
      return "GET";
    case Method::kPost:
      return "POST";
    case Method::kPut:
      return "PUT";
    case Method::kPatch:
      return "PATCH";
    case Method::kDelete:
      return "DELETE";
    case Method::kHead:
      return "HEAD";
    case Method::kOptions:
      return "OPTIONS";
  }
  Fatal("unknown http::Method");
}

bool Principal::HasScope(std::string_view scope) const {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

const std::string* Request::Header(std::string_view lower_name) const {
  auto it = headers.find(std::string(lower_name));
  return it == headers.end() ? nullptr : &it->second;
}

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
      return 409;
    case StatusCode::kFailedPrecondition:
      return 412;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kInternal:
      return 500;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kDeadlineExceeded:
      return 504;
  }
  Fatal("unknown StatusCode");
}

Response Response::Json(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Response Response::Error(int http_status, std::string_view code, std::string_view message,
                         std::string_view location) {
  nlohmann::json err = {{"code", code}, {"message", message}};
  if (!location.empty()) err["location"] = location;
  Response r = Json(http_status, {{"error", err}});
  if (http_status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

Response Response::Error(const Status& status, std::string_view location) {
  std::string_view code = status.code() == StatusCode::kResourceExhausted
                              ? std::string_view("rate_limited")
                              : StatusCodeName(status.code());
  // An internal error's text (a database message, say) is for the log, not
  // for the client: it can carry schema names and row values.
  std::string message = status.message();
  if (status.code() == StatusCode::kInternal) {
    std::string id = Uuid::Random().ToString();
    log::Error("internal error", {{"error", status.message()}, {"error_id", id}});
    message = "internal error " + id + " (details are in the service log)";
  }
  Response r = Error(HttpStatusFor(status.code()), code, message, location);
  if (status.code() == StatusCode::kResourceExhausted ||
      status.code() == StatusCode::kUnavailable) {
    r.headers.emplace_back("Retry-After",
                           std::to_string(std::max(1, status.retry_after_seconds())));
  }
  return r;
}

Response Response::Invalid(const std::vector<std::pair<std::string, std::string>>& problems) {
  if (problems.empty()) Fatal("Response::Invalid without problems");
  nlohmann::json details = nlohmann::json::array();
  for (const auto& [location, message] : problems) {
    details.push_back({{"location", location}, {"message", message}});
  }
  std::string message = problems.front().second;
  if (problems.size() > 1) {
    message += " (and " + std::to_string(problems.size() - 1) + " more problem" +
               (problems.size() > 2 ? "s" : "") + ")";
  }
  return Json(400, {{"error",
                     {{"code", "invalid_argument"},
                      {"message", message},
                      {"location", problems.front().first},
                      {"details", details}}}});
}

StatusOr<std::pair<std::string, std::uint16_t>> ParseListenAddress(std::string_view text) {
  std::string host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return InvalidArgumentError("expected [ipv6]:port, got '" + std::string(text) + "'");
    }
    host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      return InvalidArgumentError("expected host:port, got '" + std::string(text) + "'");
    }
    host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  if (port_text.empty() || port_text.size() > 5 ||
      !std::all_of(port_text.begin(), port_text.end(), ::isdigit)) {
    return InvalidArgumentError("invalid port in '" + std::string(text) + "'");
  }
  int port = std::stoi(std::string(port_text));
  if (port > 65535) return InvalidArgumentError("port out of range in '" + std::string(text) + "'");
  return std::make_pair(host, static_cast<std::uint16_t>(port));
}

Server::Server(ServerOptions options, std::shared_ptr<metrics::Registry> metrics)
    : options_(std::move(options)), state_(std::make_shared<State>()), impl_(new Impl) {
  state_->options = options_;
  state_->metrics = std::move(metrics);
  state_->requests = &state_->metrics->CounterFamily(
      "portcullis_http_requests_total", "HTTP requests handled, by method, route and status");
  state_->latency = &state_->metrics->HistogramFamily("portcullis_http_request_duration_seconds",
                                                      "HTTP request handling time in seconds");
  state_->in_flight_gauge = &state_->metrics->Gauge("portcullis_http_requests_in_flight",
                                                    "HTTP requests being handled", {});
}

Server::~Server() {
  Shutdown();
}

void Server::Route(Method method, std::string pattern, Handler handler, RouteOptions options) {
  if (impl_->started) Fatal("http::Server::Route called after Start");
  CompiledRoute r{method, pattern, {}, std::move(handler), nullptr, options};
  for (std::string_view seg : SplitPath(pattern))
    r.segments.emplace_back(seg);
  state_->routes.push_back(std::move(r));
}

void Server::RouteDeferred(Method method, std::string pattern, DeferredHandler handler,
                           RouteOptions options) {
  if (impl_->started) Fatal("http::Server::RouteDeferred called after Start");
  CompiledRoute r{method, pattern, {}, nullptr, std::move(handler), options};
  for (std::string_view seg : SplitPath(pattern))
    r.segments.emplace_back(seg);
  state_->routes.push_back(std::move(r));
}

void Server::OnDraining(std::function<void()> fn) {
  if (impl_->started) Fatal("http::Server::OnDraining called after Start");
  state_->on_draining.push_back(std::move(fn));
}

void Server::SetAuthenticator(std::shared_ptr<Authenticator> authenticator) {
  if (impl_->started) Fatal("http::Server::SetAuthenticator called after Start");
  state_->authenticator = std::move(authenticator);
}

Status Server::Start() {
  if (impl_->started) return FailedPreconditionError("server already started");
  state_->largest_body = options_.max_body_bytes;
  for (const CompiledRoute& r : state_->routes)
    state_->largest_body = std::max(state_->largest_body, r.options.max_body_bytes);
  auto addr = ParseListenAddress(options_.listen);
  if (!addr.ok()) return addr.status().WithContext("listen address");
  if (!options_.allow_plaintext &&
      (options_.tls_cert_file.empty() || options_.tls_key_file.empty())) {
    return InvalidArgumentError(
        "TLS certificate and key are required (set PORTCULLIS_TLS_CERT and PORTCULLIS_TLS_KEY, "
        "or PORTCULLIS_TLS_DISABLE=true for local development only)");
  }
  try {
    auto endpoint =
        std::make_unique<P::Http::Endpoint>(P::Address(addr->first, P::Port(addr->second)));
    auto opts = P::Http::Endpoint::options()
                    .threads(options_.threads)
                    .flags(P::Tcp::Options::ReuseAddr)
                    .maxRequestSize(state_->largest_body + kHeaderAllowance)
                    .headerTimeout(options_.header_timeout)
                    .bodyTimeout(options_.body_timeout)
                    .keepaliveTimeout(options_.keepalive_timeout);
    endpoint->init(opts);
    if (!options_.allow_plaintext) {
      endpoint->useSSL(options_.tls_cert_file, options_.tls_key_file);
    }
    endpoint->setHandler(P::Http::make_handler<PistacheHandler>(state_));
    endpoint->serveThreaded();
    impl_->endpoint = std::move(endpoint);
  } catch (const std::exception& e) {
    return UnavailableError("cannot serve on " + options_.listen + ": " + e.what());
  }
  impl_->started = true;
  log::Info("http server listening",
            {{"address", addr->first}, {"port", port()}, {"tls", !options_.allow_plaintext}});
  if (options_.allow_plaintext) {
    log::Warn("TLS is disabled: plaintext HTTP is for local development only");
  }
  return OkStatus();
}

std::uint16_t Server::port() const {
  if (!impl_->endpoint) return 0;
  return static_cast<std::uint16_t>(impl_->endpoint->getPort());
}

void Server::Shutdown() {
  if (!impl_->started) return;
  impl_->started = false;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->draining = true;
  }
  for (const auto& fn : state_->on_draining)
    fn();
  {
    std::unique_lock<std::mutex> lock(state_->mu);
    state_->idle.wait_for(lock, std::chrono::seconds(10), [&] { return state_->in_flight == 0; });
  }
  // Responses are queued on the reactor's threads; give them time to reach
  // the wire before the reactor stops (bounded: shutdown must not hang).
  std::this_thread::sleep_for(kWriteGrace);
  impl_->endpoint->shutdown();
  impl_->endpoint.reset();
}

}  // namespace portcullis::http
