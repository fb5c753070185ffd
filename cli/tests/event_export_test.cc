// The export loop against a scripted transport and a pacer that records its
// sleeps instead of sleeping: paging until caught up, --follow, the cursor
// file (resume, atomic updates, never ahead of stdout), retries, errors; the
// page headers; and the real signal-driven pacer.
#include "portcullis/cli/event_export.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "portcullis/cli/cursor_file.h"
#include "portcullis/cli/runner.h"
#include "portcullis/common/ids.h"

namespace portcullis::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kApiKey[] = "pck_export_key_secret";

// A page of `n` lines "e<first>".."e<first+n-1>" with its headers.
Reply Page(int first, int n, const std::string& next_cursor) {
  Reply r{.status = 200, .content_type = "application/x-ndjson"};
  for (int i = first; i < first + n; ++i)
    r.body += "{\"event.id\":\"e" + std::to_string(i) + "\"}\n";
  r.headers = {{"portcullis-next-cursor", next_cursor},
               {"portcullis-events", std::to_string(n)},
               {"content-type", "application/x-ndjson"}};
  return r;
}

class ScriptedTransport : public Transport {
 public:
  StatusOr<Reply> Send(const std::string& method, const std::string& target,
                       const std::string& body, const std::string& bearer,
                       const Headers& headers) override {
    EXPECT_EQ(method, "GET");
    EXPECT_EQ(body, "");
    EXPECT_EQ(bearer, kApiKey);
    targets.push_back(target);
    sent_headers = headers;
    if (on_send) on_send(targets.size());
    if (replies.empty()) return InternalError("no scripted reply left");
    StatusOr<Reply> r = replies.front();
    replies.pop_front();
    return r;
  }
  void Reset() {
    replies.clear();
    targets.clear();
    sent_headers.clear();
    on_send = nullptr;
  }

  std::deque<StatusOr<Reply>> replies;
  std::vector<std::string> targets;
  Headers sent_headers;
  std::function<void(std::size_t)> on_send;  // called with the number of requests so far
};

// Records sleeps; asks to stop after `stop_after_sleeps` of them (or when
// told to).
class FakePacer : public Pacer {
 public:
  bool StopRequested() override { return stop; }
  void Sleep(std::chrono::seconds d) override {
    sleeps.push_back(d);
    if (static_cast<int>(sleeps.size()) >= stop_after_sleeps) stop = true;
  }
  void Reset() {
    sleeps.clear();
    stop_after_sleeps = 1 << 30;
    stop = false;
  }

  std::vector<std::chrono::seconds> sleeps;
  int stop_after_sleeps = 1 << 30;
  bool stop = false;
};

class ExportTest : public ::testing::Test {
 protected:
  ExportTest()
      : dir_(fs::temp_directory_path() / ("portcullisctl-export-" + Uuid::Random().ToString())) {
    fs::create_directories(dir_);
    endpoint_ = {.host = "query.example", .port = 8446, .base_path = "/q"};
    request_.path = "/v1/export/events";
    request_.query = {{"format", "json"}, {"limit", "2"}};
    request_.headers = {{"Accept", "*/*"}};
    options_.limit = 2;
  }
  ~ExportTest() override { fs::remove_all(dir_); }

