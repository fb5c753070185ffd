#include "portcullis/testing/service_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "portcullis/testing/infra.h"

namespace portcullis::testing {

using namespace std::chrono_literals;

ServiceProcess::ServiceProcess(const std::string& name, std::vector<std::string> env,
                               bool with_config) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) std::abort();
  std::string bin = BinDir() + "/portcullis-" + name;
  std::string config = InfraEnv::Get().Require("PORTCULLIS_INFRA_DIR") + "/infra.env";
  pid_ = fork();
  if (pid_ == 0) {
    dup2(fds[1], 2);
    std::vector<std::string> args = {bin};
    if (with_config) args.insert(args.end(), {"--config", config});
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    env.push_back("PATH=/usr/bin:/bin");
    // A sanitizer build's settings reach the service too (README, "Sanitizer build").
    for (const char* option : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}) {
      if (const char* value = std::getenv(option)) env.push_back(std::string(option) + "=" + value);
    }
    for (auto& e : env)
      envp.push_back(e.data());
    envp.push_back(nullptr);
    execve(bin.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  close(fds[1]);
  reader_ = std::thread([this, fd = fds[0]] {
    std::string buf;
    char chunk[4096];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
      buf.append(chunk, static_cast<std::size_t>(n));
      for (std::size_t nl; (nl = buf.find('\n')) != std::string::npos;) {
        std::lock_guard<std::mutex> lock(mu_);
        lines_.push_back(buf.substr(0, nl));
        buf.erase(0, nl + 1);
        cv_.notify_all();
      }
    }
    close(fd);
    std::lock_guard<std::mutex> lock(mu_);
    eof_ = true;
    cv_.notify_all();
  });
}

ServiceProcess::~ServiceProcess() {
  if (pid_ > 0 && !exited_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (reader_.joinable()) reader_.join();
}

int ServiceProcess::WaitStarted() {
  std::unique_lock<std::mutex> lock(mu_);
  int port = 0;
  cv_.wait_for(lock, 20s, [&] {
    for (const auto& l : lines_) {
      auto j = nlohmann::json::parse(l, nullptr, false);
      if (j.is_object() && j.value("msg", "") == "started") port = j.value("port", 0);
    }
    return port != 0 || eof_;
  });
  return port;
}

int ServiceProcess::Stop(int sig, std::chrono::seconds limit) {
  kill(pid_, sig);
  return Wait(limit);
}

int ServiceProcess::Wait(std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      if (reader_.joinable()) reader_.join();
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(20ms);  // polling a child's exit, not synchronising
  }
  return -1;
}

std::vector<std::string> ServiceProcess::Lines() {
  std::lock_guard<std::mutex> lock(mu_);
  return lines_;
}

http::Client TlsClient(int port) {
  return http::Client({.host = "127.0.0.1",
                       .port = static_cast<std::uint16_t>(port),
                       .tls = true,
                       .ca_file = InfraEnv::Get().Require("PORTCULLIS_TLS_CA"),
                       .timeout = 10s});
}

}  // namespace portcullis::testing
