#include "tracing/otlp_encode.hpp"

#include <zlib.h>

#include <cmath>
#include <cstring>

#include "core/text.hpp"

namespace taskman::tracing {
namespace {

// Field numbers from opentelemetry-proto (collector/trace/v1/trace_service.proto, trace/v1/trace.proto,
// common/v1/common.proto, resource/v1/resource.proto).
namespace f {
constexpr int kRequestResourceSpans = 1;   // ExportTraceServiceRequest.resource_spans
constexpr int kResourceSpansResource = 1;  // ResourceSpans.resource
constexpr int kResourceSpansScopeSpans = 2;
constexpr int kResourceAttributes = 1;  // Resource.attributes
constexpr int kScopeSpansScope = 1;     // ScopeSpans.scope
constexpr int kScopeSpansSpans = 2;
constexpr int kScopeName = 1;  // InstrumentationScope.name
constexpr int kScopeVersion = 2;
constexpr int kSpanTraceId = 1;
constexpr int kSpanSpanId = 2;
constexpr int kSpanTraceState = 3;
constexpr int kSpanParentSpanId = 4;
constexpr int kSpanName = 5;
constexpr int kSpanKind = 6;
constexpr int kSpanStartTime = 7;  // fixed64
constexpr int kSpanEndTime = 8;    // fixed64
constexpr int kSpanAttributes = 9;
constexpr int kSpanEvents = 11;
constexpr int kSpanStatus = 15;
constexpr int kSpanFlags = 16;  // fixed32
constexpr int kEventTime = 1;   // Span.Event.time_unix_nano, fixed64
constexpr int kEventName = 2;
constexpr int kEventAttributes = 3;
constexpr int kStatusMessage = 2;  // Status.message (1 is reserved)
constexpr int kStatusCode = 3;
constexpr int kKeyValueKey = 1;
constexpr int kKeyValueValue = 2;
constexpr int kAnyString = 1;
constexpr int kAnyBool = 2;
constexpr int kAnyInt = 3;
constexpr int kAnyDouble = 4;  // double: wire type 1 (64-bit)
constexpr int kResponsePartialSuccess = 1;
constexpr int kPartialRejectedSpans = 1;
constexpr int kPartialErrorMessage = 2;
}  // namespace f

// Span.flags bits (trace.proto SpanFlags): low byte = W3C trace flags, then "has is_remote" and
// "is_remote" describing the parent.
constexpr std::uint32_t kSpanFlagsHasIsRemote = 0x100;
constexpr std::uint32_t kSpanFlagsIsRemote = 0x200;

std::uint32_t span_flags(const SpanData& s) {
  std::uint32_t flags = s.trace_flags & kFlagSampled;
  if (s.has_parent()) {
    flags |= kSpanFlagsHasIsRemote;
    if (s.parent_remote) flags |= kSpanFlagsIsRemote;
  }
  return flags;
}

enum WireType : std::uint32_t { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

// The base-128 varint of v into buf (at most 10 bytes); returns its length.
std::size_t encode_varint(std::uint64_t v, char* buf) {
  std::size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  return n;
}

// Appends protobuf wire format. Nested messages are written in place and their length prefix is
// filled in afterwards, so no size pre-pass is needed.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  void varint(std::uint64_t v) {
    if (v < 0x80) {  // tags, kinds, most lengths: one byte
      out_.push_back(static_cast<char>(v));
      return;
    }
    char buf[10];
    out_.append(buf, encode_varint(v, buf));
  }
  void tag(int field, WireType type) { varint(static_cast<std::uint64_t>(field) << 3 | type); }
  void bytes_field(int field, std::span<const std::uint8_t> b) {
    tag(field, kLen);
    varint(b.size());
    out_.append(reinterpret_cast<const char*>(b.data()), b.size());
  }
  void string_field(int field, std::string_view s) {
    tag(field, kLen);
    varint(s.size());
    out_.append(s);
  }
  void varint_field(int field, std::uint64_t v) {
    tag(field, kVarint);
    varint(v);
  }
  void fixed64_field(int field, std::uint64_t v) {
    tag(field, kFixed64);
    char buf[8];
    for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>(v >> (8 * i));  // little-endian
    out_.append(buf, sizeof buf);
  }
  void fixed32_field(int field, std::uint32_t v) {
    tag(field, kFixed32);
    char buf[4];
    for (int i = 0; i < 4; ++i) buf[i] = static_cast<char>(v >> (8 * i));
    out_.append(buf, sizeof buf);
  }
  void double_field(int field, double d) {
    std::uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    fixed64_field(field, bits);
  }
  // Starts a length-delimited submessage; returns the position where its body begins. One byte is
  // kept for the length: most submessages (attributes, values, status) are shorter than 128 bytes, so
  // end() writes the length in place instead of shifting the body to make room for it.
  std::size_t begin(int field) {
    tag(field, kLen);
    out_.push_back('\0');
    return out_.size();
  }
  void end(std::size_t body_start) {
    const std::size_t len = out_.size() - body_start;
    char buf[10];
    const std::size_t n = encode_varint(len, buf);
    out_[body_start - 1] = buf[0];
    if (n > 1) out_.insert(body_start, buf + 1, n - 1);
  }

