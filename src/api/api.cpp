#include "api/api.hpp"

#include <openssl/evp.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "core/encoding.hpp"
#include "core/redact.hpp"
#include "core/text.hpp"
#include "http/problem.hpp"
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

// RFC 9457 problem details (http::Problem). Internal errors are logged in full and shown
// generically: database messages are for operators, not for clients.
Response problem(const Error& e, const RequestContext& ctx, log::Logger& logger) {
  const int status = http_status(e.code);
  if (status >= 500) {
    logger.error(ctx, "request failed", {{"error", e.message}, {"status", status}});
  }
  http::Problem p;
  p.status = status;
  p.type = std::string("https://taskman.dev/problems/") + error_code_name(e.code);
  p.title = problem_title(status);
  p.detail =
      status == 500 ? "internal error; the server log has the details under this request_id" : e.message;
  p.request_id = ctx.request_id;
  p.errors = e.fields;
  if (e.retry_after_ms >= 0) p.retry_after_s = static_cast<int>((e.retry_after_ms + 999) / 1000);
  return http::problem_response(p);
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
  return hex_encode(std::string_view(reinterpret_cast<const char*>(md), len));
}

Status check_params(const Request& req, const std::vector<std::string_view>& allowed) {
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

Response replay(const tasks::Reply& r) {
  Response resp;
  resp.status = r.status;
  resp.body = r.body;
  for (const auto& [k, v] : r.headers) resp.headers.set(k, v);
  resp.headers.set("Idempotent-Replayed", "true");
  return resp;
}

}  // namespace

struct RestApi::Impl {
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

  // ------------------------------------------------------------------ the route table
  // What a route accepts, said once: the checks every route shares run from here, in this order
  // (query parameters, then 415, then Idempotency-Key syntax), before the route's own handler.
  enum class Body { kNone, kJson, kJsonOrMergePatch };
  struct Prelude {
    std::optional<std::string> idempotency_key;  // set only on routes that take one
  };
  using Handle = void (Impl::*)(Request&, const Call&, Prelude);
  struct Route {
    std::string_view method;
    std::string_view path;  // under kPrefix; the router matches in table order
    // Allowed query parameters. Routes whose query is parsed by the codec (lists, next) leave the
    // check to that parser, which names the bad parameter itself.
    std::vector<std::string_view> params;
    bool codec_checks_params = false;
    Body body = Body::kNone;
    bool idempotency_key = false;  // honours Idempotency-Key (docs/api.md: POST that create)
    Handle handle;
  };

  static const std::vector<Route>& routes() {
    static const std::vector<Route> kRoutes = {
        {"GET", "/projects", {}, true, Body::kNone, false, &Impl::list_projects},
        {"POST", "/projects", {}, false, Body::kJson, true, &Impl::create_project},
        {"GET", "/projects/{id}", {}, false, Body::kNone, false, &Impl::get_project},
        {"PATCH", "/projects/{id}", {}, false, Body::kJsonOrMergePatch, false, &Impl::update_project},
        {"DELETE", "/projects/{id}", {"cascade"}, false, Body::kNone, false, &Impl::delete_project},
        {"GET", "/tasks", {}, true, Body::kNone, false, &Impl::list_tasks},
        {"POST", "/tasks", {}, false, Body::kJson, true, &Impl::create_task},
        // Before /tasks/{id}: the router matches in registration order.
        {"GET", "/tasks/next", {}, true, Body::kNone, false, &Impl::next_task},
        {"GET", "/tasks/{id}", {}, false, Body::kNone, false, &Impl::get_task},
        {"PATCH", "/tasks/{id}", {}, false, Body::kJsonOrMergePatch, false, &Impl::update_task},
        {"DELETE", "/tasks/{id}", {}, false, Body::kNone, false, &Impl::delete_task},
        {"GET", "/tasks/{id}/comments", {}, true, Body::kNone, false, &Impl::list_comments},
        {"GET", "/tasks/{id}/comments/{comment_id}", {}, false, Body::kNone, false, &Impl::get_comment},
        {"POST", "/tasks/{id}/comments", {}, false, Body::kJson, true, &Impl::add_comment},
    };
    return kRoutes;
  }

  void register_routes(http::Router& router) {
    for (const Route& route : routes()) {
      router.add(std::string(route.method), std::string(kPrefix) + std::string(route.path),
                 [this, &route](Request& req, http::Responder r) {
                   auto c = call(req, r);
                   Prelude prelude;
                   if (!route.codec_checks_params) {
                     if (auto st = check_params(req, route.params); !st) return c.fail(st.error());
                   }
                   if (route.body != Body::kNone && !json_body(req, route.body == Body::kJsonOrMergePatch)) {
                     return c.fail(Error::make(ErrorCode::kUnsupportedMediaType,
                                               "Content-Type must be application/json"));
                   }
                   if (route.idempotency_key) {
                     auto key = idempotency_key(req);
                     if (!key) return c.fail(key.error());
                     prelude.idempotency_key = std::move(*key);
                   }
                   (this->*route.handle)(req, c, std::move(prelude));
                 });
    }
  }