  int Export() {
    out_.str("");
    err_.str("");
    return RunExport(request_, options_,
                     {.transport = transport_,
                      .endpoint = endpoint_,
                      .credential = credential_,
                      .pacer = pacer_,
                      .out = out_,
                      .err = err_});
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  std::string Stored() const { return ReadCursorFile(options_.cursor_file)->value_or("(none)"); }
  static std::string Lines(int first, int n) { return Page(first, n, "x").body; }

  fs::path dir_;
  Endpoint endpoint_;
  ApiRequest request_;
  ExportOptions options_;
  std::string credential_ = kApiKey;
  ScriptedTransport transport_;
  FakePacer pacer_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(ExportTest, PagesUntilAShortPageThenExits) {
  options_.cursor_file = Path("cursor");
  transport_.replies = {Page(1, 2, "c1"), Page(3, 2, "c2"), Page(5, 2, "c3"), Page(7, 1, "c4")};
  ASSERT_EQ(Export(), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), Lines(1, 7));
  EXPECT_EQ(transport_.targets,
            (std::vector<std::string>{"/q/v1/export/events?format=json&limit=2",
                                      "/q/v1/export/events?format=json&limit=2&cursor=c1",
                                      "/q/v1/export/events?format=json&limit=2&cursor=c2",
                                      "/q/v1/export/events?format=json&limit=2&cursor=c3"}));
  EXPECT_EQ(transport_.sent_headers, (Headers{{"Accept", "*/*"}}));
  EXPECT_EQ(Stored(), "c4");
  EXPECT_THAT(pacer_.sleeps, IsEmpty());
  EXPECT_EQ(err_.str(), "");
}

TEST_F(ExportTest, FollowSleepsAfterAShortPageAndStopsWhenAsked) {
  options_.follow = true;
  options_.interval = std::chrono::seconds(7);
  options_.cursor_file = Path("cursor");
  pacer_.stop_after_sleeps = 2;
  transport_.replies = {Page(1, 2, "c1"), Page(3, 2, "c2"), Page(5, 2, "c3"), Page(7, 0, "c3"),
                        Page(7, 1, "c4")};
  ASSERT_EQ(Export(), kExitOk) << err_.str();
  // Three full pages back to back, then a short one: a sleep; an empty page
  // keeps the cursor; the next short page ends in the sleep that asks to stop.
  EXPECT_EQ(transport_.targets.size(), 5u);
  EXPECT_EQ(transport_.targets[4], "/q/v1/export/events?format=json&limit=2&cursor=c3");
  EXPECT_EQ(pacer_.sleeps,
            (std::vector<std::chrono::seconds>{std::chrono::seconds(7), std::chrono::seconds(7)}));
  EXPECT_EQ(out_.str(), Lines(1, 7));
  EXPECT_EQ(Stored(), "c4");
  EXPECT_THAT(err_.str(), HasSubstr("stopped by a signal; the next export continues from the "
                                    "cursor in '" +
                                    options_.cursor_file + "'"));
}

TEST_F(ExportTest, AStopDuringAPageEndsAfterItWithTheCursorSaved) {
  options_.follow = true;
  options_.cursor_file = Path("cursor");
  // SIGINT arrives while the second page is on its way.
  transport_.on_send = [this](std::size_t n) {
    if (n == 2) pacer_.stop = true;
  };
  transport_.replies = {Page(1, 2, "c1"), Page(3, 2, "c2"), Page(5, 2, "c3")};
  ASSERT_EQ(Export(), kExitOk) << err_.str();
  EXPECT_EQ(transport_.targets.size(), 2u);
  EXPECT_EQ(out_.str(), Lines(1, 4));
  EXPECT_EQ(Stored(), "c2");
}

TEST_F(ExportTest, ARestartContinuesFromTheCursorFileExactlyOnce) {
  options_.cursor_file = Path("cursor");
  options_.follow = true;
  transport_.on_send = [this](std::size_t n) {
    if (n == 2) pacer_.stop = true;
  };
  transport_.replies = {Page(1, 2, "c1"), Page(3, 2, "c2")};
  ASSERT_EQ(Export(), kExitOk);
  const std::string first_run = out_.str();

  transport_.Reset();
  pacer_.Reset();
  options_.follow = false;
  transport_.replies = {Page(5, 2, "c3"), Page(7, 1, "c4")};
  ASSERT_EQ(Export(), kExitOk) << err_.str();
  EXPECT_EQ(transport_.targets[0], "/q/v1/export/events?format=json&limit=2&cursor=c2");
  EXPECT_EQ(first_run + out_.str(), Lines(1, 7));
  EXPECT_EQ(Stored(), "c4");
}

TEST_F(ExportTest, WithoutACursorFileTheCursorLivesInMemory) {
  transport_.replies = {Page(1, 2, "c1"), Page(3, 0, "c1")};
  ASSERT_EQ(Export(), kExitOk);
  EXPECT_EQ(transport_.targets[1], "/q/v1/export/events?format=json&limit=2&cursor=c1");
  EXPECT_EQ(out_.str(), Lines(1, 2));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 0);
}

TEST_F(ExportTest, AnUnreadableCursorFileIsAUsageErrorBeforeAnyRequest) {
  options_.cursor_file = Path("cursor");
  std::ofstream(options_.cursor_file) << "two words\n";
  EXPECT_EQ(Export(), kExitUsage);
  EXPECT_THAT(err_.str(),
              HasSubstr("cursor file '" + options_.cursor_file + "' does not hold a cursor"));
  options_.cursor_file = dir_.string();
  EXPECT_EQ(Export(), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("is not a regular file"));
  EXPECT_THAT(transport_.targets, IsEmpty());
}

