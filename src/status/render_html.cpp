#include <cstdio>
#include <vector>

#include "status/render.hpp"

namespace taskman::status {
namespace {

using Json = nlohmann::json;

struct Column {
  const char* key;
  const char* title;
};

// The value at "a.b" in `doc`, or null.
const Json& at_path(const Json& doc, std::string_view path) {
  static const Json kNull;
  const Json* cur = &doc;
  while (!path.empty()) {
    const auto dot = path.find('.');
    const std::string key(path.substr(0, dot));
    if (!cur->is_object() || !cur->contains(key)) return kNull;
    cur = &(*cur)[key];
    path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
  }
  return *cur;
}

// The same rules as fmt() in the script below, so a live update shows what the server rendered.
std::string text_of(const Json& v) {
  if (v.is_null()) return "\u2014";
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (d == static_cast<double>(static_cast<long long>(d))) return std::to_string(static_cast<long long>(d));
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f", d);
    return buf;
  }
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

class Page {
 public:
  explicit Page(const Json& doc) : doc_(doc) {}

  void raw(std::string_view s) { out_ += s; }
  void value(std::string_view path, bool state_badge = false) {
    const Json& v = at_path(doc_, path);
    out_ += "<span data-v=\"";
    out_ += html_escape(path);
    out_ += '"';
    if (state_badge) {
      out_ += " class=\"badge\" data-state=\"";
      out_ += html_escape(text_of(v));
      out_ += '"';
    }
    out_ += '>';
    out_ += html_escape(text_of(v));
    out_ += "</span>";
  }
  // A row of "title: value" pairs.
  void facts(std::initializer_list<Column> items) {
    out_ += "<dl>";
    for (const auto& c : items) {
      out_ += "<div><dt>";
      out_ += c.title;
      out_ += "</dt><dd>";
      value(c.key);
      out_ += "</dd></div>";
    }
    out_ += "</dl>";
  }
  // A table of the list at `list`; a "trace_id" cell links to the row's trace_url when it has one.
  void table(const char* list, std::vector<Column> cols) {
    out_ += "<table data-list=\"";
    out_ += list;
    out_ += "\" data-cols=\"";
    for (std::size_t i = 0; i < cols.size(); ++i) {
      if (i) out_ += ',';
      out_ += cols[i].key;
    }
    out_ += "\"><thead><tr>";
    for (const auto& c : cols) {
      out_ += "<th>";
      out_ += c.title;
      out_ += "</th>";
    }
    out_ += "</tr></thead><tbody>";
    const Json& rows = at_path(doc_, list);
    if (!rows.is_array() || rows.empty()) {
      out_ += "<tr><td class=\"empty\" colspan=\"" + std::to_string(cols.size()) + "\">none</td></tr>";
    } else {
      for (const auto& row : rows) {
        out_ += row.value("error", false) ? "<tr class=\"err\">" : "<tr>";
        for (const auto& c : cols) {
          out_ += "<td>";
          const Json& v = at_path(row, c.key);
          const std::string text = html_escape(text_of(v));
          if (std::string_view(c.key) == "trace_id" && row.contains("trace_url")) {
            out_ += "<a href=\"" + html_escape(row["trace_url"].get<std::string>()) + "\">" + text + "</a>";
          } else {
            out_ += text;
          }
          out_ += "</td>";
        }
        out_ += "</tr>";
      }
    }
    out_ += "</tbody></table>";
  }
  std::string take() { return std::move(out_); }

