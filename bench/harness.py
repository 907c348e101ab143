"""Shared by the benchmark drivers (scripts/bench-ratios, scripts/bench-instructions): processes
started and stopped by pid, loopback ports, /proc readings, and a minimal MCP Streamable HTTP client
for set-up and checks (the load itself is wrk's or the caller's)."""
import http.client
import json
import os
import signal
import socket
import subprocess
import time

PROTOCOL = "2025-11-25"


class Fail(Exception):
    pass


# ---------------------------------------------------------------- processes

class Procs:
    """Every process the driver starts, stopped by pid at the end (also on Ctrl-C)."""

    def __init__(self, work):
        self.work, self.alive = work, []

    def start(self, name, argv, env=None, cwd=None):
        out = open(os.path.join(self.work, name + ".log"), "ab")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                             env=env, cwd=cwd or self.work)
        p.log_path, p.name = out.name, name
        out.close()
        self.alive.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=15):
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in self.alive:
            self.alive.remove(p)

    def stop_all(self):
        for p in list(self.alive):
            self.stop(p)


def log_tail(p, n=20):
    try:
        with open(p.log_path, "rb") as f:
            return b"".join(f.readlines()[-n:]).decode(errors="replace")
    except OSError:
        return ""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_listening(procs, name, argv_for, nports, env=None, ready_path="/health/ready"):
    """Starts a server on fresh free ports and waits until it answers on the first. A free port can be
    taken by another process between our probe and the server's bind (other tests bind port 0 too), so
    a start that fails with "Address already in use" is tried again on new ports, a few times."""
    for attempt in range(5):
        ports = [free_port() for _ in range(nports)]
        p = procs.start(name if attempt == 0 else "%s-retry%d" % (name, attempt), argv_for(*ports), env)
        try:
            wait_http(ports[0], ready_path, p)
            return p, ports
        except Fail:
            if p.poll() is None or "Address already in use" not in log_tail(p) or attempt == 4:
                raise
            procs.stop(p)


def wait_http(port, path, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Fail("%s exited with %s before it answered:\n%s" % (proc.name, proc.returncode, log_tail(proc)))
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", path)
            if c.getresponse().status == 200:
                c.close()
                return
            c.close()
        except OSError:
            pass
        time.sleep(0.02)
    raise Fail("%s did not answer 200 on %s within %d s" % (proc.name, path, timeout))


def proc_children(pid):
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        kids.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return kids


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat(5))
        except OSError:
            pass
    return total


def machine_busy_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7]  # user nice system irq softirq steal


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# ---------------------------------------------------------------- MCP over Streamable HTTP

class Mcp:
    """A minimal MCP client for set-up and checks (the load itself is wrk's)."""

    def __init__(self, port):
        self.port, self.conn, self.next_id = port, None, 1

    def post(self, body, sid=None):
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        if sid:
            headers["Mcp-Session-Id"] = sid
            headers["MCP-Protocol-Version"] = PROTOCOL
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.conn.request("POST", "/mcp", json.dumps(body), headers)
                r = self.conn.getresponse()
                data = r.read().decode(errors="replace")
                break
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        msg = None
        if "text/event-stream" in (r.getheader("Content-Type") or ""):
            for line in data.splitlines():
                if line.startswith("data:") and line[5:].strip():
                    m = json.loads(line[5:])
                    if "id" in m and ("result" in m or "error" in m):
                        msg = m
        elif data.strip():
            msg = json.loads(data)
        return r.status, r.getheader("Mcp-Session-Id"), msg

    def open_session(self):
        status, sid, msg = self.post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "bench-ratios", "version": "1"}}})
        if status != 200 or not sid or not msg or "result" not in msg:
            raise Fail("initialize failed: HTTP %s %s" % (status, msg))
        status, _, _ = self.post({"jsonrpc": "2.0", "method": "notifications/initialized"}, sid)
        if status != 202:
            raise Fail("notifications/initialized answered HTTP %s" % status)
        return sid

    def call(self, sid, tool, args):
        self.next_id += 1
        status, _, msg = self.post({"jsonrpc": "2.0", "id": self.next_id, "method": "tools/call",
                                    "params": {"name": tool, "arguments": args}}, sid)
        if status != 200 or not msg or "result" not in msg:
            raise Fail("tools/call %s: HTTP %s %s" % (tool, status, msg))
        return msg["result"]

    def call_ok(self, sid, tool, args):
        res = self.call(sid, tool, args)
        if res.get("isError"):
            raise Fail("tools/call %s answered isError: %s" % (tool, json.dumps(res)[:400]))
        return res


def health(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", "/health/ready")
    r = c.getresponse()
    body = r.read().decode(errors="replace")
    c.close()
    return r.status, body


def http_get_status(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", path)
    r = c.getresponse()
    r.read()
    c.close()
    return r.status


def machine():
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cores": os.cpu_count(), "cpu": model, "kernel": os.uname().release,
            "load_avg": open("/proc/loadavg").read().split()[:3]}


def version(binary):
    try:
        return subprocess.run([binary, "version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        return ""
