// The QQL SQL emitter: a bound query (binder.h) -> one parameterized
// PostgreSQL statement over the events table.
//
//   SqlQuery q = EmitSql(plan, Catalog::Default());
//   PORTCULLIS_RETURN_IF_ERROR(VerifySql(q, Catalog::Default()));
//
// The SQL text is built only from constants of this file and identifiers of
// the catalog; every value of the query is appended to `params` and written
// as "$n::<type>". The first three parameters are always the tenant, from and
// to: WHERE tenant_id = $1::uuid AND ts >= $2::timestamptz AND ts < $3::timestamptz.
//
// A timechart bucket is date_bin($n::interval, ts, TIMESTAMPTZ '1970-01-01T00:00:00Z').
#pragma once

#include "portcullis/common/status.h"
#include "portcullis/qql/binder.h"
#include "portcullis/qql/catalog.h"
#include "portcullis/qql/qql.h"

namespace portcullis::qql {

SqlQuery EmitSql(const BoundQuery& query, const Catalog& catalog);

// Checks a statement against the emitter's closed vocabulary: every word is
// one of its keywords, functions, types or a catalog column; every quoted
// identifier a catalog field name or one of its result names; every string
// literal one of its two constants; every placeholder $1..$n with n ==
// params.size(), each used; nothing else (no ';', no comment, no '$$', no
// other literal). A statement that passes cannot carry text from a query.
// InvalidArgument with the offending byte offset otherwise.
Status VerifySql(const SqlQuery& query, const Catalog& catalog);

}  // namespace portcullis::qql
