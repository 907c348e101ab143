#include "app/status_routes.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "http/problem.hpp"
#include "status/admin.hpp"
#include "status/render.hpp"

namespace taskman::app {
namespace {

using Json = nlohmann::json;

struct Admin {
  AdminTargets t;
  StatusBoard* board = nullptr;
  prometheus::Family<prometheus::Counter>* actions = nullptr;
};

http::Response refusal(const http::Request& req, const status::AdminCaller& caller) {
  http::Problem p;
  p.status = caller.status;
  p.title = caller.status == 401 ? "Unauthorized" : "Forbidden";
  p.detail = caller.reason;
  p.request_id = req.ctx.request_id;
  auto r = http::problem_response(p);
  if (caller.status == 401) r.headers.set("WWW-Authenticate", "Bearer realm=\"taskman-admin\"");
  return r;
}

http::Response bad_body(const http::Request& req, const Error& e) {
  http::Problem p;
  p.status = 400;
  p.title = "Bad Request";
  p.detail = e.message;
  p.request_id = req.ctx.request_id;
  p.errors = e.fields;
  return http::problem_response(p);
}

// Checks the caller; on refusal fills `out` and logs it.
std::optional<status::AdminCaller> admit(const Admin& a, const http::Request& req, const char* what,
                                         http::Response& out) {
  auto caller = status::authorize_admin(req.remote_address, req.headers.get("Authorization"), a.t.tokens,
                                        a.t.tokens_var);
  if (caller.allowed) return caller;
  a.t.logger->warn(
      req.ctx, "admin request refused",
      {{"what", what}, {"remote", req.remote_address}, {"status", caller.status}, {"reason", caller.reason}});
  out = refusal(req, caller);
  return std::nullopt;
}

// Logs, lists and counts a done action; the answer says what was done.
http::Response done(const Admin& a, const http::Request& req, const status::AdminCaller& caller,
                    const char* action, const std::string& detail, Json result) {
  a.t.logger->warn(
      req.ctx, "admin action",
      {{"action", action}, {"detail", detail}, {"remote", req.remote_address}, {"who", caller.who}});
  a.board->record_admin(action, detail, req.remote_address, caller.who);
  if (a.actions != nullptr) a.actions->Add({{"action", action}}).Increment();
  result["action"] = action;
  result["detail"] = detail;
  return http::Response::json(200, result.dump());
}

using Action = std::function<http::Response(const Admin&, const http::Request&, const status::AdminCaller&)>;

void add_action(http::Router& router, const std::shared_ptr<Admin>& admin, const std::string& path,
                const char* name, Action action) {
  router.add_sync("POST", path, [admin, name, action = std::move(action)](http::Request& req) {
    http::Response out;
    auto caller = admit(*admin, req, name, out);
    if (!caller) return out;
    return action(*admin, req, *caller);
  });
}

}  // namespace

void register_status_routes(http::Router& router, StatusBoard& board, AdminTargets targets) {
  auto admin = std::make_shared<Admin>();
  admin->t = std::move(targets);
  admin->board = &board;
  if (admin->t.registry != nullptr) {
    // One family for both services of `taskman serve` (the registry merges identical declarations).
    admin->actions = &prometheus::BuildCounter()
                          .Name("admin_actions_total")
                          .Help("Operator actions done through /admin/*, by action.")
                          .Register(admin->t.registry->registry());
  }

  auto page = [admin](bool html) {
    return [admin, html](http::Request& req) {
      http::Response out;
      if (!admit(*admin, req, "status page", out)) return out;
      const auto snap = admin->board->snapshot();
      http::Response r;
      r.status = 200;
      r.body = html ? status::render_html(snap) : status::render_json(snap);
      r.headers.set("Content-Type", html ? "text/html; charset=utf-8" : "application/json");
      r.headers.set("Cache-Control", "no-store");
      // Inline style and script only; nothing from elsewhere, no framing by other sites.
      if (html) {
        r.headers.set("Content-Security-Policy",
                      "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
                      "connect-src 'self'; frame-ancestors 'none'");
      }
      return r;
    };
  };
  router.add_sync("GET", "/status", page(true));
  router.add_sync("GET", "/status.json", page(false));

  if (admin->t.breaker != nullptr) {
    add_action(router, admin, "/admin/breaker", "breaker",
               [](const Admin& a, const http::Request& req, const auto& c) {
                 auto cmd = status::parse_breaker_body(req.body);
                 if (!cmd) return bad_body(req, cmd.error());
                 const auto mode =
                     cmd.value() == status::BreakerCommand::kOpen     ? resilience::BreakerMode::kForcedOpen
                     : cmd.value() == status::BreakerCommand::kClosed ? resilience::BreakerMode::kForcedClosed
                                                                      : resilience::BreakerMode::kAuto;
                 a.t.breaker->set_mode(mode);
                 const auto snap = a.t.breaker->snapshot();
                 return done(a, req, c, "breaker",
                             std::string("mode=") + status::breaker_command_name(cmd.value()),
                             {{"mode", resilience::breaker_mode_name(snap.mode)},
                              {"state", resilience::breaker_state_name(snap.state)}});
               });
  }
  if (admin->t.cache != nullptr) {
    add_action(router, admin, "/admin/cache/purge", "cache_purge",
               [](const Admin& a, const http::Request& req, const auto& c) {
                 auto pattern = status::parse_purge_body(req.body);
                 if (!pattern) return bad_body(req, pattern.error());
                 const std::size_t n = a.t.cache->purge(pattern.value());
                 return done(a, req, c, "cache_purge",
                             "pattern=" + pattern.value() + " purged=" + std::to_string(n),
                             {{"pattern", pattern.value()}, {"purged", n}, {"entries", a.t.cache->size()}});
               });
  }
  add_action(router, admin, "/admin/log-level", "log_level",
             [](const Admin& a, const http::Request& req, const auto& c) {
               auto level = status::parse_log_level_body(req.body);
               if (!level) return bad_body(req, level.error());
               const std::string before = log::level_name(a.t.sink->level());
               // The warn line goes out before the change, so raising the level to error still records who
               // did it.
               auto r = done(a, req, c, "log_level", "level=" + level.value() + " (was " + before + ")",
                             {{"level", level.value()}, {"previous", before}});
               a.t.sink->set_level(*log::parse_level(level.value()));
               return r;
             });
  add_action(router, admin, "/admin/drain", "drain",
             [](const Admin& a, const http::Request& req, const auto& c) {
               if (auto st = status::parse_empty_body(req.body); !st) return bad_body(req, st.error());
               auto r = done(a, req, c, "drain", "graceful shutdown requested", {{"draining", true}});
               r.status = 202;
               a.t.drain();
               return r;
             });
}

}  // namespace taskman::app
