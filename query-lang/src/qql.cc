#include "portcullis/qql/qql.h"

#include "portcullis/qql/binder.h"
#include "portcullis/qql/catalog.h"
#include "portcullis/qql/parser.h"
#include "portcullis/qql/sql_emitter.h"

namespace portcullis::qql {

StatusOr<SqlQuery> Compile(std::string_view qql, const CompileOptions& options) {
  const Catalog& catalog = Catalog::Default();
  PORTCULLIS_ASSIGN_OR_RETURN(ast::Query tree, Parse(qql));
  PORTCULLIS_ASSIGN_OR_RETURN(BoundQuery plan, Bind(qql, tree, catalog, options));
  SqlQuery sql = EmitSql(plan, catalog);
  // The emitter's own output failing its vocabulary is a bug of this library,
  // never the caller's: refuse the statement rather than run it.
  Status checked = VerifySql(sql, catalog);
  if (!checked.ok()) return InternalError("QQL emitter bug: " + checked.message());
  return sql;
}

}  // namespace portcullis::qql
