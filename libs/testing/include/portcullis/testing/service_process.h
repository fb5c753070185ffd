// A Portcullis service binary run as a child process for integration tests:
// started with the infrastructure env file as its config, its JSON log lines
// (stderr) collected, its port read from the "started" line.
//
//   ServiceProcess svc("registry", {"PORTCULLIS_HTTP_LISTEN=127.0.0.1:0"});
//   int port = svc.WaitStarted();
//   ...
//   EXPECT_EQ(svc.Stop(SIGTERM), 0);
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "portcullis/http/client.h"

namespace portcullis::testing {

class ServiceProcess {
 public:
  // Runs $PORTCULLIS_BIN_DIR/portcullis-<name> with `env` (plus PATH) and, when
  // `with_config`, --config <infra env file>.
  ServiceProcess(const std::string& name, std::vector<std::string> env, bool with_config = true);
  ~ServiceProcess();
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;

  // Waits (20 s at most) for the "started" log line; returns its port or 0.
  int WaitStarted();
  // Sends `sig` and returns the exit status (128+signal if killed, -1 if it
  // did not exit within `limit`).
  int Stop(int sig, std::chrono::seconds limit = std::chrono::seconds(15));
  int Wait(std::chrono::seconds limit);
  std::vector<std::string> Lines();

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
  bool eof_ = false;
};

// An HTTPS client for a service started by ServiceProcess, trusting the
// infrastructure's development CA.
http::Client TlsClient(int port);

}  // namespace portcullis::testing
