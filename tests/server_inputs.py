#!/usr/bin/env python3
"""Inputs of `hisn server` fed by real clients, read back through the HTTPS
API, printed as TAP.

A real server (its own data folder under /tmp, every port picked by the
kernel, a test CA made with certtool for its tls:// listener and HTTPS):
  - logger over UDP, TCP (LF-framed) and TCP octet-counted, RFC 5424 and
    RFC 3164, each line matching a default rule: the event is searchable and
    the alert carries the rule's author and tags;
  - rsyslogd as a client (unprivileged, its own work directory): imtcp inputs
    bound to two rulesets, one forwarding with omrelp to the RELP listener,
    one with omfwd over TLS (gtls, x509/name, a client certificate the server
    requires) to the tls:// listener; N distinct messages through each arrive
    exactly once, and a matching one raises an alert;
  - a raw TLS client without a certificate is refused;
  - curl posting JSON lines and a JSON array to /api/v1/ingest: the events are
    searchable as soon as the 2xx answer comes (stored before the answer).
Usage:
  server_inputs.py HISN SOURCE_ROOT
"""
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

from hisnproc import (ServerProc, bail_on_signals, check, end_all, plan, procs, results,  # noqa: F401
                      sanitizer_checks, wait_for)

HISN, ROOT = sys.argv[1], sys.argv[2]
RSYSLOG_N = 200  # messages through each rsyslog action


# ---- small helpers (TAP, polling, the server process: hisnproc.py) -------------

class Resp:
    def __init__(self, code, raw):
        self.code, self.raw = code, raw
        self.text = raw.decode('utf-8', errors='replace')
        try:
            self.j = json.loads(self.text) if self.text else None
        except ValueError:
            self.j = None

    def __repr__(self):
        return f'{self.code} {self.text[:600]}'


class Server(ServerProc):
    def __init__(self, tmp, name, cacert, *extra):
        self.tmp = tmp
        self.data = os.path.join(tmp, name)
        self.cacert = cacert
        self.args = [HISN, 'server', '--data', self.data,
                     '--syslog', 'udp://127.0.0.1:0,tcp://127.0.0.1:0,tls://127.0.0.1:0',
                     '--relp', '127.0.0.1:0', '--http', 'https://127.0.0.1:0'] + list(extra)
        self.token = None
        self.n = 0
        ServerProc.__init__(self, self.args, procs=procs)
        self.base = f"https://127.0.0.1:{self.ports.get('https', 0)}"

    def up(self):
        return self.proc.poll() is None and all(k in self.ports for k in ('udp', 'tcp', 'tls', 'relp', 'https'))

    def curl(self, method, path, body=None, ctype=None, headers=(), token=True, extra=(), timeout=120):
        self.n += 1
        stem = os.path.join(self.tmp, f'curl{self.n}')
        cmd = ['curl', '-sS', '--cacert', self.cacert, '--max-time', str(timeout), '-X', method,
               '-o', stem + '.o', '-w', '%{http_code}']
        if body is not None:
            with open(stem + '.b', 'wb') as f:
                f.write(body.encode() if isinstance(body, str) else body)
            cmd += ['--data-binary', '@' + stem + '.b']
        cmd += ['-H', 'Content-Type: ' + ctype if ctype else 'Content-Type:']
        if token and self.token:
            cmd += ['-H', 'Authorization: Bearer ' + self.token]
        for h in headers:
            cmd += ['-H', h]
        cmd += list(extra) + [self.base + path]
        try:
            r = subprocess.run(cmd, capture_output=True, timeout=timeout + 30)
            code = int(r.stdout or b'0')
        except (subprocess.TimeoutExpired, ValueError):
            code = 0
        try:
            raw = open(stem + '.o', 'rb').read()
        except OSError:
            raw = b''
        for ext in ('.o', '.b'):
            try:
                os.unlink(stem + ext)
            except OSError:
                pass
        return Resp(code, raw)

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


