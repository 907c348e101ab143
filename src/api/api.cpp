#include "api/api.hpp"

#include <openssl/evp.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "core/text.hpp"
#include "http/router.hpp"
#include "log/log.hpp"
#include "store/store.hpp"
#include "tasks/service.hpp"

namespace taskman::api {
namespace {

using http::Request;
using http::Response;
using tasks::Comment;
using tasks::Project;
using tasks::Task;

constexpr std::string_view kPrefix = "/api/v1";

const char* problem_title(int status) {
  switch (status) {
    case 400:
      return "Invalid request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not found";
    case 409:
      return "Conflict";
    case 412:
      return "Precondition failed";
    case 413:
      return "Payload too large";
    case 415:
      return "Unsupported media type";
    case 422:
      return "Unprocessable content";
    case 503:
      return "Service unavailable";
    default:
      return "Internal server error";
  }
}

// RFC 9457 problem details. Internal errors are logged in full and shown generically: database
// messages are for operators, not for clients.
Response problem(const Error& e, const RequestContext& ctx, log::Logger& logger) {
  const int status = http_status(e.code);
  nlohmann::json j;
  j["type"] = std::string("https://taskman.dev/problems/") + error_code_name(e.code);
  j["title"] = problem_title(status);
  j["status"] = status;
  if (status >= 500) {
    logger.error(ctx, "request failed", {{"error", e.message}, {"status", status}});
  }
  j["detail"] =
      status == 500 ? "internal error; the server log has the details under this request_id" : e.message;
  j["request_id"] = ctx.request_id;
  j["errors"] = nlohmann::json::array();
  for (const auto& f : e.fields) j["errors"].push_back({{"field", f.field}, {"message", f.message}});
  Response r;
  r.status = status;
  r.headers.set("Content-Type", "application/problem+json");
  if (e.retry_after_ms >= 0) r.headers.set("Retry-After", std::to_string((e.retry_after_ms + 999) / 1000));
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

std::string etag(std::int64_t version) { return "\"" + std::to_string(version) + "\""; }

Response task_response(int status, const Task& t) {
  Response r = Response::json(status, tasks::encode_task(t));
  r.headers.set("ETag", etag(t.version));
  return r;
}

// Media type check for request bodies (415 otherwise). Parameters such as charset are allowed.
bool json_body(const Request& req, bool allow_merge_patch) {
  auto ct = req.headers.get("Content-Type");
  if (!ct) return false;
  std::string_view v = *ct;
  if (auto semi = v.find(';'); semi != std::string_view::npos) v = v.substr(0, semi);
  v = trim(v);
  return iequals(v, "application/json") || (allow_merge_patch && iequals(v, "application/merge-patch+json"));
}

// If-Match (RFC 9110 §13.1.1, strong comparison): "*" matches any current version; one strong
// tag names the expected version; a weak or foreign tag can never match (→ 412 once the task is
// known to exist).
Result<std::optional<std::int64_t>> if_match(const Request& req) {
  auto h = req.headers.get("If-Match");
  if (!h) return std::optional<std::int64_t>();
  std::string_view v = trim(*h);
  if (v == "*") return std::optional<std::int64_t>();
  if (v.find(',') != std::string_view::npos) {
    return Error::invalid("If-Match", "give a single entity tag such as \"3\"");
  }
  if (v.size() >= 3 && v.front() == '"' && v.back() == '"') {
    std::string_view inner = v.substr(1, v.size() - 2);
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(inner.data(), inner.data() + inner.size(), n);
    if (ec == std::errc() && p == inner.data() + inner.size() && n >= 1)
      return std::optional<std::int64_t>(n);
  }
  if (v.empty() || (v.front() != '"' && !v.starts_with("W/\""))) {
    return Error::invalid("If-Match", "must be an entity tag such as \"3\"");
  }
  return std::optional<std::int64_t>(-1);  // a well-formed tag that is not ours: never matches
}

// Idempotency-Key is a structured-field string ("..."); a bare token is accepted too.
Result<std::optional<std::string>> idempotency_key(const Request& req) {
  auto h = req.headers.get("Idempotency-Key");
  if (!h) return std::optional<std::string>();
  std::string_view v = trim(*h);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.empty() || v.size() > 255) return Error::invalid("Idempotency-Key", "must be 1..255 characters");
  for (char c : v) {
    if (c < 0x20 || c > 0x7E || c == '"' || c == '\\') {
      return Error::invalid("Idempotency-Key", "must be printable ASCII without quotes or backslashes");
    }
  }
  return std::optional<std::string>(std::string(v));
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xF];
  }
  return out;
}

