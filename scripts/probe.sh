#!/usr/bin/env bash
# The attacks of issue #22 against a running server, each printed with the answer it got.
# Usage: scripts/probe.sh [base-url=http://127.0.0.1:3000]
# Optional environment:
#   PROBE_PID=<server pid>          also report the server's memory (VmRSS) around the slow clients
#   PROBE_JWT_SECRET=<JWT_SECRET>   also try what someone holding the key could forge
#   PROBE_STORE_FILE=<path>         also report the SQLite store file's permissions
#   PROBE_HELD=<n>                  slow connections to hold (default 2000)
# It signs in as the demo users (alice, admin) and, last, spends the probing address's sign-in
# quota: run it against a throwaway server. Needs python3 (standard library only).
set -euo pipefail
exec python3 - "${1:-http://127.0.0.1:3000}" <<'PY'
import base64, hashlib, hmac, http.client, json, os, socket, sys, time, urllib.parse

BASE = sys.argv[1].rstrip("/")
url = urllib.parse.urlsplit(BASE)
HOST, PORT = url.hostname, url.port or 80
ORIGIN = f"{url.scheme}://{url.netloc}"
PID = os.environ.get("PROBE_PID")
SECRET = os.environ.get("PROBE_JWT_SECRET")
STORE_FILE = os.environ.get("PROBE_STORE_FILE")
HELD = int(os.environ.get("PROBE_HELD", "2000"))


def attack(title):
    print(f"\n## {title}\n")


def say(text):
    print(f"    {text}")


def request(method, path, headers=None, body=b"", source=None):
    """One request on a fresh connection: (status, headers as a dict of lists, body text)."""
    conn = http.client.HTTPConnection(HOST, PORT, timeout=30,
                                      source_address=(source, 0) if source else None)
    conn.putrequest(method, path, skip_accept_encoding=True)
    for name, value in (headers or {}).items():
        for one in value if isinstance(value, list) else [value]:
            conn.putheader(name, one)
    if body:
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body or None)
    response = conn.getresponse()
    seen = {}
    for name, value in response.getheaders():
        seen.setdefault(name.lower(), []).append(value)
    text = response.read().decode("utf-8", "replace")
    conn.close()
    return response.status, seen, text


def short(text, limit=160):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def cookie(headers, name):
    for line in headers.get("set-cookie", []):
        pair = line.split(";")[0]
        key, _, value = pair.partition("=")
        if key.strip().endswith(name) and value:
            return value
    return None


SAME_SITE = {"Sec-Fetch-Site": "same-origin", "Origin": ORIGIN}


def login(username, password, source=None, extra=None):
    headers = dict(SAME_SITE, **{"Content-Type": "application/json"}, **(extra or {}))
    body = json.dumps({"username": username, "password": password}).encode()
    return request("POST", "/api/auth/login", headers, body, source)


def signed_in(username, password):
    status, headers, text = login(username, password)
    if status != 200:
        sys.exit(f"cannot sign in as {username}: {status} {short(text)}")
    return json.loads(text)["access_token"], cookie(headers, "tf_refresh"), cookie(headers, "tf_session")


