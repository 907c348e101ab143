"""The limit references of scripts/bench-ratios: nginx from Debian, configured in a temporary directory
on loopback ports. "hello" answers every request with `return 200` and a 430-byte JSON-RPC result
shaped like a get_task answer; "proxy" proxies to hello over upstream keep-alive (the shape of
MCP -> API); "sink" accepts every OTLP export and logs it, for the everything-on row."""
import http.client
import json
import os
import shutil

from harness import Fail, free_port, wait_http


def hello_body():
    """A JSON-RPC result of the shape of a get_task answer, padded to exactly 430 bytes."""
    task = {"id": "0123456789abcdef0123456789abcdef", "title": "bench task", "description": "",
            "status": "todo", "priority": "medium", "labels": [], "depends_on": [], "parent_id": None,
            "version": 1, "created_at": "2026-11-27T04:19:00.000Z", "updated_at": "2026-11-27T04:19:00.000Z",
            "completed_at": None}
    body = None
    for pad in range(0, 400):
        task["description"] = "x" * pad
        text = json.dumps({"task": task}, separators=(",", ":"))
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {
            "content": [{"type": "text", "text": text}], "isError": False}}, separators=(",", ":"))
        if len(body) >= 430:
            break
    assert len(body) == 430 and "'" not in body and "$" not in body, len(body)
    return body


def start_nginx(procs, work):
    d = os.path.join(work, "nginx")
    os.makedirs(d)
    ports = {"hello": free_port(), "proxy": free_port(), "sink": free_port()}
    temps = "".join("    %s_temp_path %s/%s;\n" % (t, d, t)
                    for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = """daemon off;
master_process on;
worker_processes auto;
pid {d}/nginx.pid;
{user}
events {{ worker_connections 4096; }}
http {{
    access_log off;
    error_log {d}/error.log warn;
{temps}
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    upstream hello_upstream {{
        server 127.0.0.1:{hello};
        keepalive 64;
    }}
    # hello: the limit of one HTTP exchange with a small JSON answer.
    server {{
        listen 127.0.0.1:{hello};
        location / {{
            default_type application/json;
            return 200 '{body}';
        }}
    }}
    # proxy: one more loopback hop over keep-alive, the shape of MCP -> API.
    server {{
        listen 127.0.0.1:{proxy};
        location / {{
            proxy_pass http://hello_upstream;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
    # sink: an OTLP/HTTP endpoint that accepts every export (the "everything on" row), counted.
    server {{
        listen 127.0.0.1:{sink};
        client_max_body_size 0;
        client_body_buffer_size 1m;
        access_log {d}/sink.log;
        location / {{
            default_type application/x-protobuf;
            return 200 '';
        }}
    }}
}}
""".format(d=d, user="user root;" if os.geteuid() == 0 else "", temps=temps,
                                 body=hello_body().replace("\\", "\\\\"), **ports)  # nginx unescapes \\ in quotes
    path = os.path.join(d, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    p = procs.start("nginx", [nginx, "-p", d, "-e", d + "/error.log", "-c", path])
    wait_http(ports["hello"], "/", p)
    wait_http(ports["proxy"], "/", p)
    for name in ("hello", "proxy"):
        c = http.client.HTTPConnection("127.0.0.1", ports[name], timeout=5)
        c.request("POST", "/mcp", "{}", {"Content-Type": "application/json"})
        got = c.getresponse().read().decode()
        c.close()
        if got != hello_body():
            raise Fail("nginx %s answered %d bytes, not the 430-byte body: %r" % (name, len(got), got[:100]))
    return p, ports, os.path.join(d, "sink.log")