def login(s, tmp):
    pw = open(os.path.join(s.data, 'initial-admin-password')).read().strip()
    jar = os.path.join(tmp, 'cookies')
    r = s.curl('POST', '/api/v1/auth/login', json.dumps({'username': 'admin', 'password': pw}),
               ctype='application/json', token=False, extra=['-c', jar])
    csrf = r.j.get('csrf_token') if isinstance(r.j, dict) else None
    t = s.curl('POST', '/api/v1/tokens', json.dumps({'name': 'inputs'}), ctype='application/json',
               token=False, headers=['X-CSRF-Token: ' + str(csrf)], extra=['-b', jar])
    return r, t, (t.j or {}).get('token') if isinstance(t.j, dict) else None


def search(s, query):
    """Every event of a search (all pages), or None when a page fails."""
    items, cursor = [], None
    for _ in range(100):
        q = f'{query}&limit=1000' + (f'&cursor={cursor}' if cursor else '')
        r = s.curl('GET', '/api/v1/events?' + q)
        if r.code != 200 or not isinstance(r.j, dict) or not isinstance(r.j.get('events'), list):
            return None
        items += r.j['events']
        cursor = r.j.get('next_cursor')
        if not cursor:
            return items
    return None


def alerts(s, query=''):
    r = s.curl('GET', '/api/v1/alerts?limit=1000' + ('&' + query if query else ''))
    return r.j.get('alerts') if r.code == 200 and isinstance(r.j, dict) else None


def alert_with_event(s, title, event_id):
    """The alert of rule `title` holding event_id, or None."""
    for a in alerts(s) or []:
        if a.get('rule_title') == title and event_id in (a.get('event_ids') or []):
            return a
    return None


def rule_doc(rule):
    """The YAML document of a rule, read from the rules folder the server was
    given (data/rules), found by its id."""
    try:
        text = open(os.path.join(ROOT, 'data', 'rules', rule.get('path') or '')).read()
    except OSError:
        return ''
    for doc in re.split(r'^---\s*$', text, flags=re.M):
        if re.search(r'^id:\s*' + re.escape(str(rule.get('id'))) + r'\s*$', doc, re.M):
            return doc
    return ''


def rule_matches_alert(s, a):
    """The alert names its rule's author, tags and level, as the rule API and
    the rule's own YAML file give them."""
    r = s.curl('GET', f"/api/v1/rules/{a.get('rule_id')}")
    rule = r.j if isinstance(r.j, dict) else {}
    doc = rule_doc(rule)
    ok = (r.code == 200 and a.get('author') == rule.get('author') == 'hisn project'
          and re.search(r'^author:\s*hisn project\s*$', doc, re.M)
          and a.get('tags') == rule.get('tags') and a.get('tags')
          and all(re.search(r'^\s*-\s*' + re.escape(t) + r'\s*$', doc, re.M) for t in a['tags'])
          and a.get('level') == rule.get('level') and re.search(r'^level:\s*' + str(a.get('level')), doc, re.M)
          and a.get('kind') == 'rule')
    return ok, rule


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


# ---- certificates ---------------------------------------------------------------

def make_certs(d):
    tmpl = {'ca.tmpl': 'cn = "hisn inputs test CA"\nca\ncert_signing_key\nexpiration_days = 2\n',
            'srv.tmpl': 'cn = "localhost"\ndns_name = "localhost"\nip_address = "127.0.0.1"\n'
                        'tls_www_server\nsigning_key\nencryption_key\nexpiration_days = 2\n',
            'cli.tmpl': 'cn = "rsyslog-client"\ntls_www_client\nsigning_key\nexpiration_days = 2\n'}
    for name, text in tmpl.items():
        open(os.path.join(d, name), 'w').write(text)
    steps = [['--generate-privkey', '--key-type=ecdsa', '--outfile', 'ca.key'],
             ['--generate-self-signed', '--load-privkey', 'ca.key', '--template', 'ca.tmpl', '--outfile', 'ca.pem'],
             ['--generate-privkey', '--key-type=ecdsa', '--outfile', 'srv.key'],
             ['--generate-certificate', '--load-privkey', 'srv.key', '--load-ca-certificate', 'ca.pem',
              '--load-ca-privkey', 'ca.key', '--template', 'srv.tmpl', '--outfile', 'srv.pem'],
             ['--generate-privkey', '--key-type=ecdsa', '--outfile', 'cli.key'],
             ['--generate-certificate', '--load-privkey', 'cli.key', '--load-ca-certificate', 'ca.pem',
              '--load-ca-privkey', 'ca.key', '--template', 'cli.tmpl', '--outfile', 'cli.pem']]
    for st in steps:
        r = run(['certtool'] + st, cwd=d)
        if r.returncode != 0:
            return r.stderr
    return None


