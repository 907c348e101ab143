#include "app/telemetry.hpp"

namespace taskman::app {

void register_metrics_route(http::Router& router, metrics::Metrics& m) {
  router.add_sync("GET", "/metrics", [&m](http::Request&) {
    http::Response r;
    r.status = 200;
    r.headers.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    r.headers.set("Cache-Control", "no-store");
    r.body = m.serialize();
    return r;
  });
}

}  // namespace taskman::app
