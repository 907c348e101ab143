#include "store/postgres/pg_conn.hpp"

#include <cstdlib>
#include <cstring>

namespace taskman::store::postgres {
namespace {

bool succeeded(const PGresult* r) {
  const auto st = PQresultStatus(r);
  return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

// libpq messages end in a newline and indent their hints with tabs: one line for logs and answers.
std::string one_line(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n' || c == '\t' || c == '\r') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

Error unavailable(std::string message) {
  Error e = Error::make(ErrorCode::kUnavailable, std::move(message));
  e.retry_after_ms = 1000;
  return e;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

void replace_all(std::string& s, std::string_view what, std::string_view with) {
  if (what.empty()) return;
  for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + with.size())) {
    s.replace(at, what.size(), with);
  }
}

}  // namespace

std::int64_t PgResult::i64(int row, int col) const {
  return std::strtoll(PQgetvalue(r_, row, col), nullptr, 10);
}

std::int64_t PgResult::affected() const { return std::strtoll(PQcmdTuples(r_), nullptr, 10); }

std::string Params::add(std::string_view v) {
  values_.emplace_back(v);
  null_.push_back(false);
  return "$" + std::to_string(values_.size());
}

std::string Params::add_null() {
  values_.emplace_back();
  null_.push_back(true);
  return "$" + std::to_string(values_.size());
}

std::string Params::add_array(const std::vector<std::string>& items) {
  std::string lit = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) lit += ',';
    lit += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') lit += '\\';
      lit += c;
    }
    lit += '"';
  }
  lit += '}';
  return add(std::string_view(lit));
}

std::vector<const char*> Params::pointers() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (std::size_t i = 0; i < values_.size(); ++i) out.push_back(null_[i] ? nullptr : values_[i].c_str());
  return out;
}

std::vector<std::string> parse_text_array(std::string_view s) {
  std::vector<std::string> out;
  if (s.size() < 2 || s.front() != '{') return out;
  std::size_t i = 1;
  while (i < s.size() && s[i] != '}') {
    std::string item;
    if (s[i] == '"') {
      for (++i; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        item += s[i];
      }
      ++i;  // closing quote
    } else {
      for (; i < s.size() && s[i] != ',' && s[i] != '}'; ++i) item += s[i];
    }
    out.push_back(std::move(item));
    if (i < s.size() && s[i] == ',') ++i;
  }
  return out;
}

Error pg_error(PGconn* c, const PGresult* r, std::string_view what) {
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const std::string sqlstate = state != nullptr ? state : "";
  std::string detail = one_line(r != nullptr ? PQresultErrorMessage(r) : "");
  if (detail.empty() && c != nullptr) detail = one_line(PQerrorMessage(c));
  std::string msg = std::string(what) + ": " + detail;
  if (sqlstate == "23505") return Error::make(ErrorCode::kConflict, std::move(msg));
  if (sqlstate == "23503") return Error::make(ErrorCode::kUnprocessable, std::move(msg));
  const bool lost = c != nullptr && PQstatus(c) != CONNECTION_OK;
  // 08: connection exceptions; 53: insufficient resources; 57: operator intervention (shutdown,
  // statement timeout); 40001/40P01: serialization failure, deadlock; 55P03: lock timeout.
  if (lost || sqlstate.starts_with("08") || sqlstate.starts_with("53") || sqlstate.starts_with("57") ||
      sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03") {
    return unavailable("database unavailable: " + msg);
  }
  return Error::make(ErrorCode::kInternal, "database error: " + msg);
}

std::string redact_password(std::string message, std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return message;
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?"));
  const auto at = rest.rfind('@');
  if (at == std::string_view::npos) return message;
  const std::string_view userinfo = rest.substr(0, at);
  const auto colon = userinfo.find(':');
  if (colon == std::string_view::npos) return message;
  const std::string_view password = userinfo.substr(colon + 1);
  replace_all(message, password, "***");
  replace_all(message, percent_decode(password), "***");
  return message;
}

