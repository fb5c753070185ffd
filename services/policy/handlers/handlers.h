// HTTP handlers of the policy service: decode, authorize, call the domain,
// encode. Routes and their permissions are listed in services/policy/README.md.
#pragma once

#include "domain/distributor.h"
#include "domain/policy_service.h"
#include "portcullis/http/server.h"

namespace portcullis::policy_service {

// Registers every policy route on `server`. `store` and `distributor` must
// outlive the server.
void RegisterRoutes(http::Server& server, PolicyStore& store, Distributor& distributor);

// Parses and compiles a policy document for `version` of `policy`: the
// publication the store inserts, or InvalidArgument listing every
// diagnostic (located under /document).
StatusOr<Published> CompileDocument(const Uuid& policy, std::int64_t version,
                                    const std::string& document);

}  // namespace portcullis::policy_service
