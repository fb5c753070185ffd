// The export loop and the signal-driven Pacer (see event_export.h).
#include "portcullis/cli/event_export.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <ctime>
#include <optional>

#include "portcullis/cli/cursor_file.h"
#include "portcullis/cli/render.h"
#include "portcullis/cli/runner.h"

namespace portcullis::cli {
namespace {

constexpr char kNextCursorHeader[] = "portcullis-next-cursor";
constexpr char kEventsHeader[] = "portcullis-events";

class SignalPacer final : public Pacer {
 public:
  SignalPacer() {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &signals_, &previous_) != 0) {
      Fatal("pthread_sigmask failed");
    }
  }
  ~SignalPacer() override {
    timespec zero{};
    while (sigtimedwait(&signals_, nullptr, &zero) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  SignalPacer(const SignalPacer&) = delete;
  SignalPacer& operator=(const SignalPacer&) = delete;

  bool StopRequested() override {
    if (!stopped_) {
      timespec zero{};
      stopped_ = sigtimedwait(&signals_, nullptr, &zero) > 0;
    }
    return stopped_;
  }

  void Sleep(std::chrono::seconds duration) override {
    const auto deadline = std::chrono::steady_clock::now() + duration;
    while (!stopped_) {
      const auto left = deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::steady_clock::duration::zero()) return;
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left);
      timespec ts{.tv_sec = static_cast<time_t>(ns.count() / 1000000000),
                  .tv_nsec = static_cast<long>(ns.count() % 1000000000)};
      if (sigtimedwait(&signals_, nullptr, &ts) > 0) {
        stopped_ = true;
      } else if (errno == EAGAIN) {
        return;
      }
      // EINTR: another signal's handler ran; wait for the rest.
    }
  }

 private:
  sigset_t signals_;
  sigset_t previous_;
  bool stopped_ = false;
};

bool ParseCount(std::string_view text, std::int64_t* out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size() && *out >= 0;
}

const std::string* Header(const Reply& reply, const char* lower_name) {
  auto it = reply.headers.find(lower_name);
  return it == reply.headers.end() ? nullptr : &it->second;
}

// How long to wait before retrying after a transient failure: --interval, or
// the server's Retry-After when that is longer (capped like --interval).
std::chrono::seconds RetryDelay(const ExportOptions& o, std::string_view retry_after) {
  std::int64_t seconds = 0;
  if (!ParseCount(retry_after, &seconds)) return o.interval;
  return std::clamp(std::chrono::seconds(seconds), o.interval, kMaxExportInterval);
}

std::string DelayText(std::chrono::seconds d) {
  return std::to_string(d.count()) + " s";
}

}  // namespace

std::unique_ptr<Pacer> NewSignalPacer() {
  return std::make_unique<SignalPacer>();
}

ExportOptions ExportOptionsFrom(const CommandLine& cl) {
  ExportOptions o;
  o.limit = cl.Int("limit").value_or(kDefaultExportLimit);
  o.follow = cl.Has("follow");
  if (std::optional<std::int64_t> s = cl.Int("interval")) o.interval = std::chrono::seconds(*s);
  o.cursor_file = cl.Value("cursor-file").value_or("");
  return o;
}

StatusOr<ExportPage> ParseExportPage(const Reply& reply) {
  auto unexpected = [](std::string what) {
    return InternalError("unexpected reply from the server: " + std::move(what));
  };
  ExportPage page;
  const std::string* cursor = Header(reply, kNextCursorHeader);
  if (cursor == nullptr) return unexpected("no Portcullis-Next-Cursor header");
  if (!IsValidCursor(*cursor)) return unexpected("a malformed Portcullis-Next-Cursor header");
  page.next_cursor = *cursor;
  const std::string* events = Header(reply, kEventsHeader);
  if (events == nullptr || !ParseCount(*events, &page.events)) {
    return unexpected("no Portcullis-Events count");
  }
  const auto lines =
      static_cast<std::int64_t>(std::count(reply.body.begin(), reply.body.end(), '\n'));
  if (lines != page.events || (!reply.body.empty() && reply.body.back() != '\n')) {
    return unexpected("Portcullis-Events says " + std::to_string(page.events) +
                      " events, the body holds " + std::to_string(lines) + " whole lines");
  }
  return page;
}

