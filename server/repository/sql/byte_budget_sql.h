#pragma once

// Reads bounded by bytes as well as rows: a page of large rows (or a batch of
// large events) must not hold more memory than configured, whatever clients
// stored. A row's size is the length of its text form, `octet_length(row::text)`:
// every column counted, JSON as text, never the compressed size on disk (which
// a client could make tiny for a huge value).

#include <string>

namespace messaging::repository::sql {

// The size of the row `alias` (0 for a missing row of an outer join).
inline std::string RowBytes(const std::string& alias) {
  return "coalesce(octet_length(" + alias + "::text), 0)";
}

// Extra columns for a select ordered by `order_by` ("ORDER BY ..."): the
// row's size, the running total of sizes up to and including it, and its
// position. Running totals are computed row by row, so a LIMIT still stops
// the scan.
inline std::string RowBytesColumns(const std::string& alias, const std::string& order_by) {
  const std::string frame = " OVER (" + order_by + " ROWS UNBOUNDED PRECEDING)";
  return RowBytes(alias) + " AS row_bytes, sum(" + RowBytes(alias) + ")" + frame +
         " AS bytes_through, count(*)" + frame + " AS row_number";
}

// Keeps the rows of `select` (which has RowBytesColumns, under alias `alias`)
// that start within `budget_param` bytes: those that fit, plus the first that
// does not, which only tells that more rows follow (domain::RowsInPage cuts
// it). The first two rows are always kept: a page holds at least one row, and
// the second tells whether more follow.
inline std::string RowsStartingWithin(const std::string& select, const std::string& alias,
                                      const std::string& budget_param) {
  return "(" + select + ") " + alias + " WHERE " + alias + ".bytes_through - " + alias +
         ".row_bytes <= " + budget_param + "::int8 OR " + alias + ".row_number <= 2";
}

// A keyset page of `table alias` bounded by rows and bytes: `columns` (which
// read `alias.`) and then bytes_through, the running total of the rows' sizes.
inline std::string BudgetedPageSql(const std::string& columns, const std::string& table,
                                   const std::string& alias, const std::string& where,
                                   const std::string& order_by, const std::string& limit_param,
                                   const std::string& budget_param) {
  const std::string select = "SELECT " + alias + ".*, " + RowBytesColumns(alias, order_by) +
                             " FROM " + table + " " + alias + " " + where + " " + order_by +
                             " LIMIT " + limit_param;
  return "SELECT " + columns + ", " + alias + ".bytes_through FROM " +
         RowsStartingWithin(select, alias, budget_param) + " " + order_by;
}

}  // namespace messaging::repository::sql
