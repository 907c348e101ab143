#!/usr/bin/env python3
"""Runs `taskman serve` under strace, as an unprivileged user, through a workload and a SIGTERM
drain, and checks that it stays inside the sandbox that deploy/systemd/taskman.service.in sets:

- every system call is allowed by the unit's SystemCallFilter= lines, expanded with
  `systemd-analyze syscall-filter` (so a filter that would kill the service with EPERM shows here);
- sockets only of the RestrictAddressFamilies= families;
- no writable+executable mapping and no mprotect to executable (MemoryDenyWriteExecute=yes);
- files written only in the state directory, which is also the working directory (ProtectSystem=strict,
  StateDirectory=, WorkingDirectory=), or /tmp (PrivateTmp=yes) and /dev/null.

This host's PID 1 is not systemd, so the unit cannot be started here; this checks what the binary
does against what the unit permits. The workload: REST calls, MCP sessions (taskman bench), both
/metrics, health, and spans exported to a local OTLP sink.

  unit_sandbox_test.py --bin build/taskman --unit deploy/systemd/taskman.service.in --env deploy/env/taskman.env
"""
import argparse
import http.server
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

DEADLINE_S = 30
# systemd.exec(5): permitted whatever the filter says, so the service can start and exit.
ALWAYS_ALLOWED = {"execve", "exit", "exit_group", "getrlimit", "rt_sigreturn", "sigreturn"}


def unit_settings(path):
    values = {}
    for line in open(path, encoding="utf-8"):
        m = re.match(r"^([A-Za-z]+)=(.*)$", line.strip())
        if m:
            values.setdefault(m.group(1), []).append(m.group(2))
    return values


def expand(group, cache):
    """The system calls of @group (or of a single name), nested groups expanded."""
    if not group.startswith("@"):
        return {group}
    if group not in cache:
        out = subprocess.run(["systemd-analyze", "syscall-filter", group], capture_output=True, text=True,
                             check=True).stdout
        names = set()
        for line in out.splitlines()[1:]:
            item = line.strip()
            if item and not item.startswith("#"):
                names |= expand(item, cache)
        cache[group] = names
    return cache[group]


def allowed_syscalls(filters):
    """systemd's semantics: the first list without ~ is an allow list, each ~ list then removes."""
    cache, allowed = {}, None
    for value in filters:
        deny = value.startswith("~")
        names = set()
        for item in value.lstrip("~").split():
            names |= expand(item, cache)
        if deny:
            allowed = (allowed if allowed is not None else set()) - names
        else:
            allowed = (allowed or set()) | names
    return (allowed or set()) | ALWAYS_ALLOWED


