// HTTP handlers of the query service: QQL search and the SIEM export. Routes
// and their permissions are listed in services/query/README.md.
#pragma once

#include <chrono>

#include "portcullis/common/clock.h"
#include "portcullis/http/server.h"
#include "storage/pg_event_reader.h"

namespace portcullis::query {

struct QueryOptions {
  int default_limit = 100;  // search rows without "limit"
  int max_limit = 10000;    // any page, any "| limit N"
  int export_default_limit = 1000;
  std::chrono::hours max_range{24 * 31};  // widest search time range
  std::string product_version;            // the build's (main.cc)
};

// Registers the routes on `server`; `reader` and `clock` must outlive it.
void RegisterRoutes(http::Server& server, PgEventReader& reader, const Clock& clock,
                    QueryOptions options);

}  // namespace portcullis::query
