#!/usr/bin/python3
"""tests/integration/gateway_auth.py — the identity provider and API client side of
gateway_auth_test.sh (Debian's python3-jwt and python3-cryptography; run with /usr/bin/python3).

  keys DIR                 fresh RS256 and ES256 keys of a test provider and a stranger's RSA key
                           in DIR; DIR/jwks.json holds the provider's public keys
  rotate DIR               the provider adds a new RSA key (kid rsa-3) to DIR/jwks.json
  serve DIR PORT           serve DIR/jwks.json at http://127.0.0.1:PORT/jwks.json until killed
  mint DIR KIND ISS AUD    a token on stdout; KIND: rs256, es256, stranger (a key the provider
                           never published), rotated (the key of rotate), expired, wrong-aud,
                           wrong-iss (claims changed),
                           hs256-other (HS256 under another secret)
  openapi URL DOCS TOKEN   checks the gateway's OpenAPI document: structure (every operation
                           has responses, every $ref resolves, every path parameter declared),
                           every row of the API table in DOCS (docs/gateway.md) described, and
                           every path answering a suitable request (ids of the demo directory,
                           an admin's TOKEN, a router running for explain) with something
                           other than 404 or 5xx
The times of the tokens are the real clock's: the gateway checks them against its own clock,
with the skew documented, and the margins here (an hour) are far beyond any skew.
"""
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from http.server import HTTPServer, SimpleHTTPRequestHandler

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa


def pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def keys(d):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for name, k in (("rsa", rsa_key), ("ec", ec_key), ("stranger", stranger)):
        with open(f"{d}/{name}.pem", "wb") as f:
            f.write(pem(k))
    pub_rsa = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    pub_ec = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key()))
    pub_rsa.update(kid="rsa-1", use="sig", alg="RS256")
    pub_ec.update(kid="ec-1", use="sig", alg="ES256")
    with open(f"{d}/jwks.json", "w") as f:
        json.dump({"keys": [pub_rsa, pub_ec]}, f)


def rotate(d):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with open(f"{d}/rotated.pem", "wb") as f:
        f.write(pem(key))
    pub = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    pub.update(kid="rsa-3", use="sig", alg="RS256")
    with open(f"{d}/jwks.json") as f:
        jwks = json.load(f)
    jwks["keys"].append(pub)
    with open(f"{d}/jwks.json.new", "w") as f:
        json.dump(jwks, f)
    os.replace(f"{d}/jwks.json.new", f"{d}/jwks.json")


def serve(d, port):
    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=d, **kw)

        def log_message(self, *a):
            pass
    HTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()


def mint(d, kind, iss, aud):
    now = int(time.time())
    claims = {"iss": iss, "aud": aud, "sub": "oidc-bob-1", "iat": now, "nbf": now - 5, "exp": now + 3600,
              "preferred_username": "bob", "roles": ["ringway-supervisor"], "ringway_groups": ["helpdesk"]}
    key, alg, kid = open(f"{d}/rsa.pem", "rb").read(), "RS256", "rsa-1"
    if kind == "es256":
        key, alg, kid = open(f"{d}/ec.pem", "rb").read(), "ES256", "ec-1"
    elif kind == "stranger":
        key, kid = open(f"{d}/stranger.pem", "rb").read(), "rsa-2"
    elif kind == "rotated":
        key, kid = open(f"{d}/rotated.pem", "rb").read(), "rsa-3"
    elif kind == "expired":
        claims.update(iat=now - 7200, nbf=now - 7200, exp=now - 3600)
    elif kind == "wrong-aud":
        claims["aud"] = "another-application"
    elif kind == "wrong-iss":
        claims["iss"] = "https://attacker.invalid/realms/ringway"
    elif kind == "hs256-other":
        claims.update(iss="ringway-gateway", aud="ringway", sub="admin", gen=0)
        key, alg, kid = "another-secret-of-at-least-thirty-two-characters", "HS256", None
    elif kind != "rs256":
        sys.exit(f"unknown kind {kind}")
    print(jwt.encode(claims, key, algorithm=alg, headers={"kid": kid} if kid else None))


# ---- the OpenAPI document -----------------------------------------------------------------------
METHODS = ("get", "put", "post", "delete", "patch")
failures = []


def fail(msg):
    failures.append(msg)
    print(f"FAIL: {msg}", file=sys.stderr)


