"""The table and the facts scripts/bench-ratios prints from its results."""


def median(vals):
    vals = sorted(vals)
    if not vals:
        return None
    mid = len(vals) // 2
    return vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2


def table(drv, rows):
    out = ["| row | scenario | conns | req/s | p50 ms | p99 ms | errors | server CPU µs/call | baseline | ratio "
           "| target |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        r = drv.results[row.id]
        if r.get("problem") and not r.get("rps"):
            out.append("| %s | %s | %d | — | — | — | — | — | %s | — | %s |" % (
                row.id, drv.label(row), row.conns, row.baseline or "", row.target or ""))
            continue
        cpu = r.get("server_cpu_us_per_call")
        ratio = "%.0f %%" % (100 * r["ratio"]) if r.get("ratio") is not None else ""
        target = row.target or ""
        if r.get("verdict"):
            target += " (%s)" % r["verdict"]
        out.append("| %s | %s | %d | %.0f | %.2f | %.2f | %d | %s | %s | %s | %s |" % (
            row.id, drv.label(row), row.conns, r["rps"], r["p50_ms"], r["p99_ms"], r["errors"],
            "%.0f" % cpu if cpu else "", row.baseline or "", ratio, target))
    return "\n".join(out)


def facts(drv):
    lines = []
    for rid, r in drv.results.items():
        if r.get("drift_pct") is not None:
            lines.append("%s: runs %s req/s (median in the table; first to last %+.1f %%)" % (
                rid, " / ".join("%.0f" % x["rps"] for x in r["runs"]), r["drift_pct"]))
    for rid, r in drv.results.items():
        if rid.endswith("@compare") and r.get("rps") and drv.results.get(rid[:-8], {}).get("rps"):
            mine = drv.results[rid[:-8]]
            cpu_a, cpu_b = mine.get("server_cpu_us_per_call"), r.get("server_cpu_us_per_call")
            lines.append("%s against the --compare binary: %.0f vs %.0f req/s (%+.1f %%), p99 %.2f vs %.2f ms%s" % (
                rid[:-8], mine["rps"], r["rps"], 100 * (mine["rps"] / r["rps"] - 1), mine["p99_ms"], r["p99_ms"],
                ", server CPU %.0f vs %.0f us/call" % (cpu_a, cpu_b) if cpu_a and cpu_b else ""))
    c = drv.results.get("create-64")
    if c and "tasks_in_database" in c:
        lines.append("create-64: %d tasks in the database after %d answered creates (plus the warm-up's)" % (
            c["tasks_in_database"], c["requests"]))
    o = drv.results.get("on-16")
    if o and "otlp_exports" in o:
        lines.append("on-16: %d OTLP exports accepted by the sink, %d bytes of logs" % (
            o["otlp_exports"], o["log_bytes"]))
    i = drv.results.get("idle-16")
    if i and "rss_idle_kib" in i:
        lines.append("idle-16: RSS %.1f MiB fresh, %.1f MiB with %d idle sessions + %d open GET streams, "
                     "%.1f MiB after the "
                     "load; set-up %.1f s" % (i["rss_fresh_kib"] / 1024, i["rss_idle_kib"] / 1024, i["idle_sessions"],
                                               i["open_streams"], i["rss_after_kib"] / 1024, i["setup_seconds"]))
    others = [(rid, r.get("other_cpu_pct_of_one_core")) for rid, r in drv.results.items()
              if r.get("other_cpu_pct_of_one_core") is not None]
    if others:
        worst = max(others, key=lambda x: x[1])
        lines.append("CPU used by other processes during the measured windows: up to %.0f %% of one core (%s)" % (
            worst[1], worst[0]))
    for rid, r in drv.results.items():
        if r.get("problem"):
            lines.append("PROBLEM %s: %s" % (rid, r["problem"]))
    return lines