Status check_params(const Request& req, std::initializer_list<std::string_view> allowed) {
  for (const auto& [k, v] : req.query_params()) {
    bool ok = false;
    for (auto a : allowed) ok = ok || k == a;
    if (!ok) return Error::invalid(k, "unknown query parameter");
  }
  return {};
}

// If-None-Match (RFC 9110 §13.1.2) uses the weak comparison: W/"3" matches "3"; lists allowed.
bool none_match(std::string_view header, std::int64_t version) {
  if (trim(header) == "*") return true;
  const std::string tag = etag(version);
  while (!header.empty()) {
    const auto comma = header.find(',');
    std::string_view item = trim(header.substr(0, comma));
    if (item.starts_with("W/")) item.remove_prefix(2);
    if (item == tag) return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

// Credentials in a URL (postgres://user:secret@host/db) never reach the log.
std::string redact_url(std::string_view url) {
  const auto scheme = url.find("://");
  const auto at = url.find('@');
  if (scheme == std::string_view::npos || at == std::string_view::npos || at < scheme)
    return std::string(url);
  return std::string(url.substr(0, scheme + 3)) + "REDACTED" + std::string(url.substr(at));
}

Response replay(const tasks::Reply& r) {
  Response resp;
  resp.status = r.status;
  resp.body = r.body;
  for (const auto& [k, v] : r.headers) resp.headers.set(k, v);
  resp.headers.set("Idempotent-Replayed", "true");
  return resp;
}

}  // namespace

struct Backend::Impl {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<tasks::TaskService> service;
  log::Logger* logger;
  DbSpanHook db_span;

  // One request in flight: what the asynchronous callback needs after the handler returned.
  struct Call {
    std::shared_ptr<http::Responder> responder;
    RequestContext ctx;
    log::Logger* logger;
    const DbSpanHook* span_hook = nullptr;
    std::function<void(bool ok)> end_span;  // set by db(); the callback runs exactly once

    // A copy for the service callback, with the database span (if tracing is wired) started now.
    Call db(const char* operation, const char* collection) const {
      Call c = *this;
      if (span_hook != nullptr && *span_hook) c.end_span = (*span_hook)(ctx, operation, collection);
      return c;
    }
    void send(Response r) const {
      if (end_span) end_span(true);
      responder->send(std::move(r));
    }
    void fail(const Error& e) const {
      if (end_span) end_span(http_status(e.code) < 500);
      responder->send(problem(e, ctx, *logger));
    }
  };
  Call call(Request& req, http::Responder& responder) const {
    return Call{std::make_shared<http::Responder>(std::move(responder)), req.ctx, logger, &db_span, nullptr};
  }

  template <class T>
  std::optional<tasks::Idempotency<T>> idempotency(const Request& req, std::string key,
                                                   std::function<tasks::Reply(const T&)> make_reply) const {
    std::string material = req.method + "\n" + req.path + "\n" + req.body;
    return tasks::Idempotency<T>{std::move(key), sha256_hex(material), std::move(make_reply)};
  }

  // Validation that every body-carrying route shares: 415, then Idempotency-Key syntax.
  bool body_prelude(const Request& req, const Call& c, bool merge_patch) const {
    if (!json_body(req, merge_patch)) {
      c.fail(Error::make(ErrorCode::kUnsupportedMediaType, "Content-Type must be application/json"));
      return false;
    }
    return true;
  }

  void register_routes(http::Router& router) {
    const std::string p(kPrefix);

    // ---------------------------------------------------------------- projects
    router.add("GET", p + "/projects", [this](Request& req, http::Responder r) {
      auto c = call(req, r);
      auto page = tasks::parse_page(req.query_params());
      if (!page) return c.fail(page.error());
      service->list_projects(req.ctx, std::move(*page),
                             [c = c.db("SELECT", "projects")](Result<tasks::Page<Project>> res) {
                               if (!res) return c.fail(res.error());
                               std::vector<std::string> items;
                               for (const auto& pr : res->items) items.push_back(tasks::encode_project(pr));
                               c.send(Response::json(200, tasks::encode_page(items, res->next_cursor)));
                             });
    });

    router.add("POST", p + "/projects", [this](Request& req, http::Responder r) {
      auto c = call(req, r);
      if (auto st = check_params(req, {}); !st) return c.fail(st.error());
      if (!body_prelude(req, c, false)) return;
      auto key = idempotency_key(req);
      if (!key) return c.fail(key.error());
      auto in = tasks::decode_project(req.body, tasks::Mode::kCreate);
      if (!in) return c.fail(in.error());
      auto make_reply = [](const Project& pr) {
        return tasks::Reply{201,
                            tasks::encode_project(pr),
                            {{"Content-Type", "application/json"},
                             {"Location", std::string(kPrefix) + "/projects/" + pr.id}}};
      };
      std::optional<tasks::Idempotency<Project>> idem;
      if (*key) idem = idempotency<Project>(req, **key, make_reply);
      service->create_project(
          req.ctx, std::move(*in), std::move(idem),
          [c = c.db("INSERT", "projects"), make_reply](Result<tasks::Created<Project>> res) {
            if (!res) return c.fail(res.error());
            if (res->replay) return c.send(replay(*res->replay));
            auto reply = make_reply(res->value);
            Response resp = Response::json(201, std::move(reply.body));
            resp.headers.set("Location", std::string(kPrefix) + "/projects/" + res->value.id);
            c.send(std::move(resp));
          });
    });

    router.add("GET", p + "/projects/{id}", [this](Request& req, http::Responder r) {
      auto c = call(req, r);
      if (auto st = check_params(req, {}); !st) return c.fail(st.error());
      std::string id(req.path_param("id"));
      if (!tasks::valid_id(id))
        return c.fail(Error::make(ErrorCode::kNotFound, "project " + id + " not found"));
      service->get_project(req.ctx, id, [c = c.db("SELECT", "projects")](Result<Project> res) {
        if (!res) return c.fail(res.error());
        c.send(Response::json(200, tasks::encode_project(*res)));
      });
    });

    router.add("PATCH", p + "/projects/{id}", [this](Request& req, http::Responder r) {
      auto c = call(req, r);
      if (auto st = check_params(req, {}); !st) return c.fail(st.error());
      if (!body_prelude(req, c, true)) return;
      std::string id(req.path_param("id"));
      auto in = tasks::decode_project(req.body, tasks::Mode::kPatch);
      if (!in) return c.fail(in.error());
      if (!tasks::valid_id(id))
        return c.fail(Error::make(ErrorCode::kNotFound, "project " + id + " not found"));
      service->update_project(req.ctx, id, std::move(*in),
                              [c = c.db("UPDATE", "projects")](Result<Project> res) {
                                if (!res) return c.fail(res.error());
                                c.send(Response::json(200, tasks::encode_project(*res)));
                              });
    });

    router.add("DELETE", p + "/projects/{id}", [this](Request& req, http::Responder r) {
      auto c = call(req, r);
      if (auto st = check_params(req, {"cascade"}); !st) return c.fail(st.error());
      bool cascade = false;
      for (const auto& [k, v] : req.query_params()) {
        if (v == "true" || v == "1") {
          cascade = true;
        } else if (v != "false" && v != "0") {
          return c.fail(Error::invalid("cascade", "must be true or false"));
        }
      }
      std::string id(req.path_param("id"));
      if (!tasks::valid_id(id))
        return c.fail(Error::make(ErrorCode::kNotFound, "project " + id + " not found"));
      service->delete_project(req.ctx, id, cascade, [c = c.db("DELETE", "projects")](Result<bool> res) {
        if (!res) return c.fail(res.error());
        c.send(Response::empty(204));
      });
    });

    // ---------------------------------------------------------------- tasks
    router.add("GET", p + "/tasks", [this](Request& req, http::Responder r) {
      auto c = call(req, r);
      auto q = tasks::parse_task_list(req.query_params());
      if (!q) return c.fail(q.error());
      service->list_tasks(req.ctx, std::move(*q),
                          [c = c.db("SELECT", "tasks")](Result<tasks::Page<Task>> res) {
                            if (!res) return c.fail(res.error());
                            std::vector<std::string> items;
                            items.reserve(res->items.size());
                            for (const auto& t : res->items) items.push_back(tasks::encode_task(t));
                            c.send(Response::json(200, tasks::encode_page(items, res->next_cursor)));
                          });
    });

    router.add("POST", p + "/tasks", [this](Request& req, http::Responder r) {
      auto c = call(req, r);
      if (auto st = check_params(req, {}); !st) return c.fail(st.error());
      if (!body_prelude(req, c, false)) return;
      auto key = idempotency_key(req);
      if (!key) return c.fail(key.error());
      auto in = tasks::decode_task(req.body, tasks::Mode::kCreate);
      if (!in) return c.fail(in.error());
      auto make_reply = [](const Task& t) {
        return tasks::Reply{201,
                            tasks::encode_task(t),
                            {{"Content-Type", "application/json"},
                             {"Location", std::string(kPrefix) + "/tasks/" + t.id},
                             {"ETag", etag(t.version)}}};
      };
      std::optional<tasks::Idempotency<Task>> idem;
      if (*key) idem = idempotency<Task>(req, **key, make_reply);
      service->create_task(req.ctx, std::move(*in), std::move(idem),
                           [c = c.db("INSERT", "tasks")](Result<tasks::Created<Task>> res) {
                             if (!res) return c.fail(res.error());
                             if (res->replay) return c.send(replay(*res->replay));
                             Response resp = task_response(201, res->value);
                             resp.headers.set("Location", std::string(kPrefix) + "/tasks/" + res->value.id);
                             c.send(std::move(resp));
                           });
    });

    // Before /tasks/{id}: the router matches in registration order.
    router.add("GET", p + "/tasks/next", [this](Request& req, http::Responder r) {
      auto c = call(req, r);
      auto q = tasks::parse_next_task(req.query_params());
      if (!q) return c.fail(q.error());
      service->next_task(req.ctx, std::move(*q),
                         [c = c.db("SELECT", "tasks")](Result<std::optional<Task>> res) {
                           if (!res) return c.fail(res.error());
                           if (!res->has_value()) return c.send(Response::empty(204));
                           c.send(task_response(200, **res));
                         });
    });

    router.add("GET", p + "/tasks/{id}", [this](Request& req, http::Responder r) {
      auto c = call(req, r);
      if (auto st = check_params(req, {}); !st) return c.fail(st.error());
      std::string id(req.path_param("id"));
      if (!tasks::valid_id(id)) return c.fail(Error::make(ErrorCode::kNotFound, "task " + id + " not found"));
      std::string inm(req.headers.get("If-None-Match").value_or(""));
      service->get_task(req.ctx, id, [c = c.db("SELECT", "tasks"), inm](Result<Task> res) {
        if (!res) return c.fail(res.error());
        if (none_match(inm, res->version)) {
          Response nm = Response::empty(304);
          nm.headers.set("ETag", etag(res->version));
          return c.send(std::move(nm));
        }
        c.send(task_response(200, *res));
      });
    });

    router.add("PATCH", p + "/tasks/{id}", [this](Request& req, http::Responder r) {
      auto c = call(req, r);
      if (auto st = check_params(req, {}); !st) return c.fail(st.error());
      if (!body_prelude(req, c, true)) return;
      auto expected = if_match(req);
      if (!expected) return c.fail(expected.error());
      auto in = tasks::decode_task(req.body, tasks::Mode::kPatch);
      if (!in) return c.fail(in.error());
      std::string id(req.path_param("id"));
      if (!tasks::valid_id(id)) return c.fail(Error::make(ErrorCode::kNotFound, "task " + id + " not found"));
      service->update_task(req.ctx, id, std::move(*in), *expected,
                           [c = c.db("UPDATE", "tasks")](Result<Task> res) {
                             if (!res) return c.fail(res.error());
                             c.send(task_response(200, *res));
                           });
    });

    router.add("DELETE", p + "/tasks/{id}", [this](Request& req, http::Responder r) {
      auto c = call(req, r);
      if (auto st = check_params(req, {}); !st) return c.fail(st.error());
      auto expected = if_match(req);
      if (!expected) return c.fail(expected.error());
      std::string id(req.path_param("id"));
      if (!tasks::valid_id(id)) return c.fail(Error::make(ErrorCode::kNotFound, "task " + id + " not found"));
      service->delete_task(req.ctx, id, *expected, [c = c.db("DELETE", "tasks")](Result<bool> res) {
        if (!res) return c.fail(res.error());
        c.send(Response::empty(204));
      });
    });

    // ---------------------------------------------------------------- comments
    router.add("GET", p + "/tasks/{id}/comments", [this](Request& req, http::Responder r) {
      auto c = call(req, r);
      auto page = tasks::parse_page(req.query_params());
      if (!page) return c.fail(page.error());
      std::string id(req.path_param("id"));
      if (!tasks::valid_id(id)) return c.fail(Error::make(ErrorCode::kNotFound, "task " + id + " not found"));
      service->list_comments(req.ctx, id, std::move(*page),
                             [c = c.db("SELECT", "comments")](Result<tasks::Page<Comment>> res) {
                               if (!res) return c.fail(res.error());
                               std::vector<std::string> items;
                               for (const auto& cm : res->items) items.push_back(tasks::encode_comment(cm));
                               c.send(Response::json(200, tasks::encode_page(items, res->next_cursor)));
                             });
    });

    router.add("GET", p + "/tasks/{id}/comments/{comment_id}", [this](Request& req, http::Responder r) {
      auto c = call(req, r);
      if (auto st = check_params(req, {}); !st) return c.fail(st.error());
      std::string id(req.path_param("id")), comment_id(req.path_param("comment_id"));
      if (!tasks::valid_id(id) || !tasks::valid_id(comment_id)) {
        return c.fail(Error::make(ErrorCode::kNotFound, "comment " + comment_id + " not found"));
      }
      service->get_comment(req.ctx, id, comment_id, [c = c.db("SELECT", "comments")](Result<Comment> res) {
        if (!res) return c.fail(res.error());
        c.send(Response::json(200, tasks::encode_comment(*res)));
      });
    });

    router.add("POST", p + "/tasks/{id}/comments", [this](Request& req, http::Responder r) {
      auto c = call(req, r);
      if (auto st = check_params(req, {}); !st) return c.fail(st.error());
      if (!body_prelude(req, c, false)) return;
      auto key = idempotency_key(req);
      if (!key) return c.fail(key.error());
      auto in = tasks::decode_comment(req.body);
      if (!in) return c.fail(in.error());
      std::string id(req.path_param("id"));
      if (!tasks::valid_id(id)) return c.fail(Error::make(ErrorCode::kNotFound, "task " + id + " not found"));
      auto make_reply = [](const Comment& cm) {
        return tasks::Reply{
            201,
            tasks::encode_comment(cm),
            {{"Content-Type", "application/json"},
             {"Location", std::string(kPrefix) + "/tasks/" + cm.task_id + "/comments/" + cm.id}}};
      };
      std::optional<tasks::Idempotency<Comment>> idem;
      if (*key) idem = idempotency<Comment>(req, **key, make_reply);
      service->add_comment(req.ctx, id, std::move(*in), std::move(idem),
                           [c = c.db("INSERT", "comments"), make_reply](Result<tasks::Created<Comment>> res) {
                             if (!res) return c.fail(res.error());
                             if (res->replay) return c.send(replay(*res->replay));
                             auto reply = make_reply(res->value);
                             Response resp = Response::json(201, std::move(reply.body));
                             for (const auto& [k, v] : reply.headers) resp.headers.set(k, v);
                             c.send(std::move(resp));
                           });
    });
  }
};

Backend::Backend(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Backend::~Backend() { close(); }

Result<std::unique_ptr<Backend>> Backend::open(const ApiOptions& options, log::Logger& logger) {
  store::StoreOptions so;
  so.readers = options.db_readers;
  so.max_batch = options.db_max_batch;
  so.migrate = true;
  so.observer = options.db_observer;
  auto st = store::open_store(options.database_url, so);
  if (!st) return st.take_error();
  auto impl = std::make_unique<Impl>();
  impl->store = std::move(*st);
  impl->service = std::make_unique<tasks::TaskService>(*impl->store);
  impl->logger = &logger;
  impl->db_span = options.db_span;
  logger.info("database open", {{"database_url", redact_url(options.database_url)},
                                {"schema_version", impl->store->schema_version()},
                                {"readers", options.db_readers}});
  return std::unique_ptr<Backend>(new Backend(std::move(impl)));
}

void Backend::register_routes(http::Router& router) { impl_->register_routes(router); }

Status Backend::check_database() { return impl_->store->ping_sync(std::chrono::milliseconds(1000)); }

void Backend::check_database(std::function<void(Status)> done) { impl_->store->ping(std::move(done)); }

void Backend::close() {
  if (impl_ && impl_->store) impl_->store->close();
}

tasks::TaskService& Backend::service() { return *impl_->service; }

Status migrate(const ApiOptions& options, log::Logger& logger) {
  auto v = store::migrate_database(options.database_url);
  if (!v) return v.take_error();
  logger.info("database migrated",
              {{"database_url", redact_url(options.database_url)}, {"schema_version", *v}});
  return {};
}

}  // namespace taskman::api