 private:
  std::string& out_;
};

void write_key_value(Writer& w, int field, const Attribute& a) {
  const auto kv = w.begin(field);
  w.string_field(f::kKeyValueKey, a.key);
  const auto any = w.begin(f::kKeyValueValue);
  // AnyValue is a oneof: the chosen member is written even when it holds the default value.
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          w.string_field(f::kAnyString, v);
        } else if constexpr (std::is_same_v<T, bool>) {
          w.varint_field(f::kAnyBool, v ? 1 : 0);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          w.varint_field(f::kAnyInt, static_cast<std::uint64_t>(v));  // int64: two's complement varint
        } else {
          w.double_field(f::kAnyDouble, v);
        }
      },
      a.value);
  w.end(any);
  w.end(kv);
}

void write_span(Writer& w, const SpanData& s) {
  const auto span = w.begin(f::kScopeSpansSpans);
  w.bytes_field(f::kSpanTraceId, s.trace_id);
  w.bytes_field(f::kSpanSpanId, s.span_id);
  if (!s.trace_state.empty()) w.string_field(f::kSpanTraceState, s.trace_state);
  if (s.has_parent()) w.bytes_field(f::kSpanParentSpanId, s.parent_span_id);
  w.string_field(f::kSpanName, s.name);
  w.varint_field(f::kSpanKind, static_cast<std::uint64_t>(s.kind));
  w.fixed64_field(f::kSpanStartTime, s.start_unix_nano);
  w.fixed64_field(f::kSpanEndTime, s.end_unix_nano);
  for (const auto& a : s.attributes) write_key_value(w, f::kSpanAttributes, a);
  for (const auto& e : s.events) {
    const auto ev = w.begin(f::kSpanEvents);
    w.fixed64_field(f::kEventTime, e.time_unix_nano);
    w.string_field(f::kEventName, e.name);
    for (const auto& a : e.attributes) write_key_value(w, f::kEventAttributes, a);
    w.end(ev);
  }
  if (s.status != StatusCode::kUnset || !s.status_message.empty()) {
    const auto st = w.begin(f::kSpanStatus);
    if (!s.status_message.empty()) w.string_field(f::kStatusMessage, s.status_message);
    if (s.status != StatusCode::kUnset) w.varint_field(f::kStatusCode, static_cast<std::uint64_t>(s.status));
    w.end(st);
  }
  w.fixed32_field(f::kSpanFlags, span_flags(s));
  w.end(span);
}

}  // namespace

