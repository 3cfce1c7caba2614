#!/usr/bin/env python3
"""Security tests of `hisn server` through its HTTPS API, printed as TAP.

A real server (its own data folder under /tmp, every port picked by the
kernel) and curl as the only client:
  - no access without credentials: every protected route of the route table
    (read from src/api/api.c) answers 401 with the one error shape;
  - a viewer reads but changes nothing (every route above its role is 403,
    and the state is checked unchanged afterwards; the same requests made by
    a user with the role succeed, so the 403s are not bad requests);
  - tenants: two tenants with their own users, events (ingested with their
    own tokens, and syslog for the default tenant) and alerts never see each
    other's events, alerts, users, tokens or audit entries;
  - malformed and oversized requests are refused cleanly (400 with the byte
    offset, 413, 415, 431/414, 404/405) and the server still answers.
Usage:
  server_security.py HISN SOURCE_ROOT
"""
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from hisnproc import (ServerProc, bail_on_signals, check, end_all, plan, procs, results,  # noqa: F401
                      sanitizer_checks, wait_for)

HISN, ROOT = sys.argv[1], sys.argv[2]


# ---- small helpers (TAP, polling, the server process: hisnproc.py) -------------

class Cred:
    """Credentials for curl: a bearer token, or a session (cookie jar + CSRF)."""

    def __init__(self, name, token=None, jar=None, csrf=None, tenant=None, uid=None):
        self.name, self.token, self.jar, self.csrf = name, token, jar, csrf
        self.tenant, self.uid, self.tid = tenant, uid, None

    def __repr__(self):
        return f'<{self.name} {"token" if self.token else "session"}>'


class Resp:
    def __init__(self, code, headers, raw):
        self.code, self.h, self.raw = code, headers, raw
        self.text = raw.decode('utf-8', errors='replace')
        try:
            self.j = json.loads(self.text) if self.text else None
        except ValueError:
            self.j = None

    def __repr__(self):
        return f'{self.code} {self.text[:600]}'


class Server(ServerProc):
    def __init__(self, tmp, name, *extra):
        self.tmp = tmp
        self.data = os.path.join(tmp, name)
        self.args = [HISN, 'server', '--data', self.data,
                     '--syslog', 'tcp://127.0.0.1:0', '--relp', '127.0.0.1:0',
                     '--http', 'https://127.0.0.1:0'] + list(extra)
        self.n = 0
        ServerProc.__init__(self, self.args, procs=procs)
        self.base = f"https://127.0.0.1:{self.ports.get('https', 0)}"
        self.cacert = os.path.join(self.data, 'tls', 'server.crt')

    def up(self):
        return self.proc.poll() is None and 'https' in self.ports

    def curl(self, method, path, body=None, cred=None, ctype=None, headers=(), csrf=True,
             extra=(), timeout=120):
        """One request; body is str or bytes (sent from a file). No Content-Type
        unless ctype is given (curl's form default is removed)."""
        self.n += 1
        stem = os.path.join(self.tmp, f'curl{self.n}')
        cmd = ['curl', '-sS', '--cacert', self.cacert, '--max-time', str(timeout),
               '-X', method, '-D', stem + '.h', '-o', stem + '.o', '-w', '%{http_code}']
        if body is not None:
            with open(stem + '.b', 'wb') as f:
                f.write(body.encode() if isinstance(body, str) else body)
            cmd += ['--data-binary', '@' + stem + '.b']
        cmd += ['-H', 'Content-Type: ' + ctype if ctype else 'Content-Type:']
        if cred is not None and cred.token:
            cmd += ['-H', 'Authorization: Bearer ' + cred.token]
        elif cred is not None and cred.jar:
            cmd += ['-b', cred.jar]
            if csrf and cred.csrf and method not in ('GET', 'HEAD'):
                cmd += ['-H', 'X-CSRF-Token: ' + cred.csrf]
        for h in headers:
            cmd += ['-H', h]
        cmd += list(extra) + [self.base + path]
        try:
            r = subprocess.run(cmd, capture_output=True, timeout=timeout + 30)
            code = int(r.stdout or b'0')
        except (subprocess.TimeoutExpired, ValueError):
            code = 0
        hdrs = {}
        try:
            blocks = open(stem + '.h', 'rb').read().decode('latin-1').split('\r\n\r\n')
            last = [b for b in blocks if b.startswith('HTTP/')][-1]
            for line in last.split('\r\n')[1:]:
                k, _, v = line.partition(':')
                hdrs[k.strip().lower()] = v.strip()
        except (OSError, IndexError):
            pass
        try:
            raw = open(stem + '.o', 'rb').read()
        except OSError:
            raw = b''
        for ext in ('.h', '.o', '.b'):
            try:
                os.unlink(stem + ext)
            except OSError:
                pass
        return Resp(code, hdrs, raw)

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(180)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)
            return None


ERROR_CODES = {400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found',
               405: 'method_not_allowed', 409: 'conflict', 413: 'payload_too_large',
               415: 'unsupported_media_type', 429: 'too_many_requests', 500: 'internal',
               503: 'unavailable'}


def is_error(r, status):
    """The one error shape: {"error":{"code","message","status"}}, JSON type."""
    j = r.j
    return (r.code == status and isinstance(j, dict) and list(j) == ['error']
            and isinstance(j['error'], dict) and set(j['error']) == {'code', 'message', 'status'}
            and j['error']['status'] == status and j['error']['code'] == ERROR_CODES[status]
            and isinstance(j['error']['message'], str) and j['error']['message'] != ''
            and r.h.get('content-type', '').startswith('application/json'))


def message(r):
    try:
        return r.j['error']['message']
    except (TypeError, KeyError):
        return ''


# ---- the route table --------------------------------------------------------------

ROLES = {'0': 0, 'STORE_ROLE_VIEWER': 1, 'STORE_ROLE_ANALYST': 2, 'STORE_ROLE_ADMIN': 3}


def read_routes():
    """(method, path, min_role, flags) of every route in src/api/api.c."""
    src = open(os.path.join(ROOT, 'src', 'api', 'api.c')).read()
    table = src[src.index('routes[] = {'):]
    table = table[:table.index('};')]
    out = []
    for m in re.finditer(r'\{"([A-Z]+)",\s*"([^"]+)",\s*(\w+),\s*([\w\s|]+?),\s*api_h_\w+\}', table):
        flags = {f.strip() for f in m.group(4).split('|')} - {'0'}
        out.append((m.group(1), m.group(2), ROLES[m.group(3)], flags))
    return out


