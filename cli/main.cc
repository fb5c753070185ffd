// portcullisctl: the command-line client of Portcullis for operators and
// admins (tenants, API keys, enrollment tokens, the agent inventory, the audit
// log, policies, event search and export). Wiring only: the real
// environment, the HTTPS transport, the standard streams and the
// signal-driven pacing of export; everything else is in src/ (see README.md).
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "portcullis/cli/runner.h"
#include "portcullis/cli/transport.h"

extern char** environ;

int main(int argc, char** argv) {
  // A server closing a TLS connection must surface as an error message, not
  // kill the process with SIGPIPE (OpenSSL writes with plain write(2)).
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  return portcullis::cli::Run(args, environ, portcullis::cli::NewHttpTransport, std::cout,
                              std::cerr, portcullis::cli::NewSignalPacer);
}
