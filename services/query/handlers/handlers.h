// HTTP handlers of the query service: QQL search and the SIEM export. Routes
// and their permissions are listed in services/query/README.md.
#pragma once

#include <chrono>

#include "domain/export_format.h"
#include "portcullis/common/clock.h"
#include "portcullis/http/server.h"
#include "portcullis/metrics/registry.h"
#include "storage/pg_event_reader.h"

namespace portcullis::query {

struct QueryOptions {
  int default_limit = 100;  // search rows without "limit"
  int max_limit = 10000;    // any page, any "| limit N"
  int export_default_limit = 1000;
  std::chrono::hours max_range{24 * 31};  // widest search time range
  std::string product_version;            // the build's (main.cc)
  std::uint32_t syslog_enterprise_number = kDocumentationEnterpriseNumber;
};

// Registers the routes on `server`; `reader`, `metrics` and `clock` must
// outlive it. Metrics (services/query/README.md): portcullis_query_requests_total
// {route, outcome}, portcullis_query_database_seconds{route, shape},
// portcullis_query_rows_total{route}.
void RegisterRoutes(http::Server& server, PgEventReader& reader, metrics::Registry& metrics,
                    const Clock& clock, QueryOptions options);

}  // namespace portcullis::query