std::string encode_protobuf(const Resource& resource, const InstrumentationScope& scope,
                            std::span<const SpanData> spans) {
  std::string out;
  out.reserve(256 + spans.size() * 640);  // a server span with its attributes is ~400-600 bytes
  Writer w(out);
  const auto rs = w.begin(f::kRequestResourceSpans);
  {
    const auto res = w.begin(f::kResourceSpansResource);
    for (const auto& a : resource.attributes) write_key_value(w, f::kResourceAttributes, a);
    w.end(res);
  }
  const auto ss = w.begin(f::kResourceSpansScopeSpans);
  {
    const auto sc = w.begin(f::kScopeSpansScope);
    if (!scope.name.empty()) w.string_field(f::kScopeName, scope.name);
    if (!scope.version.empty()) w.string_field(f::kScopeVersion, scope.version);
    w.end(sc);
  }
  for (const auto& s : spans) write_span(w, s);
  w.end(ss);
  w.end(rs);
  return out;
}

// ---- OTLP/JSON (opentelemetry-proto docs/specification.md "JSON Protobuf Encoding") ----
namespace {

void append_quoted(std::string& out, std::string_view s) {
  out += '"';
  append_json_escaped(out, s);
  out += '"';
}

void append_u64_string(std::string& out, std::uint64_t v) {
  out += '"';
  out += std::to_string(v);
  out += '"';
}

void append_double(std::string& out, double d) {
  // proto3 JSON: non-finite doubles are the strings "NaN", "Infinity", "-Infinity".
  if (std::isnan(d)) {
    out += "\"NaN\"";
  } else if (std::isinf(d)) {
    out += d > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  } else {
    char buf[32];
    const int n = std::snprintf(buf, sizeof buf, "%.17g", d);
    out.append(buf, static_cast<std::size_t>(n));
  }
}

void append_attributes(std::string& out, const Attributes& attributes) {
  out += '[';
  bool first = true;
  for (const auto& a : attributes) {
    if (!first) out += ',';
    first = false;
    out += "{\"key\":";
    append_quoted(out, a.key);
    out += ",\"value\":{";
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string>) {
            out += "\"stringValue\":";
            append_quoted(out, v);
          } else if constexpr (std::is_same_v<T, bool>) {
            out += v ? "\"boolValue\":true" : "\"boolValue\":false";
          } else if constexpr (std::is_same_v<T, std::int64_t>) {
            out += "\"intValue\":\"";  // int64 as a decimal string (proto3 JSON)
            out += std::to_string(v);
            out += '"';
          } else {
            out += "\"doubleValue\":";
            append_double(out, v);
          }
        },
        a.value);
    out += "}}";
  }
  out += ']';
}

}  // namespace

void append_span_json(std::string& out, const SpanData& s) {
  out += "{\"traceId\":\"";
  out += to_hex(s.trace_id);  // OTLP/JSON ids are hex, not base64
  out += "\",\"spanId\":\"";
  out += to_hex(s.span_id);
  out += '"';
  if (!s.trace_state.empty()) {
    out += ",\"traceState\":";
    append_quoted(out, s.trace_state);
  }
  if (s.has_parent()) {
    out += ",\"parentSpanId\":\"";
    out += to_hex(s.parent_span_id);
    out += '"';
  }
  out += ",\"flags\":";
  out += std::to_string(span_flags(s));
  out += ",\"name\":";
  append_quoted(out, s.name);
  out += ",\"kind\":";
  out += std::to_string(static_cast<int>(s.kind));
  out += ",\"startTimeUnixNano\":";
  append_u64_string(out, s.start_unix_nano);
  out += ",\"endTimeUnixNano\":";
  append_u64_string(out, s.end_unix_nano);
  if (!s.attributes.empty()) {
    out += ",\"attributes\":";
    append_attributes(out, s.attributes);
  }
  if (!s.events.empty()) {
    out += ",\"events\":[";
    bool first = true;
    for (const auto& e : s.events) {
      if (!first) out += ',';
      first = false;
      out += "{\"timeUnixNano\":";
      append_u64_string(out, e.time_unix_nano);
      out += ",\"name\":";
      append_quoted(out, e.name);
      if (!e.attributes.empty()) {
        out += ",\"attributes\":";
        append_attributes(out, e.attributes);
      }
      out += '}';
    }
    out += ']';
  }
  out += ",\"status\":{";
  if (s.status != StatusCode::kUnset) {
    out += "\"code\":";
    out += std::to_string(static_cast<int>(s.status));
    if (!s.status_message.empty()) {
      out += ",\"message\":";
      append_quoted(out, s.status_message);
    }
  }
  out += "}}";
}