# ---- accounts -------------------------------------------------------------------

def password():
    return 'pw-' + secrets.token_urlsafe(18)


def login(s, name, pw):
    jar = os.path.join(s.tmp, f'jar-{name}')
    r = s.curl('POST', '/api/v1/auth/login', json.dumps({'username': name, 'password': pw}),
               ctype='application/json', extra=['-c', jar])
    j = r.j if isinstance(r.j, dict) else {}
    return r, Cred(name, jar=jar, csrf=j.get('csrf_token'), tenant=j.get('tenant'), uid=j.get('user_id'))


def token_of(s, sess, name='tests'):
    r = s.curl('POST', '/api/v1/tokens', json.dumps({'name': name}), cred=sess, ctype='application/json')
    j = r.j if isinstance(r.j, dict) else {}
    return r, Cred(sess.name, token=j.get('token'), tenant=sess.tenant, uid=sess.uid), j.get('id')


def make_user(s, admin, name, role, tenant=None):
    """Creates a user (in ?tenant= when given), logs in, makes a token."""
    pw = password()
    q = f'?tenant={tenant}' if tenant else ''
    r = s.curl('POST', '/api/v1/users' + q, json.dumps({'name': name, 'password': pw, 'role': role}),
               cred=admin, ctype='application/json')
    lr, sess = login(s, name, pw)
    tr, tok, tid = token_of(s, sess)
    tok.tid = tid
    ok = r.code == 201 and lr.code == 200 and tr.code == 201 and tok.token
    return ok, (r, lr, tr), sess, tok


# ---- events and alerts ------------------------------------------------------------

def journald(host, ident, msg, pid=4242):
    """A `journalctl -o json` record: the server parses its message as syslog's."""
    return {'__REALTIME_TIMESTAMP': str(int(time.time() * 1e6)), '_HOSTNAME': host,
            'SYSLOG_IDENTIFIER': ident, '_PID': str(pid), 'MESSAGE': msg,
            'PRIORITY': '6', 'SYSLOG_FACILITY': '10'}


def useradd(host, name):
    return journald(host, 'useradd', f'new user: name={name}, UID=1001, GID=1001, home=/home/{name}, '
                    'shell=/bin/bash, from=/dev/pts/0')


def ndjson(docs):
    return ''.join(json.dumps(d) + '\n' for d in docs)


def ingest(s, cred, docs, query=''):
    return s.curl('POST', '/api/v1/ingest' + query, ndjson(docs), cred=cred, ctype='application/x-ndjson')


def all_pages(s, cred, path, key, query=''):
    """Every item of a paginated list, or None when a page is not a 200."""
    items, cursor = [], None
    for _ in range(100):
        q = query + ('&' if query else '') + 'limit=1000' + (f'&cursor={cursor}' if cursor else '')
        r = s.curl('GET', f'{path}?{q}', cred=cred)
        if r.code != 200 or not isinstance(r.j, dict) or not isinstance(r.j.get(key), list):
            return None
        items += r.j[key]
        cursor = r.j.get('next_cursor')
        if not cursor:
            return items
    return None


def search(s, cred, query):
    return all_pages(s, cred, '/api/v1/events', 'events', query)


def alerts(s, cred, query=''):
    return all_pages(s, cred, '/api/v1/alerts', 'alerts', query)


# ---- the checks -----------------------------------------------------------------

class World:
    """What the checks share: the server, the routes, users, and fixtures."""


def setup(w):
    s = w.s
    pw = open(os.path.join(s.data, 'initial-admin-password')).read().strip()
    r, w.root_sess = login(s, 'admin', pw)
    tr, w.root, w.root_token_id = token_of(s, w.root_sess, 'root')
    ok1, d1, w.vera_sess, w.vera = make_user(s, w.root, 'vera', 'viewer')
    ok2, d2, w.ana_sess, w.ana = make_user(s, w.root, 'ana', 'analyst')
    w.marker_a = 'alpha' + secrets.token_hex(6)
    docs = [{'@timestamp': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
             'message': f'{w.marker_a} plain event {i}', 'host': {'name': 'a-host'}} for i in range(3)]
    docs.append(useradd('shared-host', w.marker_a))
    ir = ingest(s, w.ana, docs)
    w.alerts_a = wait_for(lambda: [a for a in (alerts(s, w.root) or [])
                                   if a.get('rule_title') == 'New local user created'], 30)
    rr = s.curl('GET', '/api/v1/rules', cred=w.root)
    rules = rr.j.get('rules', []) if isinstance(rr.j, dict) else []
    w.rule = next((x for x in rules if x.get('title') == 'New local user created'), {})
    ok = (r.code == 200 and tr.code == 201 and w.root.token and ok1 and ok2 and ir.code == 200
          and (ir.j or {}).get('accepted') == 4 and w.alerts_a and w.rule.get('enabled') is True)
    check(ok, 'set-up: admin, viewer and analyst log in and get tokens; tenant 1 events and an alert ingested',
          (r, tr, d1, d2, ir, w.alerts_a, w.rule))
    w.alert_a = w.alerts_a[0] if w.alerts_a else {}
    w.events_a = search(s, w.root, 'q=' + w.marker_a) or []
    return ok


def fill(w, path):
    ids = {'/api/v1/events/{id}': (w.events_a[0]['id'] if w.events_a else 1),
           '/api/v1/alerts/{id}': w.alert_a.get('id', 1),
           '/api/v1/rules/{id}': w.rule.get('id', 'x'),
           '/api/v1/tokens/{id}': w.root_token_id or 1,
           '/api/v1/users/{id}': 1}
    return path.replace('{id}', str(ids.get(path, 1)))


def sample_body(path, flags):
    if 'API_R_YAML' in flags:
        return RULE_YAML, 'application/yaml'
    if 'API_R_INGEST' in flags:
        return '{"message":"x"}\n', 'application/x-ndjson'
    if 'API_R_JSON' in flags:
        return '{}', 'application/json'
    return None, None