def resolve(doc, ref):
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def walk_refs(doc, node, where):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and (not ref.startswith("#/") or resolve(doc, ref) is None):
            fail(f"{where}: $ref {ref} does not resolve")
        for k, v in node.items():
            walk_refs(doc, v, f"{where}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            walk_refs(doc, v, f"{where}/{i}")


def deref(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        node = resolve(doc, node["$ref"]) or {}
    return node


def check_structure(doc):
    if not str(doc.get("openapi", "")).startswith("3.0"):
        fail("openapi is not 3.0.x")
    if not doc.get("info", {}).get("title") or not doc.get("info", {}).get("version"):
        fail("info.title and info.version are required")
    walk_refs(doc, doc, "#")
    for path, item in doc.get("paths", {}).items():
        ops = [m for m in METHODS if m in item]
        if not ops:
            fail(f"{path}: no operation")
        declared = {deref(doc, p).get("name") for p in item.get("parameters", []) if deref(doc, p).get("in") == "path"}
        for m in ops:
            op = item[m]
            if not op.get("responses"):
                fail(f"{m.upper()} {path}: no responses")
            names = declared | {deref(doc, p).get("name") for p in op.get("parameters", [])
                                if deref(doc, p).get("in") == "path"}
            for want in re.findall(r"{(\w+)}", path):
                if want not in names:
                    fail(f"{m.upper()} {path}: path parameter {want} not declared")


def check_docs_table(doc, docs_path):
    """Every method and path of docs/gateway.md's API table is in the document."""
    rows = 0
    for line in open(docs_path, encoding="utf-8"):
        m = re.match(r"^\|\s*([A-Z/]+)\s*\|\s*(/api/v1/\S+)\s*\|", line)
        if not m:
            continue
        path = m.group(2).split("?")[0]
        variants = [path]
        opt = re.match(r"^(.*)\[(/.*)\]$", path)          # /api/v1/trunks[/{name}]
        if opt:
            variants = [opt.group(1), opt.group(1) + opt.group(2)]
        for v in variants:
            for method in m.group(1).split("/"):
                rows += 1
                item = doc.get("paths", {}).get(v)
                if item is None:
                    fail(f"{v} (docs/gateway.md) is not in openapi.json")
                elif method.lower() not in item and not (opt and v == variants[0] and method != "GET"):
                    fail(f"{method} {v} (docs/gateway.md) is not in openapi.json")
    if rows == 0:
        fail("no API table found in docs/gateway.md")
    return rows


SAMPLE = {"id": None, "user": "bob", "device": "softphone", "op": "login", "name": "uk-main"}


def fill(path):
    group = path.startswith("/api/v1/groups/")
    return re.sub(r"{(\w+)}", lambda m: (("helpdesk" if group else "alice") if m.group(1) == "id"
                                          else SAMPLE.get(m.group(1), "x")), path)


def probe(base, token, method, path):
    url = base + fill(path)
    data = None
    headers = {"Authorization": f"Bearer {token}"}
    if method in ("put", "post", "patch"):
        data = b"{}"
        headers["Content-Type"] = "application/json"
    if method in ("put", "delete"):
        headers["If-Match"] = '"stale-version"'         # a change must not go through
    req = urllib.request.Request(url, data=data, method=method.upper(), headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:    # an event stream: the headers only
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def openapi(url, docs_path, token):
    with urllib.request.urlopen(url, timeout=10) as r:
        if not r.headers.get("Content-Type", "").startswith("application/json"):
            fail("openapi.json is not served as application/json")
        doc = json.load(r)
    check_structure(doc)
    rows = check_docs_table(doc, docs_path)
    base = url.split("/api/")[0]
    probed = 0
    order = sorted(((m, p) for p, item in doc.get("paths", {}).items() for m in METHODS if m in item),
                   key=lambda mp: (mp[0] == "delete", mp[0] != "get", mp[1]))
    for method, path in order:
        if path == "/api/v1/login":
            continue                                    # its own checks, not rate-limited again here
        status = probe(base, token, method, path)
        probed += 1
        if status == 404 or status >= 500:
            fail(f"{method.upper()} {fill(path)} answered {status}")
    print(f"openapi: {len(doc.get('paths', {}))} paths, {probed} operations probed, "
          f"{rows} rows of docs/gateway.md described, {len(failures)} failures")
    return 0 if not failures else 1


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "keys":
        keys(*args)
    elif cmd == "rotate":
        rotate(*args)
    elif cmd == "serve":
        serve(*args)
    elif cmd == "mint":
        mint(*args)
    elif cmd == "openapi":
        sys.exit(openapi(*args))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
