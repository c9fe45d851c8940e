#!/usr/bin/env python3
"""Load for bench/rss.sh: Basic cache misses in concurrent bursts, and a mixed soak.

    rss_load.py misses BASE ROUNDS USERS PASSWORD   # ROUNDS bursts of USERS concurrent misses
    rss_load.py soak BASE SECONDS PASSWORD          # the mixed load for SECONDS

Standard library only. Users are `rss-user-<n>` with PASSWORD (made by rss.sh); the server
runs with the Basic cache off for `misses`, so every request is an Argon2id verification.
"""
import base64
import http.client
import json
import re
import sys
import threading
import time
from urllib.parse import urlparse


def conn(base):
    u = urlparse(base)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=60)


def basic(user, pw):
    return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()


def request(c, method, path, headers=None, body=None):
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    return r.status, r.getheaders(), data


def misses(base, rounds, users, pw):
    statuses = {}
    lock = threading.Lock()

    def one(n):
        c = conn(base)
        s, _, _ = request(c, "GET", "/api/v2/me/", {"Authorization": basic(f"rss-user-{n}", pw)})
        with lock:
            statuses[s] = statuses.get(s, 0) + 1
        c.close()

    for _ in range(rounds):
        threads = [threading.Thread(target=one, args=(n,)) for n in range(users)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    print(f"misses: {rounds} rounds x {users} concurrent; statuses {statuses}")


def soak(base, seconds, pw):
    deadline = time.time() + seconds
    counts = {}
    lock = threading.Lock()

    def note(name, status):
        with lock:
            key = f"{name} {status}"
            counts[key] = counts.get(key, 0) + 1

    admin = basic("admin", pw)
    c = conn(base)
    s, _, data = request(c, "POST", "/api/v2/tokens/",
                         {"Authorization": admin, "Content-Type": "application/json"},
                         json.dumps({"description": "rss soak", "scope": "write"}))
    assert s == 201, (s, data)
    pat = json.loads(data)["token"]

    def form_login(c, user):
        s, headers, _ = request(c, "GET", "/api/login/")
        csrf = next(re.search(r"csrftoken=([^;]+)", v).group(1)
                    for k, v in headers if k.lower() == "set-cookie" and "csrftoken=" in v)
        s, headers, _ = request(c, "POST", "/api/login/", {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-CSRFToken": csrf, "Referer": base + "/api/login/",
            "Cookie": f"csrftoken={csrf}"}, f"username={user}&password={pw}")
        session = None
        for k, v in headers:
            m = re.search(r"awx_sessionid=([^;]+)", v) if k.lower() == "set-cookie" else None
            if m:
                session = m.group(1)
        return s, session

    def loop(name, fn):
        c = conn(base)
        while time.time() < deadline:
            try:
                note(name, fn(c))
            except Exception as e:  # a closed keep-alive connection: open another
                note(name, type(e).__name__)
                c = conn(base)

    s, session = form_login(conn(base), "admin")
    assert s == 302 and session, s
    n = [0]

    def next_user():
        with lock:
            n[0] = (n[0] + 1) % 8
            return f"rss-user-{n[0]}"

    scenarios = {
        "bearer me": lambda c: request(c, "GET", "/api/v2/me/", {"Authorization": f"Bearer {pat}"})[0],
        "session me": lambda c: request(c, "GET", "/api/v2/me/", {"Cookie": f"awx_sessionid={session}"})[0],
        "basic me": lambda c: request(c, "GET", "/api/v2/me/", {"Authorization": admin})[0],
        "basic token": lambda c: request(c, "POST", "/api/v2/tokens/",
                                         {"Authorization": admin, "Content-Type": "application/json"},
                                         json.dumps({"description": "soak", "scope": "read"}))[0],
        "anonymous": lambda c: request(c, "GET", "/api/v2/me/")[0],
        "form login": lambda c: form_login(c, next_user())[0],
        "basic other users": lambda c: request(c, "GET", "/api/v2/me/",
                                               {"Authorization": basic(next_user(), pw)})[0],
    }
    threads = [threading.Thread(target=loop, args=(k, f)) for k, f in scenarios.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("soak: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "misses":
        misses(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    elif mode == "soak":
        soak(sys.argv[2], float(sys.argv[3]), sys.argv[4])
    else:
        sys.exit(f"unknown mode {mode}")
