"""Reads a callgrind output file and splits its instructions into the layers of a tool call.

Every instruction is counted once, so the layers add up to the total:
- a source line of src/<area>/ goes to that area's layer (src/http/client.cpp to the backend
  client, the rest of src/http/ to HTTP in), wherever it was inlined; library code inlined into a
  function of src/ (std::string, Asio, Beast) goes with that function; nlohmann::json code goes to
  "JSON in" (lexer, parser), "JSON out" (serializer) or "JSON DOM" (building, copying and destroying
  values), wherever it runs;
- SQLite is the store, prometheus-cpp is metrics, spdlog/fmt is logging; out-of-line Asio and Beast
  code have their own rows (I/O loop, HTTP wire);
- src/core (shared helpers such as JSON escaping) and any library function (malloc/free,
  libstdc++, libc, OpenSSL) are charged to their callers in proportion to what each call cost
  (callgrind's call edges), up to the first caller that has a layer: malloc called by the tracing
  code is tracing's cost. What reaches no such caller (thread
  start, the kernel-facing loop) is "runtime".

Without debug information (no -g) functions are placed by their namespace (taskman::<area>::),
which is coarser: code in a file-level anonymous namespace is then charged to its callers, and
nlohmann code inlined into a function counts as that function's.
"""
import collections
import re

# src/<area>/ -> layer; an area not listed (a new one after a refactor) gets a row of its own.
AREAS = {
    "http": "HTTP in", "mcp": "JSON-RPC (MCP)", "tools": "tool", "client": "backend client",
    "resilience": "backend client", "api": "API", "tasks": "API", "store": "store", "metrics": "metrics",
    "tracing": "tracing", "log": "logging", "app": "app (wiring, telemetry hooks)", "config": "config",
    "core": None,  # shared helpers (JSON escaping, Result): charged to the layer that calls them
}
ORDER = ["HTTP in", "HTTP wire (Beast)", "I/O loop (Asio)", "JSON-RPC (MCP)", "tool", "backend client", "API",
         "store", "JSON in", "JSON out", "JSON DOM", "metrics", "tracing", "logging", "app (wiring, telemetry hooks)",
         "config", "runtime"]

SRC_RE = re.compile(r"(?:^|/)src/([A-Za-z0-9_]+)/([^/]+)$")


def strip_templates(name):
    """nlohmann::basic_json<std::map, ..., adl_serializer, ...>::dump(int) -> nlohmann::basic_json::dump(int):
    template arguments name serializers and parsers that have nothing to do with the function."""
    out, depth = [], 0
    for ch in name:
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def json_layer(text):
    """JSON in (lexer, parser, SAX DOM builder), JSON out (serializer, dump) or JSON DOM (the rest), from a
    nlohmann header path or, without debug information, a function name."""
    if "/" in text:
        if "/detail/output/" in text:
            return "JSON out"
        if "/detail/input/" in text:
            return "JSON in"
        return "JSON DOM"
    head = strip_templates(text).split("(")[0]
    if "::serializer::" in head or head.endswith("::dump") or "::output_" in head:
        return "JSON out"
    if any(t in head for t in ("::lexer::", "::parser::", "::json_sax_", "input_adapter")) or head.endswith("::parse"):
        return "JSON in"
    return "JSON DOM"


def file_layer(path):
    m = SRC_RE.search(path)
    if m:
        area, name = m.group(1), m.group(2)
        if area == "http" and name.startswith("client"):
            return "backend client"
        return AREAS.get(area, "src/%s" % area)
    if "nlohmann" in path:
        return json_layer(path)
    return None


def home_layer(ob, fl, fn):
    """The layer of a function as a whole, or None for library code charged to its callers."""
    layer = file_layer(fl)
    if layer:
        return layer
    if "/boost/beast/" in fl:
        return "HTTP wire (Beast)"
    if "/boost/asio/" in fl:
        return "I/O loop (Asio)"
    if "libsqlite3" in ob:
        return "store"
    if "libprometheus" in ob:
        return "metrics"
    if "libspdlog" in ob or "libfmt" in ob:
        return "logging"
    m = re.match(r"(?:\S+ )*?taskman::([a-z_]+)::", fn)  # no debug info: the namespace
    if m and fl in ("???", ""):
        area = m.group(1)
        if area == "http" and ("HttpClient" in fn or "Client::" in fn):
            return "backend client"
        return AREAS.get(area, "src/%s" % area)
    if fn.startswith("nlohmann::") and fl in ("???", "") or "/nlohmann/" in fl:
        return json_layer(fn)
    if fn.startswith("boost::beast::") and fl in ("???", ""):
        return "HTTP wire (Beast)"
    if fn.startswith("boost::asio::") and fl in ("???", ""):
        return "I/O loop (Asio)"
    return None


