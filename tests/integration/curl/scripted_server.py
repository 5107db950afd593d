#!/usr/bin/env python3
"""An HTTP/1.1 server on 127.0.0.1 that answers each path from a script, for the libcurl
integration tests (tests/integration/curl). Python 3 standard library only.

    scripted_server.py PORT

Control, by the test:
    PUT /_script/PATH   body: a JSON list of steps; replaces PATH's script and forgets the
                        requests PATH saw. A request to /PATH takes the next step; when the
                        script is used up it gets 200 "ok".
    GET /_log/PATH?header=NAME
                        one line per request /PATH saw, in order: "METHOD<TAB>value of
                        header NAME" (empty when the request had none).

A step is an object; every field is optional:
    status   the status (default 200)
    headers  an object of response header fields
    body     the response body (default "")
    delay    seconds to wait before answering (the client may have gone by then)
    action   "reset": close the connection with a TCP RST (SO_LINGER 0) without answering;
             "partial": send the status line, a Content-Length larger than the body, the
             body, then reset.
Every request to a scripted or unscripted path is logged before its step runs.
"""

import json
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

lock = threading.Lock()
scripts = {}  # path -> list of steps still to play
seen = {}  # path -> list of (method, {lower-case header name: value})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.handle_any()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def handle_any(self):
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        if url.path.startswith("/_script/") and self.command == "PUT":
            path = url.path[len("/_script"):]
            with lock:
                scripts[path] = json.loads(body or b"[]")
                seen[path] = []
            self.answer(204, {}, b"")
        elif url.path.startswith("/_log/") and self.command == "GET":
            path = url.path[len("/_log"):]
            name = parse_qs(url.query).get("header", [""])[0].lower()
            with lock:
                lines = [f"{method}\t{fields.get(name, '')}\n" for method, fields in seen.get(path, [])]
            self.answer(200, {"Content-Type": "text/plain"}, "".join(lines).encode())
        else:
            self.play(url.path)

    def play(self, path):
        with lock:
            seen.setdefault(path, []).append((self.command, {k.lower(): v for k, v in self.headers.items()}))
            steps = scripts.get(path, [])
            step = steps.pop(0) if steps else {}
        if step.get("delay"):
            time.sleep(float(step["delay"]))
        body = step.get("body", "ok" if not step else "").encode()
        action = step.get("action")
        if action == "reset":
            self.reset()
        elif action == "partial":
            head = f"HTTP/1.1 {step.get('status', 200)} OK\r\nContent-Length: {len(body) + 1000}\r\n\r\n"
            self.wfile.write(head.encode() + body)
            self.wfile.flush()
            time.sleep(0.05)  # let the client read what came before the reset
            self.reset()
        else:
            self.answer(step.get("status", 200), step.get("headers", {}), body)

    def answer(self, status, headers, body):
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True  # the client gave up (a delayed step)

    def reset(self):
        """Closes the connection with a TCP RST: SO_LINGER on, with a zero timeout."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()  # the makefile() reference would keep the socket open
        self.connection.close()
        self.close_connection = True

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format, *args):
        sys.stderr.write("%s %s\n" % (self.log_date_time_string(), format % args))


def main():
    port = int(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"listening on 127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