TEST_F(ExportTest, StdoutFailingLeavesTheCursorWhereItWas) {
  options_.cursor_file = Path("cursor");
  ASSERT_TRUE(WriteCursorFile(options_.cursor_file, "c0").ok());
  transport_.replies = {Page(1, 2, "c1")};
  std::ostringstream broken;
  broken.setstate(std::ios::badbit);  // a closed pipe
  int code = RunExport(request_, options_,
                       {.transport = transport_,
                        .endpoint = endpoint_,
                        .credential = credential_,
                        .pacer = pacer_,
                        .out = broken,
                        .err = err_});
  EXPECT_EQ(code, kExitIo);
  EXPECT_THAT(err_.str(), HasSubstr("cannot write the events to stdout"));
  EXPECT_EQ(Stored(), "c0");
}

TEST_F(ExportTest, ACursorFileThatCannotBeWrittenStopsTheExport) {
  options_.cursor_file = Path("cursor");
  fs::create_directory(options_.cursor_file + ".tmp");
  transport_.replies = {Page(1, 2, "c1"), Page(3, 2, "c2")};
  EXPECT_EQ(Export(), kExitIo);
  EXPECT_THAT(err_.str(), HasSubstr("cannot store the cursor in"));
  EXPECT_EQ(transport_.targets.size(), 1u);
}

TEST_F(ExportTest, ServerErrorsAndOddReplies) {
  // Bad QQL: the caret stays under the problem.
  transport_.replies = {Reply{.status = 400,
                              .body = R"({"error":{"code":"invalid_argument","message":)"
                                      R"("1:22: expected a term, got the end of the query\n)"
                                      R"(  process.name:bash and\n                       ^",)"
                                      R"("location":"/qql"}})"}};
  EXPECT_EQ(Export(), kExitApiError);
  EXPECT_EQ(err_.str(),
            "error: the server answered 400 invalid_argument: 1:22: expected a term, got the end "
            "of the query\n"
            "  process.name:bash and\n"
            "                       ^\n"
            "  at /qql\n");

  transport_.replies = {UnavailableError("connect: Connection refused")};
  EXPECT_EQ(Export(), kExitConnection);
  EXPECT_EQ(err_.str(),
            "error: cannot reach https://query.example:8446/q: connect: Connection refused\n");

  Reply no_cursor = Page(1, 1, "c1");
  no_cursor.headers.erase("portcullis-next-cursor");
  transport_.replies = {no_cursor};
  EXPECT_EQ(Export(), kExitApiError);
  EXPECT_THAT(err_.str(), HasSubstr("no Portcullis-Next-Cursor header"));

  // Events without a new cursor would be sent again and again.
  transport_.replies = {Page(1, 2, "c1"), Page(3, 2, "c1")};
  EXPECT_EQ(Export(), kExitApiError);
  EXPECT_THAT(err_.str(), HasSubstr("without moving the cursor"));
  EXPECT_EQ(out_.str(), Lines(1, 2));
}

TEST_F(ExportTest, FollowRetriesTransientFailuresOnceAPageCame) {
  options_.follow = true;
  options_.interval = std::chrono::seconds(5);
  pacer_.stop_after_sleeps = 4;
  Reply unavailable{.status = 503,
                    .body = R"({"error":{"code":"unavailable","message":"restarting"}})",
                    .retry_after = "30"};
  transport_.replies = {Page(1, 2, "c1"), UnavailableError("connect: Connection refused"),
                        unavailable, Page(3, 1, "c2"),
                        Reply{.status = 401, .body = R"({"error":{"code":"unauthenticated"}})"}};
  EXPECT_EQ(Export(), kExitApiError);
  EXPECT_EQ(pacer_.sleeps,
            (std::vector<std::chrono::seconds>{std::chrono::seconds(5), std::chrono::seconds(30),
                                               std::chrono::seconds(5)}));
  EXPECT_EQ(transport_.targets[1], transport_.targets[2]);  // the same cursor again
  EXPECT_EQ(out_.str(), Lines(1, 3));
  EXPECT_THAT(err_.str(), HasSubstr("warning: cannot reach"));
  EXPECT_THAT(err_.str(), HasSubstr("warning: the server answered 503 unavailable: restarting\n"));
  EXPECT_THAT(err_.str(), HasSubstr("  retrying in 30 s\n"));
  EXPECT_THAT(err_.str(), HasSubstr("error: the server answered 401 unauthenticated"));

  // Before the first page, a failure ends it: a wrong URL or CA shows at once.
  transport_.Reset();
  pacer_.Reset();
  transport_.replies = {UnavailableError("TLS handshake failed")};
  EXPECT_EQ(Export(), kExitConnection);
  EXPECT_THAT(pacer_.sleeps, IsEmpty());
}