std::string encode_json(const Resource& resource, const InstrumentationScope& scope,
                        std::span<const SpanData> spans) {
  std::string out;
  out.reserve(256 + spans.size() * 512);
  out += "{\"resourceSpans\":[{\"resource\":{\"attributes\":";
  append_attributes(out, resource.attributes);
  out += "},\"scopeSpans\":[{\"scope\":{\"name\":";
  append_quoted(out, scope.name);
  if (!scope.version.empty()) {
    out += ",\"version\":";
    append_quoted(out, scope.version);
  }
  out += "},\"spans\":[";
  bool first = true;
  for (const auto& s : spans) {
    if (!first) out += ',';
    first = false;
    append_span_json(out, s);
  }
  out += "]}]}]}";
  return out;
}

// ---- gzip ----

std::optional<std::string> gzip_compress(std::string_view data) {
  z_stream zs{};
  // windowBits 15 + 16: a gzip header and trailer rather than zlib's (Content-Encoding: gzip).
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return std::nullopt;
  }
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  const auto written = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return std::nullopt;
  out.resize(written);
  return out;
}

std::optional<std::string> gzip_decompress(std::string_view data, std::size_t max_bytes) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return std::nullopt;  // +32: detect gzip or zlib
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[16384];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    out.append(buf, sizeof buf - zs.avail_out);
    if (out.size() > max_bytes) break;
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) break;  // truncated input
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END || out.size() > max_bytes) return std::nullopt;
  return out;
}

// ---- response ----
namespace {

struct Reader {
  std::string_view in;
  bool ok = true;
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in.empty()) break;
      const auto b = static_cast<std::uint8_t>(in.front());
      in.remove_prefix(1);
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    ok = false;
    return 0;
  }
  // Skips one field of `type`; false when malformed.
  bool skip(std::uint32_t type) {
    switch (type) {
      case kVarint:
        varint();
        return ok;
      case kFixed64:
        if (in.size() < 8) return ok = false;
        in.remove_prefix(8);
        return true;
      case kFixed32:
        if (in.size() < 4) return ok = false;
        in.remove_prefix(4);
        return true;
      case kLen: {
        const auto n = varint();
        if (!ok || n > in.size()) return ok = false;
        in.remove_prefix(n);
        return true;
      }
      default:
        return ok = false;
    }
  }
};

}  // namespace

std::optional<PartialSuccess> decode_partial_success_protobuf(std::string_view body) {
  Reader r{body};
  std::optional<PartialSuccess> result;
  while (r.ok && !r.in.empty()) {
    const auto key = r.varint();
    const auto type = static_cast<std::uint32_t>(key & 7);
    if (!r.ok) return std::nullopt;
    if ((key >> 3) == f::kResponsePartialSuccess && type == kLen) {
      const auto n = r.varint();
      if (!r.ok || n > r.in.size()) return std::nullopt;
      Reader inner{r.in.substr(0, n)};
      r.in.remove_prefix(n);
      PartialSuccess ps;
      while (inner.ok && !inner.in.empty()) {
        const auto k = inner.varint();
        const auto t = static_cast<std::uint32_t>(k & 7);
        if ((k >> 3) == f::kPartialRejectedSpans && t == kVarint) {
          ps.rejected_spans = static_cast<std::int64_t>(inner.varint());
        } else if ((k >> 3) == f::kPartialErrorMessage && t == kLen) {
          const auto len = inner.varint();
          if (!inner.ok || len > inner.in.size()) return std::nullopt;
          ps.error_message = std::string(inner.in.substr(0, len));
          inner.in.remove_prefix(len);
        } else if (!inner.skip(t)) {
          return std::nullopt;
        }
      }
      if (!inner.ok) return std::nullopt;
      result = std::move(ps);
    } else if (!r.skip(type)) {
      return std::nullopt;
    }
  }
  if (!r.ok) return std::nullopt;
  return result;
}

}  // namespace taskman::tracing
