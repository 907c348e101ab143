#include "mcp/input_required.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>

#include "mcp/call_context.hpp"

namespace taskman::mcp {
namespace {

RpcError invalid_params(std::string message) { return RpcError{rpc::kInvalidParams, std::move(message), {}}; }

using Digest = std::array<unsigned char, 32>;

// Drawn once per process: a state outlives neither a restart nor another instance of the fleet,
// which is the same lifetime the TTL bounds anyway.
const std::array<unsigned char, 32>& state_key() {
  static const std::array<unsigned char, 32> key = [] {
    std::array<unsigned char, 32> k{};
    if (RAND_bytes(k.data(), static_cast<int>(k.size())) != 1) throw std::runtime_error("RAND_bytes failed");
    return k;
  }();
  return key;
}

Digest hmac(std::string_view data) {
  Digest out{};
  unsigned int len = 0;
  const auto& key = state_key();
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len) ||
      len != out.size()) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  Digest d{};
  unsigned int len = 0;
  if (!EVP_Digest(data.data(), data.size(), d.data(), &len, EVP_sha256(), nullptr))
    throw std::runtime_error("SHA-256 failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : d) {
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  }
  return out;
}

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string b64url(std::string_view in) {
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) | static_cast<unsigned char>(in[i + 2]);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    if (i + 1 < in.size()) out += kB64[(v >> 6) & 63];
  }
  return out;
}

bool unb64url(std::string_view in, std::string& out) {
  unsigned v = 0;
  int bits = 0;
  for (char c : in) {
    const char* p = std::char_traits<char>::find(kB64, 64, c);
    if (!p) return false;
    v = (v << 6) | static_cast<unsigned>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((v >> bits) & 0xFF);
    }
  }
  return true;
}

}  // namespace

bool may_require_input(std::string_view method) {
  return method == "tools/call" || method == "prompts/get" || method == "resources/read";
}

std::string request_binding(std::string_view method, const Json& params) {
  std::string name;
  Json arguments = Json::object();
  if (params.is_object()) {
    const char* key = method == "resources/read" ? "uri" : "name";
    if (auto it = params.find(key); it != params.end() && it->is_string()) name = it->get<std::string>();
    if (auto it = params.find("arguments"); it != params.end() && it->is_object()) arguments = *it;
  }
  // nlohmann's objects are ordered by key, so the same arguments always serialize the same way.
  return std::string(method) + "\n" + name + "\n" + sha256_hex(serialize(arguments));
}

std::string seal_request_state(const Json& state, std::string_view binding, std::chrono::milliseconds ttl,
                               long long now_ms) {
  const std::string payload = serialize(Json{{"s", state}, {"e", now_ms + ttl.count()}});
  const Digest mac = hmac(std::string(binding) + "\n" + payload);
  return b64url(payload) + "." +
         b64url(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

std::variant<Json, RpcError> open_request_state(std::string_view token, std::string_view binding,
                                                long long now_ms) {
  const auto dot = token.find('.');
  std::string payload, mac;
  if (dot == std::string_view::npos || !unb64url(token.substr(0, dot), payload) ||
      !unb64url(token.substr(dot + 1), mac) || mac.size() != 32) {
    return invalid_params("Invalid params: requestState is not a state this server issued");
  }
  // The MAC covers the binding, so a state issued for another request fails here as well.
  const Digest expected = hmac(std::string(binding) + "\n" + payload);
  if (CRYPTO_memcmp(expected.data(), mac.data(), expected.size()) != 0)
    return invalid_params(
        "Invalid params: requestState failed verification (altered, or issued for another request)");
  auto parsed = parse_json(payload);
  const Json* body = std::get_if<Json>(&parsed);
  if (!body || !body->is_object() || !body->contains("e") || !(*body)["e"].is_number_integer())
    return invalid_params("Invalid params: requestState is not a state this server issued");
  if ((*body)["e"].get<long long>() < now_ms)
    return invalid_params("Invalid params: requestState has expired; send the request again without it");
  return body->value("s", Json());
}

Json input_required_result(Json input_requests, const std::string& request_state) {
  Json r = {{"resultType", "input_required"}};
  if (input_requests.is_object() && !input_requests.empty()) r["inputRequests"] = std::move(input_requests);
  if (!request_state.empty()) r["requestState"] = request_state;
  return r;
}

Json input_request(std::string_view method, Json params) {
  return Json{{"method", std::string(method)},
              {"params", params.is_null() ? Json::object() : std::move(params)}};
}

const Json* input_response(const CallContext& ctx, std::string_view key) {
  const Json& p = ctx.params();
  if (!p.is_object()) return nullptr;
  auto responses = p.find("inputResponses");
  if (responses == p.end() || !responses->is_object()) return nullptr;
  auto it = responses->find(key);
  return it == responses->end() ? nullptr : &*it;
}

std::variant<Json, RpcError> check_retry(std::string_view method, const Json& params, long long now_ms) {
  if (!params.is_object()) return Json();
  if (auto responses = params.find("inputResponses"); responses != params.end()) {
    if (!responses->is_object()) return invalid_params("Invalid params: inputResponses must be an object");
    for (const auto& [key, value] : responses->items()) {
      if (!value.is_object())
        return invalid_params("Invalid params: inputResponses[\"" + key + "\"] must be a result object");
    }
  }
  auto state = params.find("requestState");
  if (state == params.end() || state->is_null()) return Json();
  if (!state->is_string()) return invalid_params("Invalid params: requestState must be a string");
  return open_request_state(state->get_ref<const std::string&>(), request_binding(method, params), now_ms);
}

long long unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace taskman::mcp
