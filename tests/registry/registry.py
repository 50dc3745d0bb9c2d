#!/usr/bin/python3
"""registry.py - a tiny Ollama/Docker-v2-style registry for pippa's pull tests.

Serves ROOT/manifests/<namespace>/<model>/<tag> and ROOT/blobs/sha256-<hex> as
  GET /v2/<ns>/<model>/manifests/<tag>   (requires the docker v2 manifest Accept header)
  GET /v2/<ns>/<model>/blobs/sha256:<hex> (Range: bytes=a-b -> 206)
on 127.0.0.1 at a free port, written to --port-file. Every request is logged to --log as
"METHOD PATH RANGE ACCEPT". Fault injection for tests:
  --drop-after N --drop-times K  the first K blob bodies longer than N bytes are cut after N
                                 bytes (connection closed)
  --corrupt HEX                  serve that blob with its first byte flipped
  --redirect                     blob GETs answer 307 to http://localhost:<port>/cdn/<digest>
                                 (another host name: the CDN case)
  --ignore-range                 answer ranged GETs with 200 and the whole blob
  --redirect-same                blob GETs answer 307 to /cdn/<digest> on the same host
  --auth                         /v2/ needs "Authorization: Bearer tok123"; a 401 names the
                                 realm http://127.0.0.1:<port>/token (anonymous token)
"""
import argparse
import http.server
import os
import re
import socketserver
import sys
import threading

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--drop-after", type=int, default=0)
    ap.add_argument("--drop-times", type=int, default=0)
    ap.add_argument("--corrupt", default="")
    ap.add_argument("--redirect", action="store_true")
    ap.add_argument("--ignore-range", action="store_true")
    ap.add_argument("--redirect-same", action="store_true")
    ap.add_argument("--auth", action="store_true")
    args = ap.parse_args()
    lock = threading.Lock()
    state = {"drops": args.drop_times}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def note(self):
            with lock, open(args.log, "a") as f:
                f.write("%s %s %s %s\n" % (self.command, self.path, self.headers.get("Range", "-"),
                                           self.headers.get("Accept", "-")))

        def send_plain(self, code, text):
            body = text.encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            self.note()
            port = self.server.server_address[1]
            if args.auth and self.path.startswith("/token?"):
                body = b'{"token":"tok123"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if args.auth and self.path.startswith("/v2/") and \
                    self.headers.get("Authorization") != "Bearer tok123":
                body = b"unauthorized"
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Bearer realm="http://127.0.0.1:%d/token",'
                                 'service="test",scope="repository:library/tiny:pull"' % port)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            m = re.fullmatch(r"/v2/([^/]+)/([^/]+)/manifests/([^/]+)", self.path)
            if m:
                if MANIFEST_TYPE not in self.headers.get("Accept", ""):
                    return self.send_plain(400, "missing Accept")
                p = os.path.join(args.root, "manifests", *m.groups())
                if not os.path.isfile(p):
                    return self.send_plain(404, '{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
                body = open(p, "rb").read()
                self.send_response(200)
                self.send_header("Content-Type", MANIFEST_TYPE)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            m = re.fullmatch(r"/v2/[^/]+/[^/]+/blobs/sha256:([0-9a-f]{64})", self.path)
            cdn = re.fullmatch(r"/cdn/sha256:([0-9a-f]{64})", self.path)
            if m and (args.redirect or args.redirect_same):
                self.send_response(307)
                self.send_header("Location", "http://%s:%d/cdn/sha256:%s" % (
                    "localhost" if args.redirect else "127.0.0.1", port, m.group(1)))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if m or cdn:
                hexd = (m or cdn).group(1)
                p = os.path.join(args.root, "blobs", "sha256-" + hexd)
                if not os.path.isfile(p):
                    return self.send_plain(404, "blob unknown")
                data = bytearray(open(p, "rb").read())
                if hexd == args.corrupt and data:
                    data[0] ^= 0xFF
                start, end = 0, len(data) - 1
                rng = self.headers.get("Range")
                code = 200
                if rng and not args.ignore_range:
                    r = re.fullmatch(r"bytes=(\d+)-(\d*)", rng)
                    if not r:
                        return self.send_plain(416, "bad range")
                    start = int(r.group(1))
                    end = int(r.group(2)) if r.group(2) else len(data) - 1
                    end = min(end, len(data) - 1)
                    if start > end:
                        return self.send_plain(416, "bad range")
                    code = 206
                body = bytes(data[start:end + 1])
                self.send_response(code)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                if code == 206:
                    self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, len(data)))
                self.end_headers()
                if self.command == "HEAD":
                    return
                drop = False
                with lock:
                    if state["drops"] > 0 and len(body) > args.drop_after > 0:
                        state["drops"] -= 1
                        drop = True
                if drop:
                    self.wfile.write(body[:args.drop_after])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(body)
                return
            self.send_plain(404, "not found")

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True

        def handle_error(self, request, client_address):
            pass  # clients that hang up mid-body (aborted pulls) are expected here

    srv = Server(("127.0.0.1", 0), Handler)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