def rss():
    if not PID:
        return "n/a (set PROBE_PID)"
    with open(f"/proc/{PID}/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return f"{int(line.split()[1]) // 1024} MiB"


def new_client():
    started = time.time()
    try:
        status, _, _ = request("GET", "/healthz")
        return f"{status} in {(time.time() - started) * 1000:.0f} ms"
    except OSError as error:
        return f"no answer ({error}) after {time.time() - started:.1f} s"


print(f"# Probe of {BASE}, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")

alice_token, alice_refresh, alice_session = signed_in("alice", "wonderland")
admin_token, admin_refresh, admin_session = signed_in("admin", "admin-secret")

attack("Session fixation: alice refreshes with the session cookie of admin's session planted")
status, headers, text = request("POST", "/api/auth/refresh", dict(
    SAME_SITE, Cookie=f"tf_refresh={alice_refresh}; tf_session={admin_session}"))
alice_refresh = cookie(headers, "tf_refresh") or alice_refresh
given = cookie(headers, "tf_session")
say(f"refresh: {status}; session cookie given: "
    f"{'the planted one (adopted)' if given == admin_session else 'a new one'}")
status, _, page = request("GET", "/", {"Cookie": f"tf_session={admin_session}"})
say(f"GET / with the planted cookie: {status}, shows alice's dashboard: {'requests today' in page}")
status, _, _ = request("POST", "/api/auth/logout", dict(SAME_SITE, Cookie=f"tf_session={admin_session}"))
status, headers, _ = request("POST", "/api/auth/refresh", dict(SAME_SITE, Cookie=f"tf_refresh={alice_refresh}"))
alice_refresh = cookie(headers, "tf_refresh") or alice_refresh
say(f"the planted cookie signs out; alice's next refresh: {status}")
# Whatever that did to alice's session, the probes below start from a fresh one.
alice_token, alice_refresh, alice_session = signed_in("alice", "wonderland")

attack("Session id after a refresh")
token, refresh, session = signed_in("alice", "wonderland")
status, headers, _ = request("POST", "/api/auth/refresh", dict(
    SAME_SITE, Cookie=f"tf_refresh={refresh}; tf_session={session}"))
say(f"refresh: {status}; session id {'unchanged' if cookie(headers, 'tf_session') in (None, session) else 'cycled'}")

attack("Two cookies of one name")
for jar in [f"tf_refresh=planted; tf_refresh={alice_refresh}",
            f"tf_refresh={alice_refresh}; tf_refresh=planted",
            "tf_session=one; tf_session=two"]:
    status, _, text = request("POST", "/api/auth/refresh", dict(SAME_SITE, Cookie=jar))
    say(f"{jar.replace(alice_refresh, '<alice>')}: {status} {short(text)}")

attack("Server functions: bodies they cannot decode")
for body, kind in [(b"\xff\xfe\xfd", "not UTF-8"), (b"a=1&a=2", "a repeated key"),
                   (b"username[]=x", "a nested key")]:
    status, _, text = request("POST", "/api/fn/items", {
        "Authorization": f"Bearer {alice_token}",
        "Content-Type": "application/x-www-form-urlencoded"}, body)
    say(f"{kind}: {status} {short(text)}")

attack("422 answers: is the input echoed?")
status, _, text = request("POST", "/api/demo/faults", {
    "Authorization": f"Bearer {alice_token}", "Content-Type": "application/json"},
    json.dumps({"latency_ms": "A" * 300}).encode())
say(f"latency_ms = 300 × 'A': {status} {short(text)}")
status, _, text = request("POST", "/api/demo/faults", {
    "Authorization": f"Bearer {alice_token}", "Content-Type": "application/json"}, b"12345678987654321")
say(f"a bare number: {status} {short(text)}")

attack("Security headers")
status, headers, _ = request("GET", "/login")
for name in ["content-security-policy", "x-frame-options", "x-content-type-options",
             "referrer-policy", "cache-control"]:
    say(f"GET /login {name}: {headers.get(name, ['(none)'])[0]}")
for path in ["/api/me", "/api/items"]:
    status, headers, _ = request("GET", path, {"Authorization": f"Bearer {alice_token}"})
    say(f"GET {path} (signed in): {status}, cache-control: {headers.get('cache-control', ['(none)'])[0]}")

attack("Static files: methods other than GET and HEAD")
for method in ["PUT", "DELETE", "TRACE", "GET"]:
    status, headers, _ = request(method, "/favicon.svg", body=b"x" if method == "PUT" else b"")
    say(f"{method} /favicon.svg: {status} {headers.get('allow', [''])[0]}")

if SECRET:
    def derive(purpose):
        return hmac.new(SECRET.encode(), b"tokenflight/" + purpose.encode(), hashlib.sha256).digest()

    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    access_key = derive("access-token")
    kid = hashlib.sha256(b"tokenflight/kid/" + access_key).digest()[:8].hex()

    def mint(claims, header_extra=None):
        header = dict({"alg": "HS256", "typ": "at+jwt", "kid": kid}, **(header_extra or {}))
        signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
        signature = hmac.new(access_key, signing_input.encode(), hashlib.sha256).digest()
        return signing_input + "." + b64(signature)

    def claims_of(token):
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))

    attack("With the key in hand: forged access tokens")
    alice, admin = claims_of(alice_token), claims_of(admin_token)
    now = int(time.time())
    cases = [
        # Since issue #32 no token key derives from JWT_SECRET (401 expected, unless the
        # server started as an upgrade of a store with sessions less than a token lifetime ago).
        ("alice's claims re-signed with the secret's derived key", mint(alice), "/api/me"),
        ("sub=admin, sid of no session", mint(dict(admin, sid="no-such-session")), "/api/admin/stats"),
        ("sub=admin, sid of alice's session", mint(dict(alice, sub=admin["sub"])), "/api/admin/stats"),
        ("nbf an hour ahead", mint(dict(alice, nbf=now + 3600)), "/api/me"),
        ("iat an hour ahead", mint(dict(alice, iat=now + 3600)), "/api/me"),
        ("crit header [\"exp\"]", mint(alice, {"crit": ["exp"]}), "/api/me"),
    ]
    for title, token, path in cases:
        status, _, text = request("GET", path, {"Authorization": f"Bearer {token}"})
        say(f"{title}: GET {path} {status} {short(text, 90)}")

    attack("With the key in hand: refresh generations spelled another way")
    refresh_key = derive("refresh-credential")
    _, refresh, _ = signed_in("alice", "wonderland")
    session_id = refresh.split(".")[0]
    # u64::MAX first, while the family is at generation 0: wrapped, it reads as "the one before".
    for generation in ["18446744073709551615", "+0", "00"]:
        payload = f"{session_id}.{generation}"
        mac = b64(hmac.new(refresh_key, payload.encode(), hashlib.sha256).digest())
        status, _, text = request("POST", "/api/auth/refresh", dict(SAME_SITE, Cookie=f"tf_refresh={payload}.{mac}"))
        say(f"generation {generation}: {status} {short(text, 90)}")
