#!/usr/bin/env python3
"""A small Hugging Face Hub look-alike for the download tests, on 127.0.0.1 only.

    hub_server.py SPEC.json LOG

SPEC: {"repos": {"org/name": {"dir": folder, "commit": 40 hex, "refs": {"main": commit},
        "token": "secret" (gated: 401 without it), "corrupt": [file...] (wrong bytes,
        right announced sha256), "interrupt": {file: bytes} (the first full request of
        the file is cut after that many bytes)}}}

It serves GET /api/models/{repo}/revision/{rev}?blobs=true (sha, siblings with size,
blobId and lfs.sha256 for *.safetensors / *.bin / *.pt) and GET /{repo}/resolve/{rev}/{file}
(LFS files through a 302 to /cdn/..., as the Hub does; Range requests answered 206).
Every request is appended to LOG as one JSON line. Prints the port on stdout and
stops after 300 s in any case.
"""
import hashlib
import http.server
import json
import os
import sys
import threading
import urllib.parse

SPEC = json.load(open(sys.argv[1]))
LOG = sys.argv[2]
LOCK = threading.Lock()
CUT_DONE = set()
LFS_EXT = (".safetensors", ".bin", ".pt")


def log(entry):
    with LOCK:
        with open(LOG, "a") as f:
            f.write(json.dumps(entry) + "\n")


def siblings(repo):
    out = []
    root = repo["dir"]
    for dirpath, _, files in os.walk(root):
        for name in sorted(files):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            data = open(path, "rb").read()
            blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            s = {"rfilename": rel, "size": len(data), "blobId": blob}
            if rel.endswith(LFS_EXT):
                s["lfs"] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "pointerSize": 134}
            out.append(s)
    return sorted(out, key=lambda s: s["rfilename"])


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def error(self, code, error_code, message):
        body = json.dumps({"error": message}).encode()
        self.send_response(code)
        self.send_header("X-Error-Code", error_code)
        self.send_header("X-Error-Message", message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def repo_and_rest(self, path):
        parts = path.split("/")
        if len(parts) < 2:
            return None, None, parts
        name = parts[0] + "/" + parts[1]
        return name, SPEC["repos"].get(name), parts[2:]

    def authorised(self, repo):
        token = repo.get("token")
        return not token or self.headers.get("Authorization") == "Bearer " + token

    def commit_of(self, repo, rev):
        if rev == repo["commit"]:
            return rev
        return repo.get("refs", {}).get(rev)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(url.path)
        log({"path": path, "query": url.query, "range": self.headers.get("Range"),
             "auth": self.headers.get("Authorization") is not None})
        if path.startswith("/api/models/"):
            name, repo, rest = self.repo_and_rest(path[len("/api/models/"):])
            if repo is None or len(rest) < 2 or rest[0] != "revision":
                return self.error(404, "RepoNotFound", "Repository not found")
            if not self.authorised(repo):
                return self.error(401, "GatedRepo", "Access to model %s is restricted." % name)
            commit = self.commit_of(repo, "/".join(rest[1:]))
            if commit is None:
                return self.error(404, "RevisionNotFound", "Invalid rev id")
            body = json.dumps({"id": name, "sha": commit, "siblings": siblings(repo)}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        cdn = path.startswith("/cdn/")
        name, repo, rest = self.repo_and_rest(path[len("/cdn/"):] if cdn else path[1:])
        if repo is None or len(rest) < 3 or rest[0] != "resolve":
            return self.error(404, "RepoNotFound", "Repository not found")
        if not self.authorised(repo):
            return self.error(401, "GatedRepo", "Access to model %s is restricted." % name)
        if self.commit_of(repo, rest[1]) is None:
            return self.error(404, "RevisionNotFound", "Invalid rev id")
        rel = "/".join(rest[2:])
        full = os.path.join(repo["dir"], rel)
        if not os.path.isfile(full):
            return self.error(404, "EntryNotFound", "Entry not found")
        if rel.endswith(LFS_EXT) and not cdn:
            self.send_response(302)
            self.send_header("Location", "/cdn" + path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = open(full, "rb").read()
        if rel in repo.get("corrupt", []):
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[len("bytes="):-1])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % len(data))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.send_header("ETag", '"%s"' % hashlib.sha256(data).hexdigest())
        self.end_headers()
        cut = repo.get("interrupt", {}).get(rel)
        key = (name, rel)
        if cut is not None and start == 0 and key not in CUT_DONE:
            CUT_DONE.add(key)
            self.wfile.write(data[:cut])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(data[start:])


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
threading.Timer(300, server.shutdown).start()
server.serve_forever()