RULE_YAML = """title: Viewer upload canary
id: 4b0a9c22-0d3e-4c57-9b1e-2f6a8d3c5e71
status: test
author: hisn tests
logsource:
    product: linux
detection:
    keywords:
        - viewer-upload-canary
    condition: keywords
level: low
"""


def test_no_credentials(w):
    s = w.s
    # a revoked token: made, then revoked
    _, tmp_tok, tid = token_of(s, w.root_sess, 'to-revoke')
    rv = s.curl('DELETE', f'/api/v1/tokens/{tid}', cred=w.root_sess)
    works = s.curl('GET', '/api/v1/auth/me', cred=tmp_tok)
    check(rv.code == 200 and works.code == 401, 'a revoked token stops working at once', (rv, works))
    bad = [('none', []),
           ('garbage bearer', ['Authorization: Bearer nonsense']),
           ('unknown well-formed token', ['Authorization: Bearer hisn_' + secrets.token_urlsafe(32)[:43]]),
           ('revoked token', ['Authorization: Bearer ' + str(tmp_tok.token)]),
           ('basic auth', ['Authorization: Basic YWRtaW46' + 'eA==']),
           ('forged session cookie', ['Cookie: hisn_session=' + secrets.token_urlsafe(32)[:43]]),
           ('valid cookie name, bad shape', ['Cookie: hisn_session=../../etc/passwd'])]
    public = [(m, p) for m, p, role, fl in w.routes if 'API_R_PUBLIC' in fl]
    for method, path, role, flags in w.routes:
        if 'API_R_PUBLIC' in flags:
            continue
        body, ctype = sample_body(path, flags)
        fails = []
        for what, hdrs in bad:
            r = s.curl(method, fill(w, path), body, ctype=ctype, headers=hdrs)
            if not is_error(r, 401) or 'bearer' not in r.h.get('www-authenticate', '').lower():
                fails.append(f'{what}: {r} {r.h.get("www-authenticate")}')
        check(not fails, f'{method} {path} without valid credentials: 401, one error shape', '\n'.join(fails))
    r = s.curl('GET', '/api/v1/auth/me', cred=w.ana_sess, headers=['Authorization: Bearer nonsense'])
    r2 = s.curl('GET', '/api/v1/auth/me', cred=w.ana_sess)
    check(is_error(r, 401) and r2.code == 200,
          'a valid session cookie with an invalid Authorization header is 401 (no fallback to the cookie)', (r, r2))
    r = s.curl('GET', '/api/v1/health')
    r2 = s.curl('GET', '/api/v1/health', headers=['Authorization: Bearer nonsense'])
    r3 = s.curl('GET', '/api/v1/health', cred=w.root)
    check(r.code == 200 and r.j == {'status': 'ok'} and r2.code == 200 and r2.j == {'status': 'ok'}
          and r3.code == 200 and isinstance(r3.j, dict) and len(r3.j) > 1,
          'health is public but gives its details only with valid credentials', (r, r2, r3))
    check(('GET', '/api/v1/health') in public and ('POST', '/api/v1/auth/login') in public and len(public) == 2,
          'only health and login are public in the route table', public)
    # the body of an unauthenticated request is not read: a huge one is a 401, not a 413
    big = b'{"message":"x"}\n' * ((17 << 20) // 16)
    r = s.curl('POST', '/api/v1/ingest', big, ctype='application/x-ndjson')
    check(is_error(r, 401), 'an unauthenticated 17 MiB ingest is refused 401 (before its body)', r)
    # a wrong password and an unknown user: the same 401
    r1 = s.curl('POST', '/api/v1/auth/login', json.dumps({'username': 'vera', 'password': 'wrong-password-1'}),
                ctype='application/json')
    r2 = s.curl('POST', '/api/v1/auth/login', json.dumps({'username': 'nobody', 'password': 'wrong-password-1'}),
                ctype='application/json')
    check(is_error(r1, 401) and is_error(r2, 401) and message(r1) == message(r2) and 'set-cookie' not in r1.h,
          'login with a wrong password or an unknown user: the same 401, no cookie', (r1, r2))
    # a session must send its CSRF token with a change
    r1 = s.curl('POST', '/api/v1/tokens', '{"name":"nocsrf"}', cred=w.ana_sess, ctype='application/json',
                csrf=False)
    r2 = s.curl('POST', '/api/v1/tokens', '{"name":"badcsrf"}', cred=w.ana_sess, ctype='application/json',
                csrf=False, headers=['X-CSRF-Token: ' + '0' * 64])
    lst = s.curl('GET', '/api/v1/tokens', cred=w.ana)
    names = [t.get('name') for t in (lst.j or {}).get('tokens', [])] if isinstance(lst.j, dict) else None
    check(is_error(r1, 403) and is_error(r2, 403) and names is not None and 'nocsrf' not in names
          and 'badcsrf' not in names, 'a session change without or with a wrong X-CSRF-Token is 403, nothing made',
          (r1, r2, names))


def viewer_requests(w):
    """Every route above the viewer's role, with a body a user with the role
    could send successfully: (method, path, body, ctype)."""
    out = []
    for method, path, role, flags in w.routes:
        if 'API_R_PUBLIC' in flags or (role <= 1 and 'API_R_DEFTENANT' not in flags):
            continue
        body, ctype = sample_body(path, flags)
        if path == '/api/v1/alerts/{id}':
            body = '{"status":"acknowledged","assignee":"vera"}'
        elif path == '/api/v1/rules/{id}':
            body = '{"enabled":false}'
        elif path == '/api/v1/ingest':
            body = json.dumps({'message': w.viewer_marker + ' ingested by a viewer'}) + '\n'
        elif path == '/api/v1/users' and method == 'POST':
            body = json.dumps({'name': 'evil-' + w.viewer_marker, 'password': password(), 'role': 'admin'})
        elif path == '/api/v1/users/{id}':
            body = '{"disabled":true}'
        elif path == '/api/v1/tenants' and method == 'POST':
            body = json.dumps({'name': 'evil-' + w.viewer_marker})
        out.append((method, path, body, ctype))
    return out


def test_viewer(w):
    s = w.s
    w.viewer_marker = 'viewer' + secrets.token_hex(5)
    audit_before = all_pages(s, w.root, '/api/v1/audit', 'audit')
    # reads: every GET a viewer may do
    fails = []
    for method, path, role, flags in w.routes:
        if method == 'GET' and role == 1 and 'API_R_DEFTENANT' not in flags:
            for cred in (w.vera, w.vera_sess):
                r = s.curl('GET', fill(w, path), cred=cred)
                if r.code != 200:
                    fails.append(f'{path} {cred}: {r}')
    check(not fails, 'a viewer reads every route of its role (token and session): 200', '\n'.join(fails))
    # changes: every route above the role, token and session (with CSRF)
    reqs = viewer_requests(w)
    for method, path, body, ctype in reqs:
        fails = []
        for cred in (w.vera, w.vera_sess):
            r = s.curl(method, fill(w, path), body, cred=cred, ctype=ctype)
            if not is_error(r, 403):
                fails.append(f'{cred}: {r}')
        check(not fails, f'viewer: {method} {path} is 403', '\n'.join(fails))
    r = s.curl('POST', '/api/v1/tokens', '{"name":"minted"}', cred=w.vera, ctype='application/json')
    check(is_error(r, 403), 'a token cannot mint tokens (POST /tokens with a bearer: 403)', r)
    r = s.curl('DELETE', f'/api/v1/tokens/{w.root_token_id}', cred=w.vera)
    still = s.curl('GET', '/api/v1/auth/me', cred=w.root)
    check(is_error(r, 404) and still.code == 200, "a viewer cannot revoke another user's token (404; it still works)",
          (r, still))
    # nothing changed: alert, rule, users, tenants, events, audit
    a = s.curl('GET', f"/api/v1/alerts/{w.alert_a.get('id')}", cred=w.root)
    rule = s.curl('GET', f"/api/v1/rules/{w.rule.get('id')}", cred=w.root)
    users = s.curl('GET', '/api/v1/users', cred=w.root)
    tenants = s.curl('GET', '/api/v1/tenants', cred=w.root)
    evs = search(s, w.root, 'q=' + w.viewer_marker)
    canary = s.curl('GET', '/api/v1/rules/4b0a9c22-0d3e-4c57-9b1e-2f6a8d3c5e71', cred=w.root)
    root_me = s.curl('GET', '/api/v1/auth/me', cred=w.root)
    audit_after = all_pages(s, w.root, '/api/v1/audit', 'audit')
    seen = {y.get('id') for y in audit_before or []}
    new_audit = [x for x in audit_after or [] if x.get('id') not in seen]
    by_vera = [x for x in new_audit if x.get('user') in (w.vera_sess.uid, 'vera')]
    aj, rj = a.j or {}, rule.j or {}
    unchanged = (a.code == 200 and aj.get('status') == 'new' and aj.get('assignee') is None
                 and rule.code == 200 and rj.get('enabled') is True
                 and users.code == 200 and w.viewer_marker not in users.text
                 and tenants.code == 200 and w.viewer_marker not in tenants.text
                 and evs == [] and canary.code == 404 and root_me.code == 200
                 and audit_before and audit_after is not None and not by_vera)
    check(unchanged, 'after the refused requests nothing changed (alert, rule, users, tenants, events, '
          'uploads, audit log)', (a, rule, users, tenants, evs, canary, by_vera))
    # the same requests by users with the role succeed: the 403s were about the role
    fails = []
    for method, path, body, ctype in reqs:
        if method == 'GET':
            continue
        cred = w.ana if path in ('/api/v1/alerts/{id}', '/api/v1/ingest', '/api/v1/rules/validate') else w.root
        if path == '/api/v1/users/{id}':
            continue  # would disable the admin itself (409); done on another user below
        r = s.curl(method, fill(w, path), body, cred=cred, ctype=ctype)
        if r.code not in (200, 201):
            fails.append(f'{method} {path} {cred}: {r}')
        if path == '/api/v1/rules/{id}':
            r = s.curl(method, fill(w, path), '{"enabled":true}', cred=cred, ctype=ctype)
            if r.code != 200:
                fails.append(f're-enable: {r}')
    r = s.curl('PATCH', f'/api/v1/users/{w.vera_sess.uid}', '{"role":"viewer"}', cred=w.root,
               ctype='application/json')
    if r.code != 200:
        fails.append(f'user patch: {r}')
    check(not fails, 'the same requests by an analyst or an admin succeed (so the 403s were the role)',
          '\n'.join(fails))
    audit = all_pages(s, w.root, '/api/v1/audit', 'audit') or []
    done = {(x.get('user'), x.get('action')) for x in audit if x.get('id') not in seen}
    want = {(w.ana_sess.uid, 'alert.update'), (w.root_sess.uid, 'rule.disable'), (w.root_sess.uid, 'rule.enable'),
            (w.root_sess.uid, 'rules.upload'), (w.root_sess.uid, 'user.create'),
            (w.root_sess.uid, 'tenant.create'), (w.root_sess.uid, 'user.update')}
    check(want <= done and not [x for x in done if x[0] == w.vera_sess.uid],
          'the audit log names each of those changes and its user, and none by the viewer', (sorted(want - done), done))
    evs = search(s, w.root, 'q=' + w.viewer_marker)
    check(evs is not None and len(evs) == 1, "the analyst's ingest of the viewer's body is stored once", evs)


def test_tenants(w):
    s = w.s
    r = s.curl('POST', '/api/v1/tenants', json.dumps({'name': 'tenant-b'}), cred=w.root, ctype='application/json')
    tb = (r.j or {}).get('id') if isinstance(r.j, dict) else None
    ok1, d1, bob_sess, bob = make_user(s, w.root, 'bob', 'admin', tb)
    ok2, d2, bea_sess, bea = make_user(s, w.root, 'bea', 'analyst', tb)
    ok3, d3, bev_sess, bev = make_user(s, w.root, 'bev', 'viewer', tb)
    me = s.curl('GET', '/api/v1/auth/me', cred=bob)
    if not check(r.code == 201 and tb and tb != 1 and ok1 and ok2 and ok3 and (me.j or {}).get('tenant') == tb,
                 'a second tenant and its admin, analyst and viewer are created by the default admin',
                 (r, d1, d2, d3, me)):
        return
    mb = 'bravo' + secrets.token_hex(6)
    docs = [{'@timestamp': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
             'message': f'{mb} plain event {i}', 'host': {'name': 'b-host'}} for i in range(3)]
    docs.append(useradd('shared-host', mb))  # same rule and host as tenant 1's alert
    r = ingest(s, bea, docs)
    check(r.code == 200 and (r.j or {}).get('accepted') == 4, "tenant 2's analyst ingests with its own token", r)
    # a syslog line reaches the default tenant (the server's `tenant` setting)
    ma_net = 'alphanet' + secrets.token_hex(5)
    with socket.create_connection(('127.0.0.1', s.ports['tcp']), timeout=30) as sock:
        sock.sendall(f'<13>Nov 28 05:00:00 a-host app[1]: {ma_net} over syslog\n'.encode())
    net_ev = wait_for(lambda: search(s, w.root, 'q=' + ma_net), 30)
    alerts_b = wait_for(lambda: [a for a in (alerts(s, bob) or []) if a.get('rule_title') == 'New local user created'],
                        30)
    events_b = search(s, bob, 'q=' + mb) or []
    check(net_ev and net_ev[0].get('tenant') == 1 and len(events_b) == 4
          and all(e.get('tenant') == tb for e in events_b)
          and alerts_b and all(a.get('tenant') == tb for a in alerts_b),
          "syslog goes to tenant 1; tenant 2's ingested events and its alert are stored in tenant 2",
          (net_ev, events_b, alerts_b))
    w.events_a = search(s, w.root, 'q=' + w.marker_a) or []
    a_ids = {e['id'] for e in w.events_a} | {e['id'] for e in (net_ev or [])}
    b_ids = {e['id'] for e in events_b}
    alert_a, alert_b = w.alert_a.get('id'), (alerts_b[0].get('id') if alerts_b else None)
    now_a = s.curl('GET', f'/api/v1/alerts/{alert_a}', cred=w.root).j or {}
    check(alert_a != alert_b and alert_b and alerts_b[0].get('count') == 1
          and alerts_b[0].get('host') == 'shared-host' and now_a.get('count') == 1
          and now_a.get('event_ids') == w.alert_a.get('event_ids'),
          "the same rule on the same host name in two tenants makes two alerts (not grouped across tenants)",
          (now_a, alerts_b))
    # positive control: the default admin sees both with ?tenant=all
    both = [e for e in (search(s, w.root, 'tenant=all') or []) if e['id'] in a_ids | b_ids]
    both_alerts = {a.get('id') for a in (alerts(s, w.root, 'tenant=all') or [])}
    only_b = search(s, w.root, f'tenant={tb}') or []
    check(len(both) == len(a_ids) + len(b_ids) and {alert_a, alert_b} <= both_alerts
          and {e['id'] for e in only_b} == b_ids,
          'the default admin sees both tenants with ?tenant=all and tenant 2 alone with ?tenant=2',
          (len(both), len(a_ids), len(b_ids), both_alerts))
    A = {'name': 'tenant 1', 'id': 1, 'markers': [w.marker_a, ma_net], 'events': a_ids, 'alert': alert_a,
         'users': {'admin', 'vera', 'ana'}, 'creds': [w.root, w.ana, w.vera], 'admin': w.root,
         'writer': w.ana, 'token': w.vera, 'user_ids': {w.root_sess.uid, w.vera_sess.uid, w.ana_sess.uid}}
    B = {'name': 'tenant 2', 'id': tb, 'markers': [mb], 'events': b_ids, 'alert': alert_b,
         'users': {'bob', 'bea', 'bev'}, 'creds': [bob, bea, bev], 'admin': bob, 'writer': bea, 'token': bev,
         'user_ids': {bob_sess.uid, bea_sess.uid, bev_sess.uid}}
    before_a = s.curl('GET', f'/api/v1/alerts/{alert_a}', cred=w.root).j
    before_b = s.curl('GET', f'/api/v1/alerts/{alert_b}', cred=bob).j
    for me_, other in ((A, B), (B, A)):
        for cred in me_['creds']:
            who = f"{me_['name']} {cred.name}"
            fails = []
            for m in other['markers']:
                found = search(s, cred, 'q=' + m)
                if found != []:
                    fails.append(f'search q={m}: {found}')
            for m in me_['markers']:
                found = search(s, cred, 'q=' + m)
                if not found:
                    fails.append(f'own search q={m}: {found}')
            listed = search(s, cred, '')
            if listed is None or any(e.get('tenant') != me_['id'] for e in listed) \
                    or not me_['events'] <= {e['id'] for e in listed}:
                fails.append(f'list: {None if listed is None else len(listed)}')
            check(not fails, f"{who}: searches and lists show its own events only", '\n'.join(fails))
            fails = []
            for eid in sorted(other['events']):
                r = s.curl('GET', f'/api/v1/events/{eid}', cred=cred)
                if not is_error(r, 404):
                    fails.append(f'event {eid}: {r}')
            r = s.curl('GET', f"/api/v1/events/{min(me_['events'])}", cred=cred)
            if r.code != 200:
                fails.append(f'own event: {r}')
            check(not fails, f"{who}: the other tenant's events by id are 404 (own: 200)", '\n'.join(fails))
            fails = []
            al = alerts(s, cred)
            if al is None or any(a.get('tenant') != me_['id'] for a in al) \
                    or me_['alert'] not in {a.get('id') for a in al} or other['alert'] in {a.get('id') for a in al}:
                fails.append(f'list: {al}')
            for q in ('host=shared-host', 'rule_id=' + str(w.rule.get('id'))):
                al = alerts(s, cred, q)
                if al is None or {a.get('id') for a in al} != {me_['alert']}:
                    fails.append(f'{q}: {al}')
            r = s.curl('GET', f"/api/v1/alerts/{other['alert']}", cred=cred)
            if not is_error(r, 404):
                fails.append(f'other alert: {r}')
            check(not fails, f"{who}: alert lists, filters and by id show its own alerts only", '\n'.join(fails))
        # changes across tenants are 404 and change nothing
        r1 = s.curl('PATCH', f"/api/v1/alerts/{other['alert']}", '{"status":"closed","close_reason":"x"}',
                    cred=me_['writer'], ctype='application/json')
        victim = sorted(other['user_ids'])[0]
        r2 = s.curl('PATCH', f'/api/v1/users/{victim}', '{"disabled":true}', cred=me_['admin'],
                    ctype='application/json')
        r3 = s.curl('DELETE', f"/api/v1/tokens/{other['token'].tid}", cred=me_['admin'])
        r4 = s.curl('GET', '/api/v1/auth/me', cred=other['token'])
        check(is_error(r1, 404) and is_error(r2, 404) and is_error(r3, 404) and r4.code == 200,
              f"{me_['name']}: changing the other tenant's alert or user, or revoking its token, is 404",
              (r1, r2, r3, r4))
        # users, tokens, audit, tenants of an admin
        adm = me_['admin']
        fails = []
        users = s.curl('GET', '/api/v1/users', cred=adm)
        names = {u.get('name') for u in (users.j or {}).get('users', [])} if isinstance(users.j, dict) else set()
        tens = {u.get('tenant') for u in (users.j or {}).get('users', [])} if isinstance(users.j, dict) else set()
        if users.code != 200 or not me_['users'] <= names or names & other['users'] or tens != {me_['id']}:
            fails.append(f'users: {users}')
        toks = s.curl('GET', '/api/v1/tokens', cred=adm)
        towners = {t.get('user') for t in (toks.j or {}).get('tokens', [])} if isinstance(toks.j, dict) else set()
        if toks.code != 200 or towners & other['user_ids'] or not towners:
            fails.append(f'tokens: {toks}')
        aud = all_pages(s, adm, '/api/v1/audit', 'audit')
        if aud is None or any(x.get('tenant') != me_['id'] for x in aud) or not aud:
            fails.append(f'audit: {aud}')
        check(not fails, f"{me_['name']} admin: users, tokens and audit entries of its own tenant only",
              '\n'.join(fails))
    # the other tenant's alert and users are as they were
    ra = s.curl('GET', f'/api/v1/alerts/{alert_a}', cred=w.root)
    rb = s.curl('GET', f'/api/v1/alerts/{alert_b}', cred=bob)
    users = [s.curl('GET', '/api/v1/auth/me', cred=c).code for c in (w.vera, w.ana, bea, bev)]
    check(ra.code == 200 and ra.j == before_a and rb.code == 200 and rb.j == before_b and users == [200] * 4,
          'after the refused cross-tenant changes both alerts and every user are as they were',
          (ra, before_a, rb, before_b, users))
    # a tenant's users cannot choose another tenant
    fails = []
    for cred in (bob, bea, bev):
        for path in ('/api/v1/events?tenant=1', '/api/v1/alerts?tenant=1', '/api/v1/events?tenant=all',
                     '/api/v1/tenants?tenant=1'):
            r = s.curl('GET', path, cred=cred)
            if not is_error(r, 403):
                fails.append(f'{cred} {path}: {r}')
    for path in ('/api/v1/users?tenant=1', '/api/v1/audit?tenant=1', '/api/v1/tokens?tenant=1'):
        r = s.curl('GET', path, cred=bob)
        if not is_error(r, 403):
            fails.append(f'bob {path}: {r}')
    r = ingest(s, bea, [{'message': 'cross ' + mb}], '?tenant=1')
    if not is_error(r, 403):
        fails.append(f'ingest ?tenant=1: {r}')
    for cred in (w.ana, w.vera):
        r = s.curl('GET', f'/api/v1/events?tenant={tb}', cred=cred)
        if not is_error(r, 403):
            fails.append(f'{cred} events ?tenant={tb}: {r}')
    check(not fails, "only the default tenant's admins may pass ?tenant= for another tenant (403)", '\n'.join(fails))
    r = s.curl('GET', '/api/v1/tenants', cred=bob)
    ids = [t.get('id') for t in (r.j or {}).get('tenants', [])] if isinstance(r.j, dict) else None
    r2 = s.curl('POST', '/api/v1/tenants', '{"name":"tenant-c"}', cred=bob, ctype='application/json')
    r3 = s.curl('PATCH', f"/api/v1/rules/{w.rule.get('id')}", '{"enabled":false}', cred=bob,
                ctype='application/json')
    check(r.code == 200 and ids == [tb] and is_error(r2, 403) and is_error(r3, 403),
          "tenant 2's admin sees only its tenant and cannot create tenants or change the global rules",
          (r, r2, r3))
    # correlation state is per tenant: tenant 1's failures must not complete a tenant 2 correlation
    ip = '198.51.100.%d' % (10 + secrets.randbelow(200))
    fail = 'Failed password for {u} from %s port {p} ssh2' % ip
    ra = ingest(s, w.ana, [journald('corr-a', 'sshd', fail.format(u=f'user{i}', p=40000 + i), 900)
                           for i in range(5)])
    rb = ingest(s, bea, [journald('corr-b', 'sshd', fail.format(u='user5', p=40005), 901)])
    spray_b = [a for a in (alerts(s, bob) or []) if a.get('kind') == 'correlation']
    spray_a = [a for a in (alerts(s, w.root) or []) if a.get('kind') == 'correlation' and a.get('src_ip') == ip]
    ok = ra.code == 200 and rb.code == 200 and not spray_b and not spray_a
    detail = (ra, rb, spray_b, spray_a)
    check(ok, 'correlations count per tenant: 5 failures in tenant 1 and 1 in tenant 2 raise nothing', detail)
    # positive control: 6 failures from one address within tenant 1 do raise it
    ip2 = '198.51.100.%d' % (210 + secrets.randbelow(40))
    fail2 = 'Failed password for {u} from %s port {p} ssh2' % ip2
    rc = ingest(s, w.ana, [journald('corr-a', 'sshd', fail2.format(u=f'user{i}', p=41000 + i), 902)
                           for i in range(6)])
    own = [a for a in (alerts(s, w.root) or []) if a.get('kind') == 'correlation' and a.get('src_ip') == ip2]
    check(rc.code == 200 and len(own) == 1 and own[0].get('rule_title') == 'SSH password spraying from one address'
          and own[0].get('tenant') == 1,
          'positive control: 6 failures from one address in tenant 1 raise the spraying correlation there', (rc, own))
    # a refused ingest body leaves nothing behind, not even correlation state
    ip3 = '203.0.113.%d' % (10 + secrets.randbelow(200))
    fail3 = 'Failed password for {u} from %s port {p} ssh2' % ip3
    bad = ndjson([journald('corr-c', 'sshd', fail3.format(u=f'user{i}', p=42000 + i), 903) for i in range(5)])
    r1 = s.curl('POST', '/api/v1/ingest', bad + '{"message": broken}\n', cred=w.ana, ctype='application/x-ndjson')
    r2 = ingest(s, w.ana, [journald('corr-c', 'sshd', fail3.format(u='user5', p=42005), 903)])
    stored = search(s, w.root, 'src_ip=' + ip3)
    phantom = [a for a in (alerts(s, w.root) or []) if a.get('src_ip') == ip3 and a.get('kind') == 'correlation']
    ok = is_error(r1, 400) and r2.code == 200 and stored is not None and len(stored) == 1 and not phantom
    title = 'a refused ingest body leaves no correlation state: 5 refused failures and 1 stored raise nothing'
    check(ok, title, (r1, r2, stored, phantom))
    # a tenant chosen by the default admin must exist
    ghost = 'ghost' + secrets.token_hex(5)
    r = ingest(s, w.root, [{'message': ghost}], '?tenant=4000')
    found = search(s, w.root, 'tenant=all&q=' + ghost)
    check(is_error(r, 404) and found == [], 'ingest into a tenant that does not exist is 404 and stores nothing',
          (r, found))
    # a disabled user's token and session stop at once
    r = s.curl('PATCH', f'/api/v1/users/{bev_sess.uid}', '{"disabled":true}', cred=bob, ctype='application/json')
    t1 = s.curl('GET', '/api/v1/events', cred=bev)
    t2 = s.curl('GET', '/api/v1/events', cred=bev_sess)
    check(r.code == 200 and (r.j or {}).get('disabled') is True and is_error(t1, 401) and is_error(t2, 401),
          "a disabled user's token and session stop working at once (401)", (r, t1, t2))


def test_malformed(w):
    s = w.s
    # malformed JSON: 400 and the byte offset of the fault
    fine = 'fine' + secrets.token_hex(5)
    cases = [('POST', '/api/v1/auth/login', None, 'application/json', '{"username": @}', '@'),
             ('POST', '/api/v1/auth/login', None, 'application/json', '{"username":"a","password":"b",}', ',}'),
             ('POST', '/api/v1/tenants', w.root, 'application/json', '{"name": tru}', 'tru'),
             ('POST', '/api/v1/users', w.root, 'application/json', '{"name":"x" "role":"admin"}', '"role"'),
             ('PATCH', f"/api/v1/alerts/{w.alert_a.get('id')}", w.ana, 'application/json',
              '{"status":"new"}]', ']'),
             ('POST', '/api/v1/tokens', w.ana_sess, 'application/json', '{"name":"a\x01"}', '\x01'),
             ('POST', '/api/v1/ingest', w.ana, 'application/x-ndjson',
              '{"message":"%s"}\n{"message":"ok"}\n{"message": broken}\n' % fine, 'broken'),
             ('POST', '/api/v1/ingest', w.ana, 'application/json', '[{"message":"a"},{"message":"b"},]', ',]')]
    for method, path, cred, ctype, body, at in cases:
        r = s.curl(method, path, body, cred=cred, ctype=ctype)
        m = re.search(r'byte (?:offset )?(\d+)', message(r))
        want = body.index(at)
        check(is_error(r, 400) and m and int(m.group(1)) == want,
              f'malformed JSON to {method} {path}: 400 naming byte {want}', r)
    evs = search(s, w.root, 'q=' + fine)
    check(evs == [], 'an ingest body with a malformed document stores nothing of it', evs)
    # strict bodies: unknown, repeated, wrong-typed fields
    cases = [('/api/v1/tenants', '{"name":"t-x","extra":1}', 'extra'),
             ('/api/v1/tenants', '{"name":"t-x","name":"t-y"}', 'twice'),
             ('/api/v1/tenants', '{"name":5}', 'string'),
             ('/api/v1/tenants', '[]', 'object'),
             ('/api/v1/tenants', '', 'empty'),
             ('/api/v1/tenants', '{"name":"bad name!"}', 'name'),
             ('/api/v1/users', '{"name":"u-x","password":"short","role":"admin"}', 'password'),
             ('/api/v1/users', '{"name":"u-x","password":"long-enough-pass","role":"root"}', 'role')]
    fails = []
    for path, body, word in cases:
        r = s.curl('POST', path, body, cred=w.root, ctype='application/json')
        if not is_error(r, 400) or word not in message(r):
            fails.append(f'{body!r}: {r}')
    check(not fails, 'unknown, repeated, wrong-typed and invalid fields are 400 naming the fault', '\n'.join(fails))
    # bodies over the limit: 413, declared or chunked
    big = '{"name":"' + 'a' * (1 << 20) + '"}'
    r1 = s.curl('POST', '/api/v1/tenants', big, cred=w.root, ctype='application/json')
    r2 = s.curl('POST', '/api/v1/tenants', big, cred=w.root, ctype='application/json',
                headers=['Transfer-Encoding: chunked'])
    r3 = s.curl('POST', '/api/v1/auth/login', big, ctype='application/json')
    check(is_error(r1, 413) and is_error(r2, 413) and is_error(r3, 413),
          'a JSON body over 1 MiB is 413 (with Content-Length, chunked, and to login)', (r1, r2, r3))
    word = 'oversize' + secrets.token_hex(5)
    line = (json.dumps({'message': word + ' ' + 'x' * 1000}) + '\n').encode()
    big = line * ((16 << 20) // len(line) + 2)
    r1 = s.curl('POST', '/api/v1/ingest', big, cred=w.ana, ctype='application/x-ndjson')
    r2 = s.curl('POST', '/api/v1/ingest', big, cred=w.ana, ctype='application/x-ndjson',
                headers=['Transfer-Encoding: chunked'])
    evs = search(s, w.root, 'q=' + word)
    check(is_error(r1, 413) and is_error(r2, 413) and evs == [],
          f'an ingest body over 16 MiB ({len(big)} bytes) is 413, declared or chunked, and nothing is stored',
          (r1, r2, evs))
    # content types
    cases = [('POST', '/api/v1/tenants', w.root, None, '{"name":"ct-a"}'),
             ('POST', '/api/v1/tenants', w.root, 'text/plain', '{"name":"ct-b"}'),
             ('POST', '/api/v1/auth/login', None, 'application/x-www-form-urlencoded', 'username=a&password=b'),
             ('POST', '/api/v1/ingest', w.ana, 'application/xml', '<event/>'),
             ('POST', '/api/v1/ingest', w.ana, None, '{"message":"m"}'),
             ('POST', '/api/v1/rules', w.root, 'application/json', RULE_YAML),
             ('POST', '/api/v1/rules/validate', w.ana, 'image/png', RULE_YAML),
             ('PATCH', f"/api/v1/alerts/{w.alert_a.get('id')}", w.ana, 'text/json', '{"status":"new"}')]
    fails = []
    for method, path, cred, ctype, body in cases:
        r = s.curl(method, path, body, cred=cred, ctype=ctype)
        if not is_error(r, 415):
            fails.append(f'{method} {path} {ctype}: {r}')
    tl = s.curl('GET', '/api/v1/tenants', cred=w.root)
    if 'ct-a' in tl.text or 'ct-b' in tl.text:
        fails.append('a tenant was created: ' + tl.text)
    check(not fails, 'a wrong or missing Content-Type is 415 and nothing is done', '\n'.join(fails))
    # huge header and request target: refused by the HTTP library
    r1 = s.curl('GET', '/api/v1/events', cred=w.root, headers=['X-Big: ' + 'b' * 70000])
    r2 = s.curl('GET', '/api/v1/events?q=' + 'a' * 70000, cred=w.root)
    check(r1.code == 431 and r2.code in (414, 431),
          f'a 70 KB header is 431 and a 70 KB request target {r2.code}', (r1, r2))
    # routes, methods, targets, parameters
    cases = [('GET', '/api/v1/nope', 404), ('GET', '/api/v2/alerts', 404), ('GET', '/api/v1/alerts/', 404),
             ('GET', '/api/v1/events/0', 404), ('GET', '/api/v1/events/-1', 404),
             ('GET', '/api/v1/events/99999999999999999999', 404), ('GET', '/api/v1/alerts/abc', 404),
             ('GET', '/nothing/here', 404), ('POST', '/api/v1/events', 405), ('DELETE', '/api/v1/alerts', 405),
             ('PUT', '/api/v1/users', 405), ('GET', '/api/v1/events?limit=0', 400),
             ('GET', '/api/v1/events?limit=1001', 400), ('GET', '/api/v1/events?bogus=1', 400),
             ('GET', '/api/v1/events?q=%zz', 400), ('GET', '/api/v1/events?q=a&q=b', 400),
             ('GET', '/api/v1/events?from=yesterday', 400), ('GET', '/api/v1/events?field.a..b=x', 400),
             ('GET', '/api/v1/alerts?status=open', 400), ('GET', '/api/v1/alerts?level=severe', 400),
             ('GET', '/api/v1/events/..%2f..%2fetc%2fpasswd', 400), ('GET', '/api/v1/events?q=%ff', 400),
             ('GET', '/api/v1/events?tenant=x', 400)]
    fails = []
    for method, path, want in cases:
        r = s.curl(method, path, cred=w.root, extra=['--path-as-is'])
        if not is_error(r, want):
            fails.append(f'{method} {path}: {r}')
        elif want == 405 and not r.h.get('allow'):
            fails.append(f'{method} {path}: no Allow header')
    check(not fails, 'unknown routes 404, wrong methods 405 (with Allow), bad targets and parameters 400',
          '\n'.join(fails))
    r = s.curl('GET', '/api/v1/nope', cred=w.root)
    hdr = {k: r.h.get(k, '') for k in ('content-security-policy', 'x-content-type-options', 'x-frame-options',
                                       'strict-transport-security', 'cache-control', 'referrer-policy')}
    check("frame-ancestors 'none'" in hdr['content-security-policy'] and hdr['x-content-type-options'] == 'nosniff'
          and hdr['x-frame-options'] == 'DENY' and 'max-age=' in hdr['strict-transport-security']
          and hdr['cache-control'] == 'no-store' and hdr['referrer-policy'] == 'no-referrer',
          'error answers carry the security headers', hdr)
    # plain HTTP on the HTTPS port, and a body that never comes (the client gives up)
    with socket.create_connection(('127.0.0.1', s.ports['https']), timeout=30) as sock:
        sock.sendall(b'GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n')
        try:
            sock.recv(100)
        except OSError:
            pass
    cut = subprocess.run(['curl', '-sS', '--cacert', s.cacert, '--max-time', '5', '-H', 'Content-Length: 1000',
                          '-H', 'Content-Type: application/json', '--data-binary', '{"name":', '-H',
                          'Authorization: Bearer ' + w.root.token, s.base + '/api/v1/tenants'],
                         capture_output=True, timeout=60)
    # still answering, and still authenticating
    h = s.curl('GET', '/api/v1/health')
    e = s.curl('GET', '/api/v1/events?q=' + w.marker_a, cred=w.root)
    check(s.proc.poll() is None and h.code == 200 and h.j == {'status': 'ok'} and e.code == 200
          and len((e.j or {}).get('events', [])) == 4,
          'after all of this the server still answers and searches', (h, e, cut.returncode))


def main():
    bail_on_signals()
    tmp = tempfile.mkdtemp(prefix='hisn-security-test-')
    s = None
    try:
        w = World()
        w.routes = read_routes()
        check(len(w.routes) >= 20 and ('GET', '/api/v1/events', 1, set()) in w.routes,
              f'the route table of src/api/api.c is read ({len(w.routes)} routes)', w.routes)
        s = w.s = Server(tmp, 'data', '--rules', os.path.join(ROOT, 'data', 'rules'))
        if check(s.up(), 'the server starts with every listener on a kernel-picked port', s.text()) and setup(w):
            test_no_credentials(w)
            test_viewer(w)
            test_tenants(w)
            test_malformed(w)
        if s.proc.poll() is None:
            rc = s.stop()
            check(rc == 0, 'SIGTERM stops the server cleanly (exit 0)', (rc, s.text()[-1500:]))
        sanitizer_checks(s)
    finally:
        end_all()
        shutil.rmtree(tmp, ignore_errors=True)
        status = plan()
    return status


if __name__ == '__main__':
    sys.exit(main())