int RunExport(const ApiRequest& request, const ExportOptions& options, const ExportContext& ctx) {
  const bool has_file = !options.cursor_file.empty();
  std::string cursor;
  std::optional<CursorFileLock> lock;  // held until the export returns
  if (has_file) {
    StatusOr<CursorFileLock> acquired = CursorFileLock::Acquire(options.cursor_file);
    if (!acquired.ok()) {
      ctx.err << "portcullisctl: " << Sanitize(acquired.status().message()) << "\n";
      return kExitUsage;
    }
    lock.emplace(std::move(*acquired));
    StatusOr<std::optional<std::string>> stored = ReadCursorFile(options.cursor_file);
    if (!stored.ok()) {
      ctx.err << "portcullisctl: " << Sanitize(stored.status().message()) << "\n";
      return kExitUsage;
    }
    cursor = stored->value_or("");
  }
  std::string stored_cursor = cursor;  // what the file holds, so an unchanged one is not rewritten
  bool had_page = false;               // transient failures are retried only after a first page

  for (;;) {
    if (ctx.pacer.StopRequested()) {
      ctx.err << "portcullisctl: stopped by a signal; "
              << (has_file ? "the next export continues from the cursor in '" +
                                 Sanitize(options.cursor_file) + "'"
                           : "without --cursor-file the next export starts from the oldest event")
              << "\n";
      return kExitOk;
    }
    StatusOr<Reply> r =
        ctx.transport.Send(request.method, Target(request, ctx.endpoint.base_path, cursor), "",
                           ctx.credential, request.headers);
    if (!r.ok()) {
      if (options.follow && had_page) {
        ctx.err << "warning: " << RenderConnectionError(ctx.endpoint, r.status())
                << "  retrying in " << DelayText(options.interval) << "\n";
        ctx.pacer.Sleep(options.interval);
        continue;
      }
      ctx.err << "error: " << RenderConnectionError(ctx.endpoint, r.status());
      return kExitConnection;
    }
    if (r->status < 200 || r->status > 299) {
      const bool transient = r->status == 429 || r->status >= 500;
      std::string message = RenderApiError(r->status, r->body, r->retry_after);
      if (options.follow && had_page && transient) {
        const std::chrono::seconds delay = RetryDelay(options, r->retry_after);
        constexpr std::string_view kError = "error: ";
        if (message.starts_with(kError)) message = "warning: " + message.substr(kError.size());
        ctx.err << message << "  retrying in " << DelayText(delay) << "\n";
        ctx.pacer.Sleep(delay);
        continue;
      }
      ctx.err << message;
      return kExitApiError;
    }
    StatusOr<ExportPage> page = ParseExportPage(*r);
    if (!page.ok()) {
      ctx.err << "error: " << Sanitize(page.status().message()) << "\n";
      return kExitApiError;
    }
    if (page->events > 0 && page->next_cursor == cursor) {
      // Following it would emit the same events forever.
      ctx.err << "error: the server sent " << page->events
              << " events without moving the cursor; stopping\n";
      return kExitApiError;
    }
    ctx.out << r->body;
    ctx.out.flush();
    if (!ctx.out) {
      ctx.err << "error: cannot write the events to stdout; the cursor was not advanced\n";
      return kExitIo;
    }
    cursor = std::move(page->next_cursor);
    if (has_file && cursor != stored_cursor) {
      if (Status s = WriteCursorFile(options.cursor_file, cursor); !s.ok()) {
        ctx.err << "error: " << Sanitize(s.message()) << "\n";
        return kExitIo;
      }
      stored_cursor = cursor;
    }
    had_page = true;
    if (page->events < options.limit) {
      if (!options.follow) return kExitOk;
      ctx.pacer.Sleep(options.interval);
    }
  }
}

}  // namespace portcullis::cli