TEST(ExportPageTest, HeadersAgainstTheBody) {
  StatusOr<ExportPage> p = ParseExportPage(Page(1, 3, "c9"));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->next_cursor, "c9");
  EXPECT_EQ(p->events, 3);
  EXPECT_TRUE(ParseExportPage(Page(1, 0, "c9")).ok());

  Reply r = Page(1, 3, "c9");
  r.headers["portcullis-events"] = "2";
  EXPECT_THAT(ParseExportPage(r).status().message(),
              HasSubstr("Portcullis-Events says 2 events, the body holds 3 whole lines"));
  r = Page(1, 1, "c9");
  r.body.pop_back();  // a torn last line
  EXPECT_FALSE(ParseExportPage(r).ok());
  for (const char* bad : {"", "-1", "x", "1.0"}) {
    r = Page(1, 1, "c9");
    r.headers["portcullis-events"] = bad;
    EXPECT_THAT(ParseExportPage(r).status().message(), HasSubstr("no Portcullis-Events count"))
        << bad;
  }
  r = Page(1, 1, "two words");
  EXPECT_THAT(ParseExportPage(r).status().message(), HasSubstr("malformed Portcullis-Next-Cursor"));
}

TEST(ExportOptionsTest, FromTheCommandLine) {
  CommandLine cl;
  ASSERT_TRUE(ParseCommandLine({"export"}, CommandSpecs(), &cl).ok());
  ExportOptions o = ExportOptionsFrom(cl);
  EXPECT_EQ(o.limit, kDefaultExportLimit);
  EXPECT_FALSE(o.follow);
  EXPECT_EQ(o.interval, kDefaultExportInterval);
  EXPECT_EQ(o.cursor_file, "");
  ASSERT_TRUE(ParseCommandLine({"export", "--limit", "10000", "--follow", "--interval", "3600",
                                "--cursor-file", "/var/lib/c"},
                               CommandSpecs(), &cl)
                  .ok());
  o = ExportOptionsFrom(cl);
  EXPECT_EQ(o.limit, 10000);
  EXPECT_TRUE(o.follow);
  EXPECT_EQ(o.interval, std::chrono::seconds(3600));
  EXPECT_EQ(o.cursor_file, "/var/lib/c");
}

// The real pacer: a signal is held while it lives (it does not kill the
// test), seen by StopRequested, ends a sleep at once, and the mask is
// restored afterwards.
TEST(SignalPacerTest, SignalsAreHeldAndEndTheWait) {
  {
    std::unique_ptr<Pacer> pacer = NewSignalPacer();
    EXPECT_FALSE(pacer->StopRequested());
    ASSERT_EQ(raise(SIGTERM), 0);
    EXPECT_TRUE(pacer->StopRequested());
    EXPECT_TRUE(pacer->StopRequested());
    pacer->Sleep(std::chrono::seconds(3600));  // returns at once
  }
  {
    std::unique_ptr<Pacer> pacer = NewSignalPacer();
    ASSERT_EQ(raise(SIGINT), 0);
    pacer->Sleep(std::chrono::seconds(3600));  // taken by the wait
    EXPECT_TRUE(pacer->StopRequested());
  }
  {
    // Pending when the pacer ends: taken, not delivered to a default handler.
    std::unique_ptr<Pacer> pacer = NewSignalPacer();
    ASSERT_EQ(raise(SIGINT), 0);
  }
  sigset_t mask;
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, nullptr, &mask), 0);
  EXPECT_FALSE(sigismember(&mask, SIGINT));
  EXPECT_FALSE(sigismember(&mask, SIGTERM));
}

}  // namespace
}  // namespace portcullis::cli
