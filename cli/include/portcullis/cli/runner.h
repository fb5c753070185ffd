// The portcullisctl program as a function: parse argv, resolve settings
// (flags, then the environment, then --env-file), send the command's request
// through a Transport (following cursors for --all), print the reply and
// return the exit code; `export` runs its own loop (event_export.h). main.cc
// passes the real environment, transport, streams and signal-driven Pacer;
// tests pass their own.
//
//   int code = Run({"agent", "list", "--status", "online"}, environ, NewHttpTransport,
//                  std::cout, std::cerr);
//
// Credentials only ever go into the Authorization header: they are never
// printed, and a secret returned by a create command is printed once.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "portcullis/cli/args.h"
#include "portcullis/cli/commands.h"
#include "portcullis/cli/event_export.h"
#include "portcullis/cli/transport.h"
#include "portcullis/common/status.h"

namespace portcullis::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitApiError = 1;    // the server answered with an error (or nonsense)
inline constexpr int kExitUsage = 2;       // bad arguments or configuration
inline constexpr int kExitConnection = 3;  // could not reach the server (DNS, TCP, TLS)
inline constexpr int kExitIo = 4;          // export: stdout or the cursor file cannot be written

// Where to connect and with which credential.
struct Settings {
  Endpoint endpoint;
  std::string credential;
};

// Resolves the server URL of `service`, --ca and the credential the command
// needs from the flags, then PORTCULLIS_* variables of `envp`, then those of
// the --env-file. The policy service's URL is --policy-server or
// PORTCULLIS_POLICY_SERVER and, when neither is set, the registry's (--server,
// PORTCULLIS_SERVER): one gateway in front of both; the query service's is
// --query-server or PORTCULLIS_QUERY_SERVER, with the same fallback.
// InvalidArgument (exit 2)
// when something is missing or malformed; messages name variables, never
// their secret values.
StatusOr<Settings> ResolveSettings(const GlobalOptions& globals, Service service,
                                   Credential credential, const char* const* envp);

// `pacer_factory` is called only by `export`, once, before its first request.
int Run(const std::vector<std::string>& args, const char* const* envp,
        const TransportFactory& transport_factory, std::ostream& out, std::ostream& err,
        const PacerFactory& pacer_factory = NewSignalPacer);

}  // namespace portcullis::cli
