#pragma once
// Builds taskman-api: opens the database behind the REST service, adds its routes and the
// database readiness check, and starts its HTTP server.
#include <memory>

#include "api/api.hpp"
#include "app/hosted_service.hpp"
#include "config/config.hpp"

namespace taskman::app {

// The database options of the configuration; db_observer feeds db_query_duration_seconds.
api::ApiOptions api_options(const config::Config& cfg, metrics::Metrics* registry);

// Null (the error logged on s.logger) when the database cannot be opened. s.tracer, when set, gets
// the database spans.
std::unique_ptr<api::RestApi> build_api(ServiceHost& host, HostedService& s, const config::Config& cfg,
                                        api::ApiOptions options);

}  // namespace taskman::app
