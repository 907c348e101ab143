#include "mcp/json_schema.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace taskman::mcp {
namespace {

using Json = nlohmann::json;

bool type_matches(const std::string& type, const Json& v) {
  if (type == "string") return v.is_string();
  if (type == "integer") return v.is_number_integer();
  if (type == "number") return v.is_number();
  if (type == "boolean") return v.is_boolean();
  if (type == "array") return v.is_array();
  if (type == "object") return v.is_object();
  if (type == "null") return v.is_null();
  return false;
}

void check(const Json& schema, const Json& v, const std::string& path, std::vector<FieldError>& errors) {
  if (schema.contains("anyOf")) {
    // Valid when one branch accepts it. Otherwise report the branch of the value's own type (its
    // message is the precise one), or else which types would do.
    std::string types;
    for (const auto& branch : schema["anyOf"]) {
      std::vector<FieldError> e;
      check(branch, v, path, e);
      if (e.empty()) return;
      const std::string t = branch.value("type", std::string("value"));
      types += (types.empty() ? "" : " or ") + t;
      if (branch.contains("type") && type_matches(t, v)) {
        errors.insert(errors.end(), e.begin(), e.end());
        return;
      }
    }
    errors.push_back({path, "must be " + types});
    return;
  }
  if (schema.contains("type")) {
    const auto& t = schema["type"];
    bool ok = false;
    std::string expected;
    for (const auto& one : t.is_array() ? t : Json::array({t})) {
      ok = ok || type_matches(one.get<std::string>(), v);
      expected += (expected.empty() ? "" : " or ") + one.get<std::string>();
    }
    if (!ok) {
      errors.push_back({path, "must be " + expected});
      return;
    }
  }
  if (schema.contains("enum")) {
    if (std::find(schema["enum"].begin(), schema["enum"].end(), v) == schema["enum"].end()) {
      std::string options;
      for (const auto& e : schema["enum"]) options += (options.empty() ? "" : ", ") + e.get<std::string>();
      errors.push_back({path, "must be one of " + options});
      return;
    }
  }
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (schema.contains("minLength") && s.size() < schema["minLength"].get<std::size_t>()) {
      errors.push_back({path, s.empty() ? "must not be empty" : "is too short"});
    }
  }
  if (v.is_number_integer()) {
    const auto n = v.get<std::int64_t>();
    if (schema.contains("minimum") && n < schema["minimum"].get<std::int64_t>()) {
      errors.push_back({path, "must be at least " + schema["minimum"].dump()});
    }
    if (schema.contains("maximum") && n > schema["maximum"].get<std::int64_t>()) {
      errors.push_back({path, "must be at most " + schema["maximum"].dump()});
    }
  }
  if (v.is_array()) {
    if (schema.contains("maxItems") && v.size() > schema["maxItems"].get<std::size_t>()) {
      errors.push_back({path, "must have at most " + schema["maxItems"].dump() + " items"});
    }
    if (schema.contains("items")) {
      for (std::size_t i = 0; i < v.size(); ++i) {
        check(schema["items"], v[i], path + "[" + std::to_string(i) + "]", errors);
      }
    }
  }
  if (v.is_object() && schema.contains("properties")) {
    const auto& props = schema["properties"];
    for (const auto& [k, val] : v.items()) {
      const std::string sub = path.empty() ? k : path + "." + k;
      if (props.contains(k)) {
        check(props[k], val, sub, errors);
      } else if (schema.value("additionalProperties", true) == false) {
        errors.push_back({sub, "is not a known argument"});
      }
    }
    if (schema.contains("required")) {
      for (const auto& r : schema["required"]) {
        if (!v.contains(r.get<std::string>())) {
          const std::string sub = path.empty() ? r.get<std::string>() : path + "." + r.get<std::string>();
          errors.push_back({sub, "is required"});
        }
      }
    }
  }
}

}  // namespace

Status validate_against_schema(const Json& schema, const Json& value) {
  std::vector<FieldError> errors;
  check(schema, value, "", errors);
  if (errors.empty()) return {};
  std::string summary = "invalid arguments: ";
  for (std::size_t i = 0; i < errors.size(); ++i) {
    summary += (i ? "; " : "") + errors[i].field + " " + errors[i].message;
  }
  return Error{ErrorCode::kInvalidArgument, summary, std::move(errors)};
}

}  // namespace taskman::mcp
