// portcullisctl export: pages of event lines from the query service's
// GET /v1/export/events, written to stdout as they come, following the
// Portcullis-Next-Cursor response header; with --cursor-file the cursor is
// kept in a file between runs (cursor_file.h), so a restarted export goes on
// where the last one stopped.
//
//   ExportOptions o = ExportOptionsFrom(cl);          // --limit, --follow...
//   std::unique_ptr<Pacer> pacer = NewSignalPacer();  // blocks SIGINT/SIGTERM
//   int code = RunExport(request, o, {.transport = *t, .endpoint = ep,
//                                     .credential = key, .pacer = *pacer,
//                                     .out = std::cout, .err = std::cerr});
//
// Each page: send with the current cursor, check the reply, write the body
// to stdout and flush, then store the next cursor. Stdout before the cursor
// file: a crash between the two repeats that page on restart, never skips
// it; a signal cannot fall between them, it is only acted on between pages.
// So an export stopped by SIGINT or SIGTERM and started again emits every
// event exactly once.
//
// A page with fewer lines than --limit means the export has caught up:
// without --follow it ends there (exit 0); with --follow it waits --interval
// and asks again, forever. Once a page has come, a --follow export also
// rides out the query service's restarts: connection failures, 429 and 5xx
// are reported on stderr and retried after --interval (or Retry-After);
// before the first page they end it, so a wrong URL or CA is seen at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "portcullis/cli/args.h"
#include "portcullis/cli/commands.h"
#include "portcullis/cli/transport.h"
#include "portcullis/common/status.h"

namespace portcullis::cli {

// The query service's limit on one page, and the export's defaults.
inline constexpr std::int64_t kMaxQueryRows = 10000;
inline constexpr std::int64_t kDefaultExportLimit = 1000;
inline constexpr std::chrono::seconds kDefaultExportInterval{5};
inline constexpr std::chrono::seconds kMaxExportInterval{3600};

// How a long-running export waits, and learns that it should stop. Used by
// one thread.
class Pacer {
 public:
  virtual ~Pacer() = default;
  // Whether SIGINT or SIGTERM (or, in tests, the script) asked to stop.
  virtual bool StopRequested() = 0;
  // Waits `duration`, or less when a stop is requested meanwhile.
  virtual void Sleep(std::chrono::seconds duration) = 0;
};

using PacerFactory = std::function<std::unique_ptr<Pacer>()>;

// The real Pacer: SIGINT and SIGTERM are blocked in the calling thread for
// its lifetime, so they never interrupt a request or a write half-way; they
// stay pending until StopRequested() or Sleep() takes them (sigtimedwait).
// The destructor takes any still pending (the export is ending anyway) and
// restores the signal mask.
std::unique_ptr<Pacer> NewSignalPacer();

struct ExportOptions {
  std::int64_t limit = kDefaultExportLimit;  // lines per page, sent as limit=
  bool follow = false;
  std::chrono::seconds interval = kDefaultExportInterval;
  std::string cursor_file;  // "" without --cursor-file
};

// From a parsed `export` command line (ranges checked by the parser).
ExportOptions ExportOptionsFrom(const CommandLine& cl);

// What one export page told about itself, from its headers.
struct ExportPage {
  std::string next_cursor;  // Portcullis-Next-Cursor
  std::int64_t events = 0;  // Portcullis-Events
};

// Reads a 2xx reply's headers and checks them against the body: a valid
// cursor, a count, and that many lines, each ending with LF. Internal
// ("unexpected reply ...") when the reply is not what the API documents.
StatusOr<ExportPage> ParseExportPage(const Reply& reply);

// Everything the export loop touches outside itself.
struct ExportContext {
  Transport& transport;
  const Endpoint& endpoint;  // its base path prefixes the target; named in messages
  const std::string& credential;
  Pacer& pacer;
  std::ostream& out;  // the event lines, as they came
  std::ostream& err;  // errors, warnings, the note when stopped
};

// Runs the export of `request` (GET /v1/export/events with qql, format and
// limit; the cursor is added per page) and returns the exit code of
// runner.h: kExitOk when caught up (without --follow) or stopped by a
// signal; kExitUsage for an unreadable cursor file; kExitConnection,
// kExitApiError as for every command; kExitIo when stdout or the cursor file
// cannot be written (the cursor is then not advanced).
int RunExport(const ApiRequest& request, const ExportOptions& options, const ExportContext& ctx);

}  // namespace portcullis::cli