 private:
  const Json& doc_;
  std::string out_;
};

constexpr std::string_view kStyle = R"(<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1d232a;background:#fff}
h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.1em;margin:1.4em 0 .4em;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;margin:.3em 0}th,td{padding:.2em .6em;border:1px solid #d0d7de;text-align:left}
th{background:#f3f5f7}td{font-variant-numeric:tabular-nums}tr.err td{background:#fdecec}td.empty{color:#777}
dl{display:flex;flex-wrap:wrap;gap:.4em 1.6em;margin:.3em 0}dl div{display:flex;gap:.4em}dt{color:#57606a}dd{margin:0;font-weight:600}
.badge{display:inline-block;padding:.05em .6em;border-radius:.6em;color:#fff;background:#57606a}
.badge[data-state=closed]{background:#1a7f37}.badge[data-state=open]{background:#cf222e}
.badge[data-state=half_open]{background:#bf8700}#live{color:#57606a}
</style>)";

// Rewrites every [data-v] element and every table[data-list] from status.json each second.
constexpr std::string_view kScript = R"(<script>
(function () {
  var updates = 0;
  function get(o, path) {
    return path.split('.').reduce(function (a, k) { return a == null ? null : a[k]; }, o);
  }
  function fmt(v) {
    if (v === null || v === undefined) return '\u2014';
    if (typeof v === 'boolean') return v ? 'yes' : 'no';
    if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(2);
    return String(v);
  }
  function apply(d) {
    document.querySelectorAll('[data-v]').forEach(function (el) {
      var v = get(d, el.getAttribute('data-v'));
      el.textContent = fmt(v);
      if (el.hasAttribute('data-state')) el.setAttribute('data-state', fmt(v));
    });
    document.querySelectorAll('table[data-list]').forEach(function (t) {
      var rows = get(d, t.getAttribute('data-list')) || [];
      var cols = t.getAttribute('data-cols').split(',');
      var body = document.createElement('tbody');
      rows.forEach(function (r) {
        var tr = document.createElement('tr');
        if (r.error) tr.className = 'err';
        cols.forEach(function (k) {
          var td = document.createElement('td');
          if (k === 'trace_id' && r.trace_url) {
            var a = document.createElement('a');
            a.href = r.trace_url;
            a.textContent = fmt(get(r, k));
            td.appendChild(a);
          } else {
            td.textContent = fmt(get(r, k));
          }
          tr.appendChild(td);
        });
        body.appendChild(tr);
      });
      if (!rows.length) {
        var tr = document.createElement('tr'), td = document.createElement('td');
        td.className = 'empty'; td.colSpan = cols.length; td.textContent = 'none';
        tr.appendChild(td); body.appendChild(tr);
      }
      t.replaceChild(body, t.tBodies[0]);
    });
    updates += 1;
    var live = document.getElementById('live');
    live.textContent = 'live: updated ' + updates + ' times, last at ' + new Date().toLocaleTimeString();
    live.setAttribute('data-updates', String(updates));
  }
  function tick() {
    fetch('status.json', {cache: 'no-store', credentials: 'same-origin'})
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(apply)
      .catch(function (e) { document.getElementById('live').textContent = 'live update failed: ' + e.message; })
      .then(function () { setTimeout(tick, 1000); });
  }
  tick();
})();
</script>)";

std::vector<Column> latency_cols(const char* first, const char* title) {
  return {{first, title},       {"requests", "requests (1 min)"},
          {"errors", "errors"}, {"rps", "req/s"},
          {"p50_ms", "p50 ms"}, {"p90_ms", "p90 ms"},
          {"p99_ms", "p99 ms"}};
}

std::vector<Column> call_cols() {
  return {{"age_ms", "ago (ms)"},       {"kind", "kind"},        {"method", "method"},
          {"target", "route / tool"},   {"outcome", "outcome"},  {"duration_ms", "ms"},
          {"request_id", "request id"}, {"trace_id", "trace id"}};
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string render_html(const StatusSnapshot& s) {
  const Json doc = to_json(s);
  Page p(doc);
  p.raw(
      "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>");
  p.raw(html_escape(s.service));
  p.raw(" status</title>");
  p.raw(kStyle);
  p.raw("</head><body><h1>");
  p.raw(html_escape(s.service));
  p.raw(
      " status</h1><p id=\"live\" data-updates=\"0\">server-rendered; updates live when JavaScript runs</p>");
  p.facts({{"version", "version"},
           {"revision", "revision"},
           {"build_type", "build"},
           {"uptime_s", "uptime (s)"},
           {"log_level", "log level"}});
  if (!s.database.empty()) p.facts({{"database", "database"}});

  p.raw("<h2>Requests, last minute</h2>");
  p.table("routes", latency_cols("route", "route"));
  if (s.mcp) {
    p.raw("<h2>Tool calls, last minute</h2>");
    p.table("tools", latency_cols("tool", "tool"));
  }
  if (s.breaker) {
    p.raw("<h2 id=\"breaker\">Circuit breaker</h2><p>state ");
    p.value("breaker.state", true);
    p.raw("</p>");
    p.facts({{"breaker.mode", "mode"},
             {"breaker.enabled", "enabled"},
             {"breaker.error_percent", "error % in window"},
             {"breaker.threshold_percent", "opens at %"},
             {"breaker.failures_in_window", "failures"},
             {"breaker.calls_in_window", "calls"},
             {"breaker.window_ms", "window ms"},
             {"breaker.time_until_half_open_ms", "probe in ms"}});
    p.raw("<h3>Transitions</h3>");
    p.table("breaker.transitions",
            {{"age_ms", "ago (ms)"}, {"from", "from"}, {"to", "to"}, {"reason", "reason"}});
  }
  if (s.cache) {
    p.raw("<h2 id=\"cache\">Fallback cache</h2>");
    p.facts({{"cache.enabled", "enabled"},
             {"cache.entries", "entries"},
             {"cache.max_size", "max"},
             {"cache.hit_ratio", "hit ratio"},
             {"cache.hits", "hits (served stale)"},
             {"cache.misses", "misses"},
             {"cache.stale", "too old"},
             {"cache.oldest_age_ms", "oldest entry ms"},
             {"cache.ttl_ms", "ttl ms"}});
    p.facts({{"cache.evictions.lru", "evicted lru"},
             {"cache.evictions.ttl", "evicted ttl"},
             {"cache.evictions.invalidated", "invalidated"},
             {"cache.evictions.purged", "purged"}});
  }
  if (s.bulkhead) {
    p.raw("<h2>Bulkhead</h2>");
    p.facts({{"bulkhead.in_flight", "in flight"},
             {"bulkhead.capacity", "capacity"},
             {"bulkhead.rejected", "rejected"}});
  }
  if (s.mcp) {
    p.raw("<h2>MCP sessions</h2>");
    p.facts({{"mcp.sessions", "sessions"}});
    p.table("mcp.revisions",
            {{"revision", "protocol revision"}, {"sessions", "sessions"}, {"open_streams", "open streams"}});
  }
  p.raw("<h2>Trace exporter</h2>");
  p.facts({{"exporter.enabled", "exporting"},
           {"exporter.queue_size", "queued"},
           {"exporter.exported", "exported"},
           {"exporter.dropped", "dropped"},
           {"exporter.export_failed", "export failed"}});
  p.raw("<h2 id=\"errors\">Recent errors</h2>");
  p.table("recent_errors", call_cols());
  p.raw("<h2>Recent requests</h2>");
  p.table("recent_requests", call_cols());
  p.raw("<h2 id=\"admin\">Admin actions</h2>");
  p.table("admin_actions", {{"age_ms", "ago (ms)"},
                            {"action", "action"},
                            {"detail", "detail"},
                            {"remote", "from"},
                            {"who", "who"}});
  p.raw("<p>JSON: <a href=\"status.json\">status.json</a></p>");
  p.raw(kScript);
  p.raw("</body></html>\n");
  return p.take();
}

}  // namespace taskman::status