else:
    attack("With the key in hand (skipped: set PROBE_JWT_SECRET)")

if STORE_FILE:
    attack("The store file's permissions")
    for suffix in ["", "-wal", "-shm"]:
        path = STORE_FILE + suffix
        if os.path.exists(path):
            say(f"{path}: {oct(os.stat(path).st_mode & 0o777)}")

attack(f"Slow connections: {HELD} half-sent request heads")
say(f"server memory before: {rss()}")
held, failed, started = [], 0, time.time()
for _ in range(HELD):
    try:
        sock = socket.create_connection((HOST, PORT), timeout=5)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: probe\r\nX-Wait: ")
        held.append(sock)
    except OSError:
        failed += 1
say(f"opened {len(held)} ({failed} failed) in {time.time() - started:.1f} s")
say(f"a new client meanwhile: {new_client()}")
say(f"server memory while held: {rss()}")
deadline = time.time() + 15
while time.time() < deadline:
    time.sleep(1)
    still = 0
    for sock in held:
        sock.setblocking(False)
        try:
            if sock.recv(1) != b"":
                still += 1
        except BlockingIOError:
            still += 1
        except OSError:
            pass
    if still == 0:
        break
say(f"still open {time.time() - started:.0f} s after the first was opened: {still}")
for sock in held:
    sock.close()
time.sleep(3)
say(f"a new client after: {new_client()}")
say(f"server memory 3 s after they closed: {rss()}")

attack("Idle keep-alive connection")
sock = socket.create_connection((HOST, PORT), timeout=60)
sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: probe\r\n\r\n")
sock.recv(4096)
started = time.time()
try:
    while sock.recv(4096):
        pass
    say(f"closed by the server {time.time() - started:.1f} s after its answer")
except OSError as error:
    say(f"still open after {time.time() - started:.0f} s ({error})")
sock.close()

attack("Cross-site sign-ins from a page the victim visits, then the victim's real sign-in")
cross = {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example",
         "Content-Type": "application/json"}
body = json.dumps({"username": "alice", "password": "guess"}).encode()
codes = [request("POST", "/api/auth/login", cross, body)[0] for _ in range(61)]
say(f"61 cross-site posts: {codes.count(403)} × 403, {codes.count(429)} × 429")
say(f"the real sign-in afterwards: {login('alice', 'wonderland')[0]}")

if HOST in ("127.0.0.1", "localhost", "::1"):
    attack("One IPv4 client spends its sign-in quota: is another IPv4 client throttled too?")
    # Made-up names, so only the per-address quota counts (not a per-account lockout).
    # Until its first 429 (a sign-in takes a while, and the quota refills one a second).
    codes = []
    while 429 not in codes and len(codes) < 300:
        codes.append(login(f"nobody{len(codes)}", "guess", source="127.0.0.2")[0])
    say(f"127.0.0.2: {codes.count(401)} × 401, then {codes.count(429)} × 429")
    say(f"127.0.0.3, one sign-in: {login('nobody-else', 'guess', source='127.0.0.3')[0]}")
PY
