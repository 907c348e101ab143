#include "app/api_builder.hpp"

#include "app/tracing_setup.hpp"
#include "core/redact.hpp"

namespace taskman::app {

api::ApiOptions api_options(const config::Config& cfg, metrics::Metrics* registry) {
  api::ApiOptions o;
  o.database_url = cfg.str("DATABASE_URL");
  if (registry != nullptr) {
    o.db_observer = [registry](const char* op, std::chrono::nanoseconds d) {
      registry->db_query(op, std::chrono::duration<double>(d).count());
    };
  }
  return o;
}

std::unique_ptr<api::RestApi> build_api(ServiceHost& host, HostedService& s, const config::Config& cfg,
                                        api::ApiOptions options) {
  if (s.tracer->options().enabled) {  // no database spans when nothing records
    auto target = store::describe_database(cfg.str("DATABASE_URL"));  // open() reports a bad URL
    options.db_span = db_span_hook(*s.tracer, target ? *target : store::DatabaseTarget{});
  }
  auto opened = api::RestApi::open(options, *s.logger);
  if (!opened) {
    s.logger->error("cannot open the database", {{"database_url", redact_url(cfg.str("DATABASE_URL"))},
                                                 {"error", opened.error().message}});
    return nullptr;
  }
  std::unique_ptr<api::RestApi> rest = std::move(opened.value());
  http::Router router;
  host.add_common_routes(s, router);
  rest->register_routes(router);
  AdminTargets admin;
  admin.tokens = cfg.list("API_KEYS");
  admin.tokens_var = "API_KEYS";
  host.add_status_routes(
      s, router, cfg, std::move(admin),
      [db = redact_url(cfg.str("DATABASE_URL"))](status::StatusSnapshot& snap) { snap.database = db; });
  s.health.add_check("database", [r = rest.get()] {
    auto st = r->check_database();
    return st ? CheckResult{} : CheckResult{CheckResult::State::kFailed, st.error().message};
  });
  auto opts = server_options(cfg, cfg.str("API_HOST"), cfg.integer("API_PORT"));
  opts.bearer_tokens = cfg.list("API_KEYS");
  opts.auth_path_prefix = "/api/";
  opts.tls = {cfg.str("API_TLS_CERT_FILE"), cfg.str("API_TLS_KEY_FILE"), ""};  // no client certificates asked
  host.start(s, std::move(router), std::move(opts));
  return rest;
}

}  // namespace taskman::app