class Profile:
    def __init__(self):
        self.total = 0
        self.self_cost = collections.Counter()   # (ob, fn) -> Ir
        self.by_line_layer = collections.Counter()  # (ob, fn, layer or None) -> Ir
        self.home = {}                           # (ob, fn) -> fl
        self.edges = collections.Counter()       # ((ob, fn) caller, (ob, fn) callee) -> inclusive Ir


def parse(path):
    """Parses the callgrind format (name compression, fi/fe inline files, calls= lines)."""
    p = Profile()
    names = {k: {} for k in ("ob", "fl", "fn")}
    kind_of = {"ob": "ob", "cob": "ob", "fl": "fl", "fi": "fl", "fe": "fl", "cfi": "fl", "cfl": "fl", "fn": "fn",
               "cfn": "fn"}

    def name(kind, value):
        table = names[kind_of[kind]]
        if value.startswith("("):
            close = value.index(")")
            ident, rest = value[1:close], value[close + 1:].strip()
            if rest:
                table[ident] = rest
            return table.get(ident, "???")
        return value

    ob = fl = cur_file = fn = "???"
    cob = cfl = cfn = None
    pending_call = False
    key = None
    with open(path, errors="replace") as f:
        for line in f:
            c = line[0] if line else ""
            if c.isdigit() or c in "+-*":
                parts = line.split()
                ir = int(parts[1]) if len(parts) > 1 else 0
                if pending_call:
                    callee = (cob or ob, cfn)
                    if cfl and callee not in p.home:
                        p.home[callee] = cfl
                    p.edges[(key, callee)] += ir
                    pending_call = False
                    cob = cfl = cfn = None
                else:
                    p.total += ir
                    p.self_cost[key] += ir
                    p.by_line_layer[(key, file_layer(cur_file))] += ir
                continue
            if "=" not in line:
                continue
            tag, _, value = line.rstrip("\n").partition("=")
            if tag == "ob":
                ob = name("ob", value)
            elif tag == "fl":
                fl = cur_file = name("fl", value)
            elif tag in ("fi", "fe"):
                cur_file = name(tag, value)
            elif tag == "fn":
                fn = name("fn", value)
                cur_file = fl
                key = (ob, fn)
                p.home[key] = fl
            elif tag == "cob":
                cob = name("cob", value)
            elif tag in ("cfi", "cfl"):
                cfl = name(tag, value)
            elif tag == "cfn":
                cfn = name("cfn", value)
            elif tag == "calls":
                pending_call = True
    return p


def layers(p):
    """Instructions per layer (adding up to p.total) and the functions' self costs with their layer."""
    out = collections.Counter()
    home = {k: home_layer(k[0], p.home.get(k, "???"), k[1]) for k in p.self_cost}
    pending = collections.Counter()
    for (key, line_layer), ir in p.by_line_layer.items():
        # A line of src/ or of nlohmann counts where its source is, whatever function it was inlined
        # into (a handler lambda inside an Asio template, JSON parsing inside a tool); other lines
        # (std::, Asio and Beast headers) count as the function they are in.
        h = line_layer or home.get(key)
        if h:
            out[h] += ir
        else:
            pending[key] += ir           # library code: charged to callers below
    callers = collections.defaultdict(list)
    for (a, b), ir in p.edges.items():
        if a != b and ir > 0:
            callers[b].append((a, ir))
    for _ in range(200):
        if not pending or sum(pending.values()) < 1:
            break
        nxt = collections.Counter()
        for key, amount in pending.items():
            cs = callers.get(key)
            if not cs:
                out["runtime"] += amount
                continue
            total_in = sum(ir for _, ir in cs)
            for a, ir in cs:
                share = amount * ir / total_in
                h = home.get(a) if a in home else home_layer(a[0], p.home.get(a, "???"), a[1])
                if h:
                    out[h] += share
                else:
                    nxt[a] += share
        pending = nxt
    out["runtime"] += sum(pending.values())
    return out, home


def ordered(names):
    known = [n for n in ORDER if n in names]
    return known + sorted(n for n in names if n not in ORDER)