# ---- logger ---------------------------------------------------------------------

# transport, logger flags, format flags, tag, message ({n}: a nonce), the rule it raises
LOGGER_CASES = [
    ('UDP', ['-d'], [], 'sshd',
     'Accepted publickey for root from 203.0.113.41 port 40100 ssh2: ED25519 SHA256:{n}', 'SSH login as root'),
    ('UDP', ['-d'], ['--rfc3164'], 'su', '(to root) {n} on pts/0', 'Su to root'),
    ('TCP, LF-framed', ['-T'], [], 'useradd',
     'new user: name={n}, UID=1001, GID=1001, home=/home/{n}, shell=/bin/bash, from=/dev/pts/0',
     'New local user created'),
    ('TCP, LF-framed', ['-T'], ['--rfc3164'], 'groupadd', 'new group: name={n}, GID=1005', 'New local group created'),
    ('TCP, octet-counted', ['-T', '--octet-count'], [], 'passwd', "password for 'root' changed by '{n}'",
     'Password of root changed'),
    ('TCP, octet-counted', ['-T', '--octet-count'], ['--rfc3164'], 'usermod', "add '{n}' to group 'sudo'",
     'User added to a privileged group'),
]


def test_logger(s):
    rules_seen = []
    for transport, flags, fmt, tag, msg, title in LOGGER_CASES:
        nonce = 'lg' + secrets.token_hex(6)
        proto = 'udp' if '-d' in flags else 'tcp'
        what = f"logger {transport}, {'RFC 3164' if fmt else 'RFC 5424'}, {tag}"
        r = run(['logger'] + flags + fmt + ['-n', '127.0.0.1', '-P', str(s.ports[proto]), '-t', tag, '--id=4321',
                                            '-p', 'authpriv.notice', msg.format(n=nonce)])
        evs = wait_for(lambda: search(s, 'q=' + nonce), 30)
        ev = evs[0] if evs else {}
        e = ev.get('event') or {}
        raw = ev.get('raw') or ''
        ok = (r.returncode == 0 and evs and len(evs) == 1
              and ev.get('input') == f'{proto}://127.0.0.1:{s.ports[proto]}' and ev.get('format') == 'syslog'
              and (e.get('process') or {}).get('name') == tag and nonce in (e.get('message') or '')
              and raw.startswith('<85>') and (raw.startswith('<85>1 ') != bool(fmt)))
        check(ok, f'{what}: the event is stored once, parsed, searchable', (r.stderr, evs))
        a = wait_for(lambda: alert_with_event(s, title, ev.get('id')), 30) if ev else None
        good, rule = rule_matches_alert(s, a) if a else (False, None)
        check(a and good, f'{what}: alert "{title}" with the rule\'s author and tags', (a, rule))
        rules_seen.append(rule)
    # the rule behind an alert, with its YAML (what a console shows beside the alert)
    rule = next((r for r in rules_seen if r), {})
    ok = bool(rule) and isinstance(rule.get('yaml'), str) and rule_doc(rule).strip() in rule['yaml']
    detail = (rule.get('path'), rule.get('yaml'))
    check(ok, "GET /api/v1/rules/{id} gives the rule's YAML", detail)


# ---- rsyslog ---------------------------------------------------------------------