namespace {

// A new libpq connection (possibly failed: PQstatus tells). Defaults first: with expand_dbname,
// what the URL says overrides them; libpq reads the PG* environment variables for anything neither
// sets, so a default is only given when the corresponding variable is unset.
PGconn* open_raw(const ConnectOptions& options) {
  std::vector<const char*> keys, values;
  const std::string timeout = std::to_string(options.connect_timeout_s);
  if (std::getenv("PGCONNECT_TIMEOUT") == nullptr) {
    keys.push_back("connect_timeout");
    values.push_back(timeout.c_str());
  }
  if (std::getenv("PGAPPNAME") == nullptr) {
    keys.push_back("application_name");
    values.push_back("taskman");
  }
  // A server that vanishes without closing the socket (host down, network cut) is noticed within
  // seconds rather than after the kernel's retransmission timeout.
  for (const auto& [k, v] : {std::pair{"keepalives_idle", "10"}, std::pair{"keepalives_interval", "5"},
                             std::pair{"keepalives_count", "3"}, std::pair{"tcp_user_timeout", "15000"}}) {
    keys.push_back(k);
    values.push_back(v);
  }
  keys.push_back("dbname");
  values.push_back(options.url.c_str());
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* c = PQconnectdbParams(keys.data(), values.data(), 1);
  // Notices (e.g. "text-search query doesn't contain lexemes") would go to stderr, which is the log.
  if (c != nullptr)
    PQsetNoticeProcessor(
        c, [](void*, const char*) {}, nullptr);
  return c;
}

}  // namespace

Result<std::unique_ptr<PgConn>> PgConn::connect(const ConnectOptions& options) {
  PGconn* c = open_raw(options);
  if (c == nullptr) return unavailable("cannot connect to PostgreSQL: out of memory");
  auto conn = std::unique_ptr<PgConn>(new PgConn(c, options));
  if (PQstatus(c) != CONNECTION_OK) return conn->unreachable(PQerrorMessage(c));
  if (PQserverVersion(c) < 120000) {
    return Error::make(ErrorCode::kUnavailable, "PostgreSQL at " + conn->server() + " is version " +
                                                    std::to_string(PQserverVersion(c)) +
                                                    "; taskman needs 12 or newer (generated columns)");
  }
  if (auto st = conn->set_up_session(); !st) return st.take_error();
  return conn;
}

PgConn::~PgConn() {
  if (c_ != nullptr) PQfinish(c_);
}

Status PgConn::set_up_session() {
  // A statement (or lock wait) that runs away cannot hold a worker forever; a timeout the session
  // already has (URL options, PGOPTIONS, the role's settings) is kept.
  PgResult r(
      PQexec(c_, ("SELECT set_config('statement_timeout', '" + std::to_string(options_.statement_timeout_ms) +
                  "', false) WHERE current_setting('statement_timeout') = '0'")
                     .c_str()));
  if (!succeeded(r.get())) return pg_error(c_, r.get(), "session set-up");
  return {};
}

std::string PgConn::quote(std::string_view v) const {
  char* q = PQescapeLiteral(c_, v.data(), v.size());
  if (q == nullptr) return "NULL";  // out of memory, or invalid encoding: matches nothing
  std::string out(q);
  PQfreemem(q);
  return out;
}

std::string PgConn::server() const {
  const char* host = PQhost(c_);
  const char* port = PQport(c_);
  std::string h = host != nullptr && *host != '\0' ? host : "localhost";
  return h + ":" + (port != nullptr && *port != '\0' ? port : "5432");
}

Error PgConn::unreachable(std::string_view detail) const {
  return unavailable("cannot connect to PostgreSQL at " + server() + ": " +
                     redact_password(one_line(detail), options_.url));
}

void PgConn::send_and_forget(const std::string& sql) {
  drain_unread();
  // A failure to send shows as a broken connection at the next use.
  unread_ = PQsendQuery(c_, sql.c_str()) == 1;
}

void PgConn::drain_unread() {
  if (!unread_) return;
  unread_ = false;
  while (PGresult* r = PQgetResult(c_)) PQclear(r);
}