  static bool known_id(const std::string& id, const char* what, const Call& c) {
    if (tasks::valid_id(id)) return true;
    c.fail(Error::make(ErrorCode::kNotFound, std::string(what) + " " + id + " not found"));
    return false;
  }

  // ---------------------------------------------------------------- projects
  void list_projects(Request& req, const Call& c, Prelude) {
    auto page = tasks::parse_page(req.query_params());
    if (!page) return c.fail(page.error());
    service->list_projects(req.ctx, std::move(*page),
                           [c = c.db("SELECT", "projects")](Result<tasks::Page<Project>> res) {
                             if (!res) return c.fail(res.error());
                             std::vector<std::string> items;
                             for (const auto& pr : res->items) items.push_back(tasks::encode_project(pr));
                             c.send(Response::json(200, tasks::encode_page(items, res->next_cursor)));
                           });
  }

  void create_project(Request& req, const Call& c, Prelude prelude) {
    auto in = tasks::decode_project(req.body, tasks::Mode::kCreate);
    if (!in) return c.fail(in.error());
    auto make_reply = [](const Project& pr) {
      return tasks::Reply{
          201,
          tasks::encode_project(pr),
          {{"Content-Type", "application/json"}, {"Location", std::string(kPrefix) + "/projects/" + pr.id}}};
    };
    std::optional<tasks::Idempotency<Project>> idem;
    if (prelude.idempotency_key) idem = idempotency<Project>(req, *prelude.idempotency_key, make_reply);
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
  }

  void get_project(Request& req, const Call& c, Prelude) {
    std::string id(req.path_param("id"));
    if (!known_id(id, "project", c)) return;
    service->get_project(req.ctx, id, [c = c.db("SELECT", "projects")](Result<Project> res) {
      if (!res) return c.fail(res.error());
      c.send(Response::json(200, tasks::encode_project(*res)));
    });
  }

  void update_project(Request& req, const Call& c, Prelude) {
    std::string id(req.path_param("id"));
    auto in = tasks::decode_project(req.body, tasks::Mode::kPatch);
    if (!in) return c.fail(in.error());
    if (!known_id(id, "project", c)) return;
    service->update_project(req.ctx, id, std::move(*in),
                            [c = c.db("UPDATE", "projects")](Result<Project> res) {
                              if (!res) return c.fail(res.error());
                              c.send(Response::json(200, tasks::encode_project(*res)));
                            });
  }

  void delete_project(Request& req, const Call& c, Prelude) {
    bool cascade = false;
    for (const auto& [k, v] : req.query_params()) {
      if (v == "true" || v == "1") {
        cascade = true;
      } else if (v != "false" && v != "0") {
        return c.fail(Error::invalid("cascade", "must be true or false"));
      }
    }
    std::string id(req.path_param("id"));
    if (!known_id(id, "project", c)) return;
    service->delete_project(req.ctx, id, cascade, [c = c.db("DELETE", "projects")](Result<bool> res) {
      if (!res) return c.fail(res.error());
      c.send(Response::empty(204));
    });
  }

  // ---------------------------------------------------------------- tasks
  void list_tasks(Request& req, const Call& c, Prelude) {
    auto q = tasks::parse_task_list(req.query_params());
    if (!q) return c.fail(q.error());
    service->list_tasks(req.ctx, std::move(*q), [c = c.db("SELECT", "tasks")](Result<tasks::Page<Task>> res) {
      if (!res) return c.fail(res.error());
      std::vector<std::string> items;
      items.reserve(res->items.size());
      for (const auto& t : res->items) items.push_back(tasks::encode_task(t));
      c.send(Response::json(200, tasks::encode_page(items, res->next_cursor)));
    });
  }

  void create_task(Request& req, const Call& c, Prelude prelude) {
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
    if (prelude.idempotency_key) idem = idempotency<Task>(req, *prelude.idempotency_key, make_reply);
    service->create_task(req.ctx, std::move(*in), std::move(idem),
                         [c = c.db("INSERT", "tasks")](Result<tasks::Created<Task>> res) {
                           if (!res) return c.fail(res.error());
                           if (res->replay) return c.send(replay(*res->replay));
                           Response resp = task_response(201, res->value);
                           resp.headers.set("Location", std::string(kPrefix) + "/tasks/" + res->value.id);
                           c.send(std::move(resp));
                         });
  }

  void next_task(Request& req, const Call& c, Prelude) {
    auto q = tasks::parse_next_task(req.query_params());
    if (!q) return c.fail(q.error());
    service->next_task(req.ctx, std::move(*q),
                       [c = c.db("SELECT", "tasks")](Result<std::optional<Task>> res) {
                         if (!res) return c.fail(res.error());
                         if (!res->has_value()) return c.send(Response::empty(204));
                         c.send(task_response(200, **res));
                       });
  }

