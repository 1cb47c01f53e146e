#pragma once

// Prepared statements with named parameters. PostgreSQL numbers parameters
// ($1, $2, ...); a statement with many (a patch has two per column) is easy to
// misnumber and hard to review. So the SQL in sql/ names them (`:id`,
// `:set_status`), Statement numbers them once at start-up (in order of first
// appearance; one name used twice is one parameter), and Params takes each
// value next to its name: no call site counts positions, and a name that is
// missing, unknown or left unset fails the call with an error naming it.

#include <forward_list>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/string_view.h"
#include "domain/enums.h"
#include "repository/connection_pool.h"

namespace messaging::repository {

class Statement {
 public:
  // `sql` names its parameters `:name` (lower case, digits, '_'). A `::type`
  // cast is no parameter, nor is anything in quotes.
  Statement(std::string name, absl::string_view sql) : Statement(std::move(name), {}, sql) {}
  // The same, with "{columns}" in `sql` standing for `columns` (the column
  // list of a table, see sql/).
  Statement(std::string name, absl::string_view columns, absl::string_view sql);
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  const std::string& name() const { return name_; }
  // What PostgreSQL prepares: every `:name` replaced by its `$n`.
  const std::string& sql() const { return sql_; }
  // Parameter names; the one for $n at [n - 1].
  const std::vector<std::string>& parameters() const { return parameters_; }
  // For ConnectionPool (which keeps the name's pointer: statements live as
  // long as the program, see sql/).
  PreparedStatement Prepared() const { return {name_.c_str(), sql_}; }

 private:
  const std::string name_;
  std::vector<std::string> parameters_;
  std::string sql_;
};

// The values of one execution of a Statement, given by parameter name. A
// value passed as an lvalue is not copied: it must outlive Exec() (Params
// lives for one call); an rvalue is kept here.
class Params {
 public:
  explicit Params(const Statement& statement);
  Params(const Params&) = delete;
  Params& operator=(const Params&) = delete;

  Params& Set(absl::string_view name, const std::string& value);
  Params& Set(absl::string_view name, std::string&& value);
  // A const temporary (`cond ? lvalue : std::string()`) is kept (copied) too.
  Params& Set(absl::string_view name, const std::string&& value);
  Params& Set(absl::string_view name, const char* value);  // nullptr: NULL.
  Params& Set(absl::string_view name, bool value);
  // NULL when absent.
  Params& Set(absl::string_view name, const std::optional<std::string>& value);
  Params& Set(absl::string_view name, std::optional<std::string>&& value) = delete;
  // A domain enum as its database text (a literal of its table: no copy).
  template <typename E, typename = std::enable_if_t<std::is_enum_v<E>>>
  Params& Set(absl::string_view name, E value) {
    return Set(name, domain::ToDb(value).data());
  }

  // A column of a patch statement: `set_<name>` says whether to write it,
  // `<name>` is the value (NULL when not written).
  template <typename T>
  Params& Patch(absl::string_view name, const std::optional<T>& field) {
    Bind(Index("set_", name), field.has_value() ? "true" : "false");
    if (field.has_value()) return Set(name, *field);
    return Set(name, static_cast<const char*>(nullptr));
  }

  // Runs the statement. Throws std::logic_error if a parameter was not set.
  pqxx::result Exec(pqxx::transaction_base& tx) const;
  // This execution as one SQL command, `EXECUTE name(values)` with the values
  // quoted as literals, to send in another command's round trip (the opening
  // statement of TransactionRunner::Run). The statement must be prepared on
  // `connection` (libpqxx's prepare_now). Throws like Exec().
  std::string ExecuteSql(pqxx::connection_base& connection) const;
  const Statement& statement() const { return statement_; }

 private:
  // Throws std::logic_error naming the first parameter not set.
  void CheckAllSet() const;
  // The index of parameter `prefix` + `name`; std::logic_error if there is none.
  std::size_t Index(absl::string_view prefix, absl::string_view name) const;
  Params& Bind(std::size_t index, const char* value);

  const Statement& statement_;
  std::vector<const char*> values_;       // By parameter index; nullptr: NULL.
  std::forward_list<std::string> owned_;  // Rvalues (nodes never move).
};

}  // namespace messaging::repository