RSYSLOG_CONF = """global(workDirectory="{d}" net.enableDNS="off"
       DefaultNetstreamDriverCAFile="{certs}/ca.pem"
       DefaultNetstreamDriverCertFile="{certs}/cli.pem"
       DefaultNetstreamDriverKeyFile="{certs}/cli.key")
module(load="imtcp")
module(load="omrelp")
input(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="{d}/in-relp.port" ruleset="to_relp")
input(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="{d}/in-tls.port" ruleset="to_tls")
ruleset(name="to_relp") {{
    action(type="omrelp" target="127.0.0.1" port="{relp}"
           action.resumeInterval="1" action.resumeRetryCount="-1")
}}
ruleset(name="to_tls") {{
    action(type="omfwd" target="127.0.0.1" port="{tls}" protocol="tcp"
           StreamDriver="gtls" StreamDriverMode="1"
           StreamDriverAuthMode="x509/name" StreamDriverPermittedPeers="localhost"
           TCP_Framing="octet-counted"
           action.resumeInterval="1" action.resumeRetryCount="-1")
}}
"""


def read_port(path):
    try:
        return int(open(path).read().strip() or 0)
    except (OSError, ValueError):
        return 0


def count_of(s, query, n):
    """The events of a search once there are at least n of them, else None."""
    evs = search(s, query)
    return evs if evs is not None and len(evs) >= n else None


