#pragma once
// Route templates ("/api/v1/tasks/{id}") to handlers. Matching is by whole path segments; a path
// that matches a template with another method answers 405 with Allow.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"

namespace taskman::http {

using Handler = std::function<void(Request&, Responder)>;
using SyncHandler = std::function<Response(Request&)>;

class Router {
 public:
  void add(std::string method, std::string route_template, Handler handler);
  void add_sync(std::string method, std::string route_template, SyncHandler handler);

  struct Match {
    const Handler* handler = nullptr;  // null: no route
    std::string route;                 // the template, or "" when nothing matched the path
    std::string allow;                 // for 405: methods the path supports
  };
  // Fills req.path_params on success.
  Match match(Request& req) const;

 private:
  struct Route {
    std::string method;
    std::string route;
    std::vector<std::string> segments;  // "{name}" marks a parameter
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace taskman::http
