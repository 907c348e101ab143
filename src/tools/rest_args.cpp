#include "tools/rest_args.hpp"

#include <string>

namespace taskman::tools {

using Json = nlohmann::json;

Json body_without(const Json& args, std::initializer_list<const char*> drop) {
  Json body = args;
  for (const char* k : drop) body.erase(k);
  return body;
}

void add_query(RestCall& call, const Json& args, const std::string& name) {
  if (!args.contains(name) || args[name].is_null()) return;
  const auto& v = args[name];
  if (v.is_array()) {
    for (const auto& item : v)
      call.query.emplace_back(name, item.is_string() ? item.get<std::string>() : item.dump());
  } else {
    call.query.emplace_back(name, v.is_string() ? v.get<std::string>() : v.dump());
  }
}

}  // namespace taskman::tools