def test_rsyslog(s, tmp, certs):
    d = os.path.join(tmp, 'rsyslog')
    os.mkdir(d)
    conf = os.path.join(d, 'rsyslog.conf')
    before = received(s)
    open(conf, 'w').write(RSYSLOG_CONF.format(d=d, certs=certs, relp=s.ports['relp'], tls=s.ports['tls']))
    rs_log = os.path.join(d, 'rsyslogd.log')
    log = open(rs_log, 'w')
    rs = subprocess.Popen(['rsyslogd', '-n', '-f', conf, '-i', os.path.join(d, 'rsyslogd.pid')],
                          stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    procs.append(rs)
    nonce = secrets.token_hex(5)
    sent = {}
    try:
        ports = wait_for(lambda: (read_port(f'{d}/in-relp.port'), read_port(f'{d}/in-tls.port'))
                         if read_port(f'{d}/in-relp.port') and read_port(f'{d}/in-tls.port') else None, 60)
        if not check(rs.poll() is None and ports, 'rsyslogd starts unprivileged with two imtcp inputs',
                     open(rs_log).read()):
            return
        for path, port in (('relp', ports[0]), ('tls', ports[1])):
            tok, user, host = f'rs{nonce}{path}', f'rsu{nonce}{path}', f'rs-{path}-host'
            now = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
            lines = [f'<13>1 {now} {host} app 77 - - {tok} message {i:04d} of {RSYSLOG_N}'
                     for i in range(RSYSLOG_N)]
            lines.append(f'<86>1 {now} {host} useradd 7001 - - new user: name={user}, UID=1002, GID=1002, '
                         f'home=/home/{user}, shell=/bin/bash, from=/dev/pts/1')
            with socket.create_connection(('127.0.0.1', port), timeout=30) as sock:
                sock.sendall(''.join(x + '\n' for x in lines).encode())
            sent[path] = (tok, user, host)
        # everything through before rsyslogd stops (it would flush on SIGTERM anyway)
        for tok, user, host in sent.values():
            wait_for(lambda: count_of(s, 'q=' + tok, RSYSLOG_N) and count_of(s, 'q=' + user, 1), 60)
    finally:
        if rs.poll() is None:
            rs.terminate()
            try:
                rs.wait(30)
            except subprocess.TimeoutExpired:
                rs.kill()
                rs.wait(30)
        log.close()
    check(rs.returncode == 0, 'rsyslogd stops cleanly', (rs.returncode, open(rs_log).read()[-2000:]))
    for path, (tok, user, host) in sent.items():
        want = f'{path}://127.0.0.1:{s.ports[path]}'
        evs = search(s, 'q=' + tok) or []
        msgs = [(e.get('event') or {}).get('message', '') for e in evs]
        idx = sorted(int(m.group(1)) for m in (re.search(r' message (\d+) of ', x) for x in msgs) if m)
        check(len(evs) == RSYSLOG_N and idx == list(range(RSYSLOG_N))
              and all(e.get('input') == want and (e.get('event') or {}).get('host', {}).get('name') == host
                      for e in evs),
              f'rsyslog {path}: {RSYSLOG_N} distinct messages arrive exactly once through {want}',
              (len(evs), idx[:10], evs[:1], open(rs_log).read()[-2000:]))
        uev = search(s, 'q=' + user)
        a = wait_for(lambda: alert_with_event(s, 'New local user created', uev[0]['id']), 30) if uev else None
        good, rule = rule_matches_alert(s, a) if a else (False, None)
        check(uev and len(uev) == 1 and a and a.get('host') == host and good,
              f'rsyslog {path}: a matching message raises "New local user created" on its host', (uev, a, rule))
    after = received(s)
    delta = {k: (after.get(k) or 0) - (before.get(k) or 0) for k in ('relp', 'tls')}
    check(None not in before.values() and None not in after.values()
          and delta == {'relp': RSYSLOG_N + 1, 'tls': RSYSLOG_N + 1},
          f'/metrics counts exactly {RSYSLOG_N + 1} more records on the RELP and on the TLS input', (before, after))


def received(s):
    """hisn_events_received_total of the RELP and TLS inputs."""
    metrics = s.curl('GET', '/metrics')
    counts = {}
    for path in ('relp', 'tls'):
        m = re.search(r'hisn_events_received_total\{input="%s://127\.0\.0\.1:%d"\} (\d+)' % (path, s.ports[path]),
                      metrics.text)
        counts[path] = int(m.group(1)) if metrics.code == 200 and m else None
    return counts


def tls_send(s, certs, line, with_cert):
    ctx = ssl.create_default_context(cafile=os.path.join(certs, 'ca.pem'))
    if with_cert:
        ctx.load_cert_chain(os.path.join(certs, 'cli.pem'), os.path.join(certs, 'cli.key'))
    try:
        with socket.create_connection(('127.0.0.1', s.ports['tls']), timeout=30) as raw:
            with ctx.wrap_socket(raw, server_hostname='localhost') as t:
                t.sendall(line.encode())
                t.unwrap() if with_cert else None
        return 'sent'
    except (OSError, ssl.SSLError) as e:
        return f'refused: {e}'


def test_tls_client_cert(s, certs):
    bad, good = 'tlsno' + secrets.token_hex(5), 'tlsyes' + secrets.token_hex(5)
    r1 = tls_send(s, certs, f'<13>Nov 28 10:00:00 tls-host app[1]: {bad} without a certificate\n', False)
    r2 = tls_send(s, certs, f'<13>Nov 28 10:00:00 tls-host app[1]: {good} with a certificate\n', True)
    got = wait_for(lambda: search(s, 'q=' + good), 30)
    time.sleep(0.3)
    none = search(s, 'q=' + bad)
    check(got and len(got) == 1 and got[0].get('input') == f"tls://127.0.0.1:{s.ports['tls']}",
          'a TLS client with a certificate of the CA is served', (r2, got))
    check(none == [], 'a TLS client without a certificate is refused (tls-client-cert): nothing stored', (r1, none))


# ---- HTTPS ingest ------------------------------------------------------------------

def journald(host, ident, msg, pid=4242):
    return {'__REALTIME_TIMESTAMP': str(int(time.time() * 1e6)), '_HOSTNAME': host,
            'SYSLOG_IDENTIFIER': ident, '_PID': str(pid), 'MESSAGE': msg, 'PRIORITY': '6'}


def test_ingest(s):
    now = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
    # JSON lines: stored and alerted before the answer comes
    word = 'jl' + secrets.token_hex(6)
    docs = [{'@timestamp': now, 'message': f'{word} line {i}', 'host': {'name': 'ingest-host'},
             'labels': {'case': f'{word}-{i}'}} for i in range(5)]
    docs.append(journald('ingest-host', 'useradd', f'new user: name={word}, UID=1003, GID=1003, '
                         f'home=/home/{word}, shell=/bin/bash, from=/dev/pts/2'))
    r = s.curl('POST', '/api/v1/ingest', ''.join(json.dumps(d) + '\n' for d in docs), ctype='application/x-ndjson')
    evs = search(s, 'q=' + word)  # at once, no waiting
    al = [a for a in alerts(s) or [] if a.get('rule_title') == 'New local user created'
          and set(a.get('event_ids') or []) & {e['id'] for e in evs or []}]
    check(r.code == 200 and r.j == {'accepted': 6} and evs is not None and len(evs) == 6 and len(al) == 1,
          'curl POST /ingest of JSON lines: 200 {"accepted":6}; all 6 events and the alert readable at once',
          (r, evs, al))
    one = search(s, f'field.labels.case={word}-3')
    ev = s.curl('GET', f"/api/v1/events/{one[0]['id']}") if one else None
    e = ev.j if ev and isinstance(ev.j, dict) else {}
    check(one and len(one) == 1 and e.get('input') == 'http' and e.get('format') == 'json'
          and (e.get('event') or {}).get('message') == f'{word} line 3'
          and (e.get('event') or {}).get('host', {}).get('name') == 'ingest-host',
          'an ingested event is found by its own field (field.labels.case) and read by id, as sent', (one, ev))
    good, rule = rule_matches_alert(s, al[0]) if al else (False, None)
    check(al and good and al[0].get('host') == 'ingest-host', 'the ingested alert carries the rule author and tags',
          (al, rule))
    # a JSON array, and text/plain
    word = 'ja' + secrets.token_hex(6)
    arr = [{'@timestamp': now, 'message': f'{word} item {i}', 'host': {'name': 'array-host'}} for i in range(4)]
    r = s.curl('POST', '/api/v1/ingest', json.dumps(arr), ctype='application/json')
    evs = search(s, 'q=' + word)
    msgs = sorted((e.get('event') or {}).get('message') for e in evs or [])
    check(r.code == 200 and r.j == {'accepted': 4} and msgs == sorted(f'{word} item {i}' for i in range(4)),
          'curl POST /ingest of a JSON array: 200 {"accepted":4}; the 4 events searchable at once', (r, evs))
    word = 'tp' + secrets.token_hex(6)
    r = s.curl('POST', '/api/v1/ingest', json.dumps({'message': word}) + '\n', ctype='text/plain')
    evs = search(s, 'q=' + word)
    check(r.code == 200 and r.j == {'accepted': 1} and evs and len(evs) == 1,
          'curl POST /ingest as text/plain: accepted and searchable at once', (r, evs))
    # an empty array is accepted as nothing; without a token nothing is taken
    r = s.curl('POST', '/api/v1/ingest', '[]', ctype='application/json')
    word = 'nt' + secrets.token_hex(6)
    r2 = s.curl('POST', '/api/v1/ingest', json.dumps({'message': word}) + '\n', ctype='application/x-ndjson',
                token=False)
    evs = search(s, 'q=' + word)
    check(r.code == 200 and r.j == {'accepted': 0} and r2.code == 401 and evs == [],
          'an empty array is accepted as 0 events; without a token: 401 and nothing stored', (r, r2, evs))


def main():
    bail_on_signals()
    tmp = tempfile.mkdtemp(prefix='hisn-inputs-test-')
    s = None
    try:
        certs = os.path.join(tmp, 'certs')
        os.mkdir(certs)
        err = make_certs(certs)
        if not check(err is None, 'certtool makes a CA, a server and a client certificate', err):
            return 1
        s = Server(tmp, 'data', os.path.join(certs, 'ca.pem'),
                   '--rules', os.path.join(ROOT, 'data', 'rules'),
                   '--tls-cert', os.path.join(certs, 'srv.pem'), '--tls-key', os.path.join(certs, 'srv.key'),
                   '--tls-ca', os.path.join(certs, 'ca.pem'), '--tls-client-cert')
        if check(s.up(), 'the server starts with UDP, TCP, TLS, RELP and HTTPS on kernel-picked ports', s.text()):
            r, t, s.token = login(s, tmp)
            if check(r.code == 200 and t.code == 201 and s.token,
                     'the admin logs in over HTTPS (certificate of the test CA) and gets a token', (r, t)):
                test_logger(s)
                test_tls_client_cert(s, certs)
                test_rsyslog(s, tmp, certs)
                test_ingest(s)
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