  void get_task(Request& req, const Call& c, Prelude) {
    std::string id(req.path_param("id"));
    if (!known_id(id, "task", c)) return;
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
  }

  void update_task(Request& req, const Call& c, Prelude) {
    auto expected = if_match(req);
    if (!expected) return c.fail(expected.error());
    auto in = tasks::decode_task(req.body, tasks::Mode::kPatch);
    if (!in) return c.fail(in.error());
    std::string id(req.path_param("id"));
    if (!known_id(id, "task", c)) return;
    service->update_task(req.ctx, id, std::move(*in), *expected,
                         [c = c.db("UPDATE", "tasks")](Result<Task> res) {
                           if (!res) return c.fail(res.error());
                           c.send(task_response(200, *res));
                         });
  }

  void delete_task(Request& req, const Call& c, Prelude) {
    auto expected = if_match(req);
    if (!expected) return c.fail(expected.error());
    std::string id(req.path_param("id"));
    if (!known_id(id, "task", c)) return;
    service->delete_task(req.ctx, id, *expected, [c = c.db("DELETE", "tasks")](Result<bool> res) {
      if (!res) return c.fail(res.error());
      c.send(Response::empty(204));
    });
  }

  // ---------------------------------------------------------------- comments
  void list_comments(Request& req, const Call& c, Prelude) {
    auto page = tasks::parse_page(req.query_params());
    if (!page) return c.fail(page.error());
    std::string id(req.path_param("id"));
    if (!known_id(id, "task", c)) return;
    service->list_comments(req.ctx, id, std::move(*page),
                           [c = c.db("SELECT", "comments")](Result<tasks::Page<Comment>> res) {
                             if (!res) return c.fail(res.error());
                             std::vector<std::string> items;
                             for (const auto& cm : res->items) items.push_back(tasks::encode_comment(cm));
                             c.send(Response::json(200, tasks::encode_page(items, res->next_cursor)));
                           });
  }

  void get_comment(Request& req, const Call& c, Prelude) {
    std::string id(req.path_param("id")), comment_id(req.path_param("comment_id"));
    if (!tasks::valid_id(id) || !tasks::valid_id(comment_id)) {
      return c.fail(Error::make(ErrorCode::kNotFound, "comment " + comment_id + " not found"));
    }
    service->get_comment(req.ctx, id, comment_id, [c = c.db("SELECT", "comments")](Result<Comment> res) {
      if (!res) return c.fail(res.error());
      c.send(Response::json(200, tasks::encode_comment(*res)));
    });
  }

  void add_comment(Request& req, const Call& c, Prelude prelude) {
    auto in = tasks::decode_comment(req.body);
    if (!in) return c.fail(in.error());
    std::string id(req.path_param("id"));
    if (!known_id(id, "task", c)) return;
    auto make_reply = [](const Comment& cm) {
      return tasks::Reply{
          201,
          tasks::encode_comment(cm),
          {{"Content-Type", "application/json"},
           {"Location", std::string(kPrefix) + "/tasks/" + cm.task_id + "/comments/" + cm.id}}};
    };
    std::optional<tasks::Idempotency<Comment>> idem;
    if (prelude.idempotency_key) idem = idempotency<Comment>(req, *prelude.idempotency_key, make_reply);
    service->add_comment(req.ctx, id, std::move(*in), std::move(idem),
                         [c = c.db("INSERT", "comments"), make_reply](Result<tasks::Created<Comment>> res) {
                           if (!res) return c.fail(res.error());
                           if (res->replay) return c.send(replay(*res->replay));
                           auto reply = make_reply(res->value);
                           Response resp = Response::json(201, std::move(reply.body));
                           for (const auto& [k, v] : reply.headers) resp.headers.set(k, v);
                           c.send(std::move(resp));
                         });
  }
};

RestApi::RestApi(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RestApi::~RestApi() { close(); }

Result<std::unique_ptr<RestApi>> RestApi::open(const ApiOptions& options, log::Logger& logger) {
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
  return std::unique_ptr<RestApi>(new RestApi(std::move(impl)));
}

void RestApi::register_routes(http::Router& router) { impl_->register_routes(router); }

Status RestApi::check_database() { return impl_->store->ping_sync(std::chrono::milliseconds(1000)); }

void RestApi::check_database(std::function<void(Status)> done) { impl_->store->ping(std::move(done)); }

void RestApi::close() {
  if (impl_ && impl_->store) impl_->store->close();
}

tasks::TaskService& RestApi::service() { return *impl_->service; }

Status migrate(const ApiOptions& options, log::Logger& logger) {
  auto v = store::migrate_database(options.database_url);
  if (!v) return v.take_error();
  logger.info("database migrated",
              {{"database_url", redact_url(options.database_url)}, {"schema_version", *v}});
  return {};
}

}  // namespace taskman::api
