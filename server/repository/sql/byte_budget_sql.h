#pragma once

// Reads bounded by bytes as well as rows: a page of large rows (or a batch of
// large events) must not hold more memory than configured, whatever clients
// stored. A row's size is the length of its text form, `octet_length(row::text)`:
// every column counted, JSON as text, never the compressed size on disk (which
// a client could make tiny for a huge value).

#include <string>

#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "repository/sql/wal_sql.h"

namespace messaging::repository::sql {

// A keyset page of `table` (as `alias`) bounded by rows (:limit) and bytes
// (:max_bytes), in one statement with what a List call needs besides its rows,
// so the call is one round trip: the rows of `where` in `order_by`, each as
// {columns} (which read `alias.`), then bytes_through, the running total of the
// rows' sizes, and snapshot, the statement's pg_current_snapshot() (the stream
// cursor taken with the page), with wal_insert and wal_flush (sql/wal_sql.h:
// the cursor is handed out once that snapshot is durable). `scope` ("FROM conversations WHERE ...",
// or empty) decides whether there is a page at all: no row when it finds none, one row of NULL
// columns (but the snapshot and WAL positions) when the page is empty.
//
// The inner select adds each row's size, the running total and the row's
// position; running totals are computed row by row, so its LIMIT still stops
// the scan. The next keeps the rows that start within the budget: those that
// fit, plus the first that does not, which only tells that more rows follow
// (domain::RowsInPage cuts it). The first two rows are always kept: a page
// holds at least one row, and the second tells whether more follow. The
// running total grows with every row (a row's text is never empty), so it
// orders the page.
inline std::string BudgetedPageSql(absl::string_view table, absl::string_view alias,
                                   absl::string_view where, absl::string_view order_by,
                                   absl::string_view scope) {
  return absl::StrReplaceAll(
      R"sql(
SELECT page.*, scope.snapshot, scope.wal_insert, scope.wal_flush
FROM (SELECT pg_current_snapshot()::text AS snapshot, {wal} {scope}) scope
LEFT JOIN LATERAL (
  SELECT {columns}, {alias}.bytes_through
  FROM (
    SELECT {alias}.*, octet_length({alias}::text)::int8 AS row_bytes,
           sum(octet_length({alias}::text)) OVER ({order_by} ROWS UNBOUNDED PRECEDING)
             AS bytes_through,
           count(*) OVER ({order_by} ROWS UNBOUNDED PRECEDING) AS row_number
    FROM {table} {alias}
    {where}
    {order_by}
    LIMIT :limit
  ) {alias}
  WHERE {alias}.bytes_through - {alias}.row_bytes <= :max_bytes::int8 OR {alias}.row_number <= 2
) page ON true
ORDER BY page.bytes_through)sql",
      {{"{table}", table},
       {"{alias}", alias},
       {"{where}", where},
       {"{order_by}", order_by},
       {"{scope}", scope},
       {"{wal}", kWalPositionColumns}});
}

}  // namespace messaging::repository::sql
