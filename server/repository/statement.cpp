#include "repository/statement.h"

#include <stdexcept>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace messaging::repository {
namespace {

// values_ of a parameter not set yet (compared by address).
constexpr char kUnset[] = "";

bool IsNameChar(char c) { return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_'; }

}  // namespace

Statement::Statement(std::string name, absl::string_view columns,
                     absl::string_view sql_with_columns)
    : name_(std::move(name)) {
  if (absl::StrContains(sql_with_columns, "{columns}") == columns.empty()) {
    throw std::logic_error(absl::StrCat("statement ", name_, ": a column list needs {columns}"));
  }
  const std::string expanded = absl::StrReplaceAll(sql_with_columns, {{"{columns}", columns}});
  const absl::string_view sql = expanded;
  sql_.reserve(sql.size());
  for (std::size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {  // A literal or quoted identifier: copied as it is.
      const std::size_t close = sql.find(c, i + 1);
      const std::size_t end = close == absl::string_view::npos ? sql.size() : close + 1;
      sql_.append(sql.data() + i, end - i);
      i = end - 1;
    } else if (c == ':' && i + 1 < sql.size() && sql[i + 1] == ':') {  // A cast.
      sql_ += "::";
      ++i;
    } else if (c == ':' && i + 1 < sql.size() && IsNameChar(sql[i + 1])) {
      std::size_t end = i + 1;
      while (end < sql.size() && IsNameChar(sql[end])) ++end;
      const absl::string_view parameter = sql.substr(i + 1, end - i - 1);
      std::size_t number = 0;
      while (number < parameters_.size() && parameters_[number] != parameter) ++number;
      if (number == parameters_.size()) parameters_.emplace_back(parameter);
      absl::StrAppend(&sql_, "$", number + 1);
      i = end - 1;
    } else {
      sql_ += c;
    }
  }
}

Params::Params(const Statement& statement)
    : statement_(statement), values_(statement.parameters().size(), kUnset) {}

Params& Params::Set(absl::string_view name, const std::string& value) {
  return Bind(Index("", name), value.c_str());
}

Params& Params::Set(absl::string_view name, std::string&& value) {
  const std::size_t index = Index("", name);
  owned_.push_front(std::move(value));
  return Bind(index, owned_.front().c_str());
}

Params& Params::Set(absl::string_view name, const std::string&& value) {
  return Set(name, std::string(value));
}

Params& Params::Set(absl::string_view name, const char* value) {
  return Bind(Index("", name), value);
}

Params& Params::Set(absl::string_view name, bool value) {
  return Bind(Index("", name), value ? "true" : "false");
}

Params& Params::Set(absl::string_view name, const std::optional<std::string>& value) {
  return Bind(Index("", name), value ? value->c_str() : nullptr);
}

Params& Params::Bind(std::size_t index, const char* value) {
  values_[index] = value;
  return *this;
}

std::size_t Params::Index(absl::string_view prefix, absl::string_view name) const {
  const auto& parameters = statement_.parameters();
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    const absl::string_view p = parameters[i];
    if (p.size() == prefix.size() + name.size() && absl::StartsWith(p, prefix) &&
        p.substr(prefix.size()) == name) {
      return i;
    }
  }
  throw std::logic_error(
      absl::StrCat("statement ", statement_.name(), " has no parameter :", prefix, name));
}

void Params::CheckAllSet() const {
  for (std::size_t i = 0; i < values_.size(); ++i) {
    if (values_[i] == kUnset) {
      throw std::logic_error(absl::StrCat("statement ", statement_.name(),
                                          ": parameter :", statement_.parameters()[i], " not set"));
    }
  }
}

pqxx::result Params::Exec(pqxx::transaction_base& tx) const {
  CheckAllSet();
  return tx.exec_prepared(statement_.name(), pqxx::prepare::make_dynamic_params(values_));
}

std::string Params::ExecuteSql(pqxx::connection_base& connection) const {
  CheckAllSet();
  std::string sql = absl::StrCat("EXECUTE ", connection.quote_name(statement_.name()));
  for (std::size_t i = 0; i < values_.size(); ++i) {
    // An untyped literal takes the type PostgreSQL inferred for the parameter,
    // as a text-format value bound by Exec() does.
    absl::StrAppend(&sql, i == 0 ? "(" : ", ",
                    values_[i] == nullptr ? "NULL" : connection.quote(values_[i]));
  }
  if (!values_.empty()) sql += ")";
  return sql;
}

}  // namespace messaging::repository
