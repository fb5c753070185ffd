// HTTP handlers of the registry: decode, authorize, call one domain function,
// encode. Routes and their permissions are listed in services/registry/README.md.
#pragma once

#include "domain/registry.h"
#include "portcullis/auth/authenticator.h"
#include "portcullis/auth/rate_limiter.h"
#include "portcullis/http/server.h"

namespace portcullis::registry {

struct HandlerOptions {
  auth::RateLimit registrations_per_token{.burst = 100, .per_second = 10};
};

// Registers every registry route on `server`. `service` and `clock` must
// outlive the server.
void RegisterRoutes(http::Server& server, RegistryService& service,
                    auth::PgAuthenticator& authenticator, const Clock& clock,
                    HandlerOptions options);

}  // namespace portcullis::registry
