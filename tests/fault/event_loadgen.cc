// A bounded stream of events for the fault test: sends `--events` events in
// batches to ingest with an agent credential, and retries each batch (the
// same events, the same ids) until it gets its 202, through whatever is
// being killed meanwhile. Every event id acknowledged with a 202 is written
// to `--acked` (hex, one per line) as soon as the 202 arrives.
//
//   event_loadgen --port 8445 --ca ca.crt --events 200000 --batch 1000
//                 --acked acked.txt   (one line; credential in
//                 $PORTCULLIS_AGENT_CREDENTIAL)
//
// Exit 0 when every batch was acknowledged, 1 when the deadline passed.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "portcullis/common/ids.h"
#include "portcullis/http/client.h"
#include "portcullis/v1/event.pb.h"

namespace {

using namespace portcullis;
using Clock = std::chrono::steady_clock;

std::map<std::string, std::string> Flags(int argc, char** argv) {
  std::map<std::string, std::string> out;
  for (int i = 1; i + 1 < argc; i += 2)
    out[argv[i]] = argv[i + 1];
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  auto flags = Flags(argc, argv);
  const char* credential = std::getenv("PORTCULLIS_AGENT_CREDENTIAL");
  if (credential == nullptr || !flags.count("--port") || !flags.count("--ca") ||
      !flags.count("--acked")) {
    std::fprintf(stderr,
                 "usage: event_loadgen --port P --ca FILE --acked FILE [--events N] [--batch N] "
                 "[--deadline-s S] (credential in $PORTCULLIS_AGENT_CREDENTIAL)\n");
    return 2;
  }
  const long total = flags.count("--events") ? std::atol(flags["--events"].c_str()) : 200000;
  const long batch_size = flags.count("--batch") ? std::atol(flags["--batch"].c_str()) : 1000;
  const long deadline_s =
      flags.count("--deadline-s") ? std::atol(flags["--deadline-s"].c_str()) : 300;
  const auto deadline = Clock::now() + std::chrono::seconds(deadline_s);
  std::ofstream acked(flags["--acked"], std::ios::trunc);
  http::ClientOptions options{
      .host = "127.0.0.1",
      .port = static_cast<std::uint16_t>(std::atoi(flags["--port"].c_str())),
      .tls = true,
      .ca_file = flags["--ca"]};
  auto client = std::make_unique<http::Client>(options);
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"Authorization", std::string("Bearer ") + credential},
      {"Content-Type", "application/x-protobuf"}};
  long sent = 0, attempts = 0, retries = 0;
  std::map<int, long> statuses;
  while (sent < total) {
    v1::EventBatch batch;
    std::vector<std::string> ids;
    const long n = std::min(batch_size, total - sent);
    for (long i = 0; i < n; ++i) {
      v1::Event* e = batch.add_events();
      Uuid id = Uuid::Random();
      ids.push_back(id.ToString());
      e->set_event_id(id.Binary());
      e->set_time_unix_nano(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
      e->set_syscall("openat");
      e->set_category(v1::CATEGORY_FILE);
      e->set_action(v1::ACTION_DENY);
      e->mutable_file()->set_path("/etc/shadow");
      e->set_rule_id("no-shadow");
    }
    const std::string body = batch.SerializeAsString();
    // The same batch until it is acknowledged.
    for (;;) {
      if (Clock::now() > deadline) {
        std::fprintf(stderr, "loadgen: deadline passed with %ld of %ld events acknowledged\n", sent,
                     total);
        return 1;
      }
      ++attempts;
      auto r = client->Send("POST", "/v1/events", body, headers);
      if (r.ok() && r->status == 202) break;
      ++retries;
      ++statuses[r.ok() ? r->status : 0];
      if (!r.ok()) client = std::make_unique<http::Client>(options);  // a fresh connection
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    for (const std::string& id : ids)
      acked << id << '\n';
    acked.flush();
    sent += n;
  }
  std::printf("loadgen: %ld events acknowledged in %ld requests (%ld retried:", sent, attempts,
              retries);
  for (const auto& [status, count] : statuses)
    std::printf(" %s %ld", status == 0 ? "no-answer" : std::to_string(status).c_str(), count);
  std::printf(")\n");
  return 0;
}