class OtlpSink(http.server.BaseHTTPRequestHandler):
    received = 0

    def do_POST(self):  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        OtlpSink.received += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def http_call(method, url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.read()


def wait_for(predicate, what):
    end = time.monotonic() + DEADLINE_S
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise SystemExit(f"FAIL: timed out waiting for {what}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--unit", required=True)
    ap.add_argument("--env", required=True)
    ap.add_argument("--otlp-host", default="localhost", help="a name, so that name resolution is traced too")
    args = ap.parse_args()
    args.bin, args.env = os.path.abspath(args.bin), os.path.abspath(args.env)  # taskman runs in the state dir
    for tool in ("strace", "systemd-analyze"):
        if not shutil.which(tool):
            raise SystemExit(f"FAIL: {tool} is not installed")

    unit = unit_settings(args.unit)
    allowed = allowed_syscalls(unit.get("SystemCallFilter", []))
    families = set(" ".join(unit.get("RestrictAddressFamilies", [])).split())
    if len(allowed) < 100 or not families:
        raise SystemExit(f"FAIL: the unit sets no usable SystemCallFilter/RestrictAddressFamilies ({len(allowed)})")

    tmp = tempfile.mkdtemp(prefix="taskman-sandbox.")
    os.chmod(tmp, 0o755)
    state = os.path.join(tmp, "state")
    os.mkdir(state, 0o700)
    user = []
    if os.geteuid() == 0:  # the unit's DynamicUser is never root: SQLite, for one, acts differently as root
        nobody = pwd.getpwnam("nobody")
        os.chown(state, nobody.pw_uid, nobody.pw_gid)
        user = ["-u", "nobody"]
    trace = os.path.join(tmp, "trace")
    log_path = os.path.join(tmp, "stderr")

    sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), OtlpSink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    cmd = ["strace", "-f", "-qq", "-s", "256", "-o", trace, *user, args.bin, "serve", "--env-file", args.env,
           "--port", "0", "--api-port", "0", "--database-url", f"sqlite:{state}/taskman.db",
           "--enable-tracing", "true", "--otel-exporter-otlp-endpoint", f"http://{args.otlp_host}:{sink.server_port}"]
    failures = []
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=state, stdout=subprocess.DEVNULL, stderr=log)
    try:
        def ports():
            found = {}
            for line in open(log_path, encoding="utf-8", errors="replace"):
                if '"msg":"listening"' in line:
                    entry = json.loads(line)
                    found[entry["service"]] = entry["port"]
            return found if len(found) == 2 else None

        p = wait_for(ports, "both listeners")
        api, mcp = f"http://127.0.0.1:{p['taskman-api']}", f"http://127.0.0.1:{p['taskman-mcp']}"
        status, body = http_call("POST", f"{api}/api/v1/tasks", {"title": "sandboxed", "labels": ["a"]})
        task = json.loads(body)["id"]
        http_call("PATCH", f"{api}/api/v1/tasks/{task}", {"status": "done"})
        http_call("GET", f"{api}/api/v1/tasks?status=done")
        for base in (api, mcp):
            http_call("GET", f"{base}/metrics")
            http_call("GET", f"{base}/health/ready")
        bench = subprocess.run([args.bin, "bench", "--url", f"{mcp}/mcp", "--sessions", "2", "--requests", "40",
                                "--warmup", "0"], capture_output=True, text=True, timeout=DEADLINE_S)
        if bench.returncode != 0:
            failures.append(f"bench through MCP failed: {bench.stdout}{bench.stderr}")
        wait_for(lambda: OtlpSink.received > 0, "spans at the OTLP sink")

        tracee = wait_for(lambda: open(f"/proc/{proc.pid}/task/{proc.pid}/children").read().split(), "the tracee")
        os.kill(int(tracee[0]), signal.SIGTERM)
        rc = proc.wait(timeout=DEADLINE_S)
        if rc != 0:
            failures.append(f"taskman exited {rc} after SIGTERM, not 0")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sink.shutdown()

    used, sockets, bad_maps, writes = set(), set(), [], set()
    call = re.compile(r"^\d+\s+([a-z0-9_]+)\((.*)")
    for line in open(trace, encoding="utf-8", errors="replace"):
        m = call.match(line)
        if not m:
            continue
        name, rest = m.groups()
        used.add(name)
        if name == "socket":
            sockets.add(rest.split(",")[0].strip())
        elif name == "mmap" and re.search(r"PROT_WRITE\|PROT_EXEC|PROT_EXEC\|PROT_WRITE", rest):
            bad_maps.append(line.strip())
        elif name in ("mprotect", "pkey_mprotect") and "PROT_EXEC" in rest:
            bad_maps.append(line.strip())
        elif name in ("openat", "open", "creat") and re.search(r"O_WRONLY|O_RDWR|O_CREAT", rest):
            q = re.search(r'"([^"]*)"', rest)
            if q:
                writes.add(os.path.normpath(os.path.join(state, q.group(1))))
        elif name in ("mkdir", "mkdirat", "unlink", "unlinkat", "rename", "renameat", "renameat2"):
            for path in re.findall(r'"([^"]*)"', rest):
                writes.add(os.path.normpath(os.path.join(state, path)))

    for name in sorted(used - allowed):
        failures.append(f"system call {name} is outside SystemCallFilter=")
    for family in sorted(sockets - families):
        failures.append(f"socket family {family} is outside RestrictAddressFamilies=")
    failures += [f"MemoryDenyWriteExecute= would refuse: {line}" for line in bad_maps]
    for path in sorted(writes):
        if not (path == state or path.startswith(state + "/") or path.startswith("/tmp/") or path == "/dev/null"):
            failures.append(f"writes {path}, outside the state directory (ProtectSystem=strict)")
    if len(used) < 30:
        failures.append(f"the trace holds only {len(used)} system calls: strace did not follow taskman")

    print(f"{len(used)} distinct system calls, sockets {sorted(sockets)}, {len(writes)} written paths, "
          f"{OtlpSink.received} OTLP exports")
    for f in failures:
        print(f"FAIL: {f}", file=sys.stderr)
    if failures:
        print(f"trace and logs kept in {tmp}", file=sys.stderr)
        return 1
    shutil.rmtree(tmp)
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