Status PgConn::ensure_connected() {
  drain_unread();
  if (!broken_ && PQstatus(c_) == CONNECTION_OK) return {};
  const auto now = std::chrono::steady_clock::now();
  if (now < next_retry_) return unreachable("connection lost; reconnecting");
  // A new connection rather than PQreset: nothing of the old one's state (a pipeline cut short,
  // prepared statements) can survive.
  PGconn* fresh = open_raw(options_);
  if (fresh == nullptr) return unavailable("cannot connect to PostgreSQL: out of memory");
  PQfinish(c_);
  c_ = fresh;
  prepared_.clear();
  deferred_.clear();
  broken_ = false;
  if (PQstatus(c_) != CONNECTION_OK) {
    next_retry_ = now + kRetryInterval;
    return unreachable(PQerrorMessage(c_));
  }
  return set_up_session();
}

Status PgConn::exec(const std::string& sql) {
  drain_unread();
  std::string text;
  for (const auto& d : deferred_) text += d + "; ";
  deferred_.clear();
  text += sql;
  PgResult r(PQexec(c_, text.c_str()));
  if (r.get() == nullptr || !succeeded(r.get())) return pg_error(c_, r.get(), "exec");
  return {};
}

Result<PgResult> PgConn::query(const std::string& sql, const Params& params) {
  drain_unread();
  auto it = prepared_.find(sql);
  const bool prepare = it == prepared_.end();
  const std::string name = prepare ? "s" + std::to_string(prepared_.size() + 1) : it->second;
  if (prepare || !deferred_.empty()) return pipeline(name, prepare, sql, params);
  const auto values = params.pointers();
  PgResult r(PQexecPrepared(c_, name.c_str(), params.size(), values.data(), nullptr, nullptr, 0));
  if (r.get() == nullptr || !succeeded(r.get())) return pg_error(c_, r.get(), "query");
  return r;
}

// The deferred commands, the statement's preparation when it is new, and the statement itself in
// one pipeline: one round trip. A failing command aborts the rest of the pipeline; the first
// error is the answer.
Result<PgResult> PgConn::pipeline(const std::string& name, bool prepare, const std::string& sql,
                                  const Params& params) {
  auto lost = [&]() -> Error {
    broken_ = true;  // the protocol state is unknown: reconnect before the next job
    return pg_error(c_, nullptr, "pipeline");
  };
  if (PQenterPipelineMode(c_) != 1) return lost();
  int commands = 0;
  bool sent = true;
  for (const auto& d : deferred_) {
    sent = sent && PQsendQueryParams(c_, d.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
    ++commands;
  }
  deferred_.clear();
  if (prepare) {
    sent = sent && PQsendPrepare(c_, name.c_str(), sql.c_str(), 0, nullptr) == 1;
    ++commands;
  }
  const auto values = params.pointers();
  sent =
      sent && PQsendQueryPrepared(c_, name.c_str(), params.size(), values.data(), nullptr, nullptr, 0) == 1;
  ++commands;
  sent = sent && PQpipelineSync(c_) == 1;
  if (!sent) return lost();

  std::optional<Error> error;
  PgResult last;
  for (int i = 0; i < commands; ++i) {
    PgResult r(PQgetResult(c_));
    if (r.get() == nullptr) return lost();
    const auto st = PQresultStatus(r.get());
    if (st != PGRES_PIPELINE_ABORTED && !succeeded(r.get())) {
      if (!error) error = pg_error(c_, r.get(), "query");
    } else if (st != PGRES_PIPELINE_ABORTED && prepare && i == commands - 2) {
      prepared_.emplace(sql, name);
    }
    if (i == commands - 1) last = std::move(r);
    // Each command's results end with a null.
    while (PGresult* extra = PQgetResult(c_)) PQclear(extra);
  }
  PgResult sync(PQgetResult(c_));
  if (sync.get() == nullptr || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) return lost();
  if (PQexitPipelineMode(c_) != 1) return lost();
  if (error) return *error;
  return last;
}

}  // namespace taskman::store::postgres
