#!/usr/bin/env python3
"""End-to-end tests of `hisn server`, printed as TAP.

A real server (its own data folder under /tmp, every port picked by the
kernel), real clients: logger (UDP and TCP, octet-counted), curl for the
HTTPS API, a raw socket for a burst before SIGTERM. Usage:
  server_test.py HISN SOURCE_ROOT
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import hisnproc
from hisnproc import ServerProc, check, plan

HISN, ROOT = sys.argv[1], sys.argv[2]
class Server(ServerProc):
    def __init__(self, data, *extra, relp_port=0):
        self.data = data
        ServerProc.__init__(self, [HISN, 'server', '--data', data,
                                   '--syslog', 'udp://127.0.0.1:0,tcp://127.0.0.1:0',
                                   '--relp', f'127.0.0.1:{relp_port}', '--http', 'https://127.0.0.1:0']
                            + list(extra), wait=60)
        self.base = f"https://127.0.0.1:{self.ports.get('https', 0)}"
        self.token = None

    def curl(self, method, path, body=None, token=True, headers=(), cookies=None):
        cmd = ['curl', '-sk', '-o', '-', '-w', '\n%{http_code}', '-X', method, self.base + path]
        if token and self.token:
            cmd += ['-H', 'Authorization: Bearer ' + self.token]
        for h in headers:
            cmd += ['-H', h]
        if cookies:
            cmd += ['-b', cookies, '-c', cookies]
        if body is not None:
            cmd += ['--data-binary', '@-']
        r = subprocess.run(cmd, input=(body if isinstance(body, bytes) else (body or '').encode()),
                           capture_output=True, timeout=60)
        out = r.stdout.decode(errors='replace')
        text, _, code = out.rpartition('\n')
        return int(code or 0), text

    def json(self, method, path, body=None, **kw):
        code, text = self.curl(method, path, body, **kw)
        try:
            return code, json.loads(text) if text else None
        except ValueError:
            return code, text

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None


def login(s, tmp):
    pw_file = os.path.join(s.data, 'initial-admin-password')
    pw = open(pw_file).read().strip()
    jar = os.path.join(tmp, 'cookies')
    code, me = s.json('POST', '/api/v1/auth/login', json.dumps({'username': 'admin', 'password': pw}),
                      token=False, cookies=jar, headers=['Content-Type: application/json'])
    csrf = me.get('csrf_token') if isinstance(me, dict) else None
    code2, tok = s.json('POST', '/api/v1/tokens', json.dumps({'name': 'tests'}), token=False,
                        cookies=jar, headers=['X-CSRF-Token: ' + str(csrf), 'Content-Type: application/json'])
    secret = tok.get('token') if isinstance(tok, dict) else None
    return code, oct(os.stat(pw_file).st_mode & 0o777), code2, secret


def wait_for(fn, timeout):
    """(fn's last value, seconds waited)."""
    t0 = time.monotonic()
    r = hisnproc.wait_for(fn, timeout, 0.02)
    return r, time.monotonic() - t0


def alerts_of(s, title):
    code, body = s.json('GET', '/api/v1/alerts?limit=1000')
    if code != 200 or not isinstance(body, dict):
        return None
    return [a for a in body.get('alerts', []) if a.get('rule_title') == title] or None


def logger(args, msg):
    return subprocess.run(['logger'] + args + [msg], capture_output=True, text=True, timeout=30)


def test_first_start(s, tmp):
    check(s.proc.poll() is None and s.ports.get('tcp') and s.ports.get('https'),
          'server starts with every listener on a kernel-picked port', s.text())
    code, mode, code2, secret = login(s, tmp)
    check(code == 200 and mode == '0o600', 'first admin logs in with the generated password (file 0600)',
          f'{code} {mode}')
    check(code2 in (200, 201) and secret, 'an API token is created from the session (with the CSRF token)', code2)
    s.token = secret
    code, _ = s.curl('GET', '/api/v1/alerts', token=False)
    check(code == 401, 'no access to alerts without credentials', code)


def test_alert_within_a_second(s):
    host = 'web-tcp-01'
    t0 = time.monotonic()
    r = logger(['--tcp', '--octet-count', '-n', '127.0.0.1', '-P', str(s.ports['tcp']), '-t', 'useradd',
                '--id=4242', '-p', 'authpriv.info', '--rfc3164'],
               'new user: name=mallory, UID=1001, GID=1001, home=/home/mallory, shell=/bin/bash, from=/dev/pts/0')
    found, _ = wait_for(lambda: alerts_of(s, 'New local user created'), 5)
    elapsed = time.monotonic() - t0
    check(r.returncode == 0 and found and elapsed < 1.0,
          f'a logger line over TCP that matches a default rule is an alert through the API within 1 s ({elapsed:.3f} s)',
          (r.stderr, found, elapsed))
    a = found[0] if found else {}
    check(a.get('author') == 'hisn project' and 'attack.t1136.001' in (a.get('tags') or [])
          and a.get('level') == 'low' and a.get('event_ids'),
          'the alert carries the rule author, ATT&CK tags, level and the event id', a)
    ev_id = (a.get('event_ids') or [0])[0]
    code, ev = s.json('GET', f'/api/v1/events/{ev_id}')
    check(code == 200 and 'mallory' in json.dumps(ev), 'the alert\'s event is stored and readable by id', (code, ev))
    logger(['--tcp', '--octet-count', '-n', '127.0.0.1', '-P', str(s.ports['tcp']), '-t', 'useradd',
            '--id=4243', '-p', 'authpriv.info', '--rfc3164'],
           'new user: name=mallory2, UID=1002, GID=1002, home=/home/mallory2, shell=/bin/bash, from=/dev/pts/0')
    grown, _ = wait_for(lambda: [x for x in (alerts_of(s, 'New local user created') or []) if x.get('count') == 2], 5)
    check(grown and len(alerts_of(s, 'New local user created')) == 1,
          'a repeated alert of the same rule and host is grouped with a count', alerts_of(s, 'New local user created'))


def test_udp_and_search(s):
    word = 'zebra%d' % os.getpid()
    logger(['-d', '-n', '127.0.0.1', '-P', str(s.ports['udp']), '-t', 'app'], f'hello {word} from udp')
    found, _ = wait_for(lambda: (lambda r: r[1].get('events') if r[0] == 200 and isinstance(r[1], dict) else None)(
        s.json('GET', f'/api/v1/events?q={word}')), 5)
    check(found and word in json.dumps(found[0]), 'a UDP syslog line is stored and found by full-text search', found)
    src = ((((found or [{}])[0].get('event') or {}).get('log') or {}).get('source') or {}).get('address', '')
    check(src.startswith('127.0.0.1:'), 'the stored event names the sender\'s address (log.source.address)', src)


def test_no_pri(s):
    """Senders that omit <PRI> (RFC 3164 says a relay adds <13>) are parsed,
    and do not disturb the records after them."""
    word = 'noprimark%d' % os.getpid()
    sock = socket.create_connection(('127.0.0.1', s.ports['tcp']))
    lines = [f'Nov 28 05:00:00 nopri-host app[7]: {word} first\n']
    lines += [f'<13>Nov 28 05:00:01 nopri-host app[7]: {word} after {i}\n' for i in range(50)]
    lines += ['<86>Nov 28 05:00:02 nopri-host useradd[99]: new user: name=nopri, UID=1201, GID=1201, '
              'home=/home/nopri, shell=/bin/bash, from=/dev/pts/0\n']
    sock.sendall(''.join(lines).encode())
    sock.close()
    got, _ = wait_for(lambda: (lambda r: r[1].get('events') if r[0] == 200 and isinstance(r[1], dict)
                                and len(r[1].get('events', [])) >= 51 else None)(
        s.json('GET', f'/api/v1/events?q={word}&limit=100')), 10)
    first = [e for e in (got or []) if 'first' in json.dumps(e)]
    ev = (first or [{}])[0].get('event') or {}
    alert, _ = wait_for(lambda: [a for a in (alerts_of(s, 'New local user created') or []) if a.get('host') == 'nopri-host'], 5)
    check(got and len(got) == 51 and ev.get('host', {}).get('name') == 'nopri-host'
          and not (ev.get('error') or {}).get('message') and alert,
          'a line without <PRI> is parsed (host, program) and the lines after it still reach the rules',
          (len(got or []), ev, alert))


def test_ingest(s):
    word = 'ingestword%d' % os.getpid()
    lines = '\n'.join(json.dumps({'@timestamp': '2026-11-28T05:00:0%dZ' % i, 'message': f'{word} {i}',
                                  'host': {'name': 'api-host'}}) for i in range(3)) + '\n'
    code, body = s.json('POST', '/api/v1/ingest', lines, headers=['Content-Type: application/x-ndjson'])
    code2, found = s.json('GET', f'/api/v1/events?q={word}')
    n = len(found.get('events', [])) if isinstance(found, dict) else -1
    check(code == 200 and isinstance(body, dict) and body.get('accepted') == 3 and n == 3,
          'POST /ingest answers after the events are stored (all 3 searchable at once)', (code, body, n))
    code, body = s.json('POST', '/api/v1/ingest', '{"message": "fine"}\n{"message": broken}\n',
                        headers=['Content-Type: application/x-ndjson'])
    code2, found = s.json('GET', '/api/v1/events?q=fine')
    check(code == 400 and 'offset' in json.dumps(body) and not (found or {}).get('events'),
          'a body with a malformed document is refused whole (400, byte offset, nothing stored)', (code, body, found))


def test_metrics(s):
    code, text = s.curl('GET', '/metrics')
    tcp = f'hisn_events_received_total{{input="tcp://127.0.0.1:{s.ports["tcp"]}"}}'
    m = re.search(re.escape(tcp) + r' (\d+)', text)
    check(code == 200 and m and int(m.group(1)) >= 2 and 'hisn_rule_matches_total{' in text
          and 'hisn_ingest_to_alert_seconds_bucket' in text and 'hisn_queue_depth' in text,
          '/metrics: events per input, matches per rule, latency histogram, queue depths', text[:2000])


def test_reload(s, rules_dir):
    rule = """title: Test reload canary
id: 0f0e1d2c-3b4a-4596-8877-66554433aa01
status: test
author: hisn tests
logsource:
    product: linux
detection:
    keywords:
        - canary-after-reload
    condition: keywords
level: high
"""
    open(os.path.join(rules_dir, 'canary.yml'), 'w').write(rule)
    s.proc.send_signal(signal.SIGHUP)
    ok, _ = wait_for(lambda: any('reload: done' in l for l in s.log), 30)
    logger(['--tcp', '--octet-count', '-n', '127.0.0.1', '-P', str(s.ports['tcp']), '-t', 'app'],
           'canary-after-reload here')
    found, _ = wait_for(lambda: alerts_of(s, 'Test reload canary'), 5)
    check(ok and found, 'SIGHUP reloads the rules: a rule added to a rules folder fires', s.text()[-800:])


def send_burst(port, n):
    sock = socket.create_connection(('127.0.0.1', port))
    buf = []
    for i in range(n):
        msg = f'<13>Nov 28 05:00:00 burst-host app[1]: burst line {i}'
        buf.append(f'{len(msg)} {msg}')
    sock.sendall(''.join(buf).encode())
    sock.close()


def stored_events(s):
    code, h = s.json('GET', '/api/v1/health')
    return h.get('store', {}).get('events') if code == 200 and isinstance(h, dict) else None


def test_sigterm_flush(s, data, tmp):
    before = stored_events(s)
    n = 20000
    def received():
        code, text = s.curl('GET', '/metrics')
        m = re.search(r'hisn_events_received_total\{input="tcp://[^"]*"\} (\d+)', text)
        return m and int(m.group(1))
    tcp0 = received()
    send_burst(s.ports['tcp'], n)
    # received = read from the socket (what the kernel still buffers at SIGTERM
    # is not read: TCP syslog has no acknowledgement, RELP has)
    wait_for(lambda: received() >= tcp0 + n, 60)
    rc = s.stop()
    check(rc == 0 and 'stopped:' in s.text(), 'SIGTERM stops cleanly (exit 0)', (rc, s.text()[-500:]))
    s2 = Server(data)
    s2.token = s.token
    after = stored_events(s2)
    check(before is not None and after == before + n,
          f'every record received before SIGTERM is stored ({n} sent)', (before, after))
    s2.stop()


def hisn_cli(args, stdin=None):
    return subprocess.run([HISN] + args, input=stdin, capture_output=True, text=True, timeout=120)


def test_cli_accounts(s):
    """hisn user add / token create on the data folder of a running server."""
    r = hisn_cli(['user', 'add', 'ana.lyst', '--role', 'analyst', '--password-stdin', '--data', s.data],
                 'a long enough password\n')
    code, me = s.json('POST', '/api/v1/auth/login', json.dumps({'username': 'ana.lyst',
                      'password': 'a long enough password'}), token=False,
                      headers=['Content-Type: application/json'])
    check(r.returncode == 0 and code == 200 and isinstance(me, dict) and 'analyst' in json.dumps(me),
          'hisn user add --password-stdin while the server runs: the user logs in with its role',
          (r.returncode, r.stderr, code, me))
    r = hisn_cli(['token', 'create', '--user', 'ana.lyst', '--name', 'ci', '--data', s.data])
    tok = r.stdout.strip()
    code, _ = s.curl('GET', '/api/v1/alerts', token=False, headers=['Authorization: Bearer ' + tok])
    code2, _ = s.curl('POST', '/api/v1/users', json.dumps({'name': 'x1234', 'password': 'another long password',
                      'role': 'admin'}), token=False,
                      headers=['Authorization: Bearer ' + tok, 'Content-Type: application/json'])
    check(r.returncode == 0 and tok and code == 200 and code2 == 403,
          'hisn token create prints a Bearer token that works, with the user\'s role (analyst: no user admin)',
          (r.returncode, r.stderr, code, code2))
    r = hisn_cli(['user', 'add', 'ana.lyst', '--role', 'viewer', '--password-stdin', '--data', s.data],
                 'a long enough password\n')
    r2 = hisn_cli(['user', 'add', 'shorty', '--role', 'viewer', '--password-stdin', '--data', s.data], 'short\n')
    r3 = hisn_cli(['token', 'create', '--user', 'nobody', '--data', s.data])
    check(r.returncode == 1 and 'exists' in r.stderr and r2.returncode == 1 and '12..256' in r2.stderr
          and r3.returncode == 1 and 'does not exist' in r3.stderr,
          'user add refuses a taken name and a short password; token create an unknown user',
          (r.stderr, r2.stderr, r3.stderr))


def test_cli_before_start(tmp):
    """A data folder set up by script before the first start: no generated admin."""
    data = os.path.join(tmp, 'scripted')
    r = hisn_cli(['user', 'add', 'root-admin', '--role', 'admin', '--password-stdin', '--data', data],
                 'scripted admin password\n')
    tok = hisn_cli(['token', 'create', '--user', 'root-admin', '--data', data]).stdout.strip()
    s = Server(data)
    s.token = tok
    code, users = s.json('GET', '/api/v1/users')
    names = [u.get('name') for u in users.get('users', [])] if isinstance(users, dict) else None
    check(r.returncode == 0 and code == 200 and names == ['root-admin']
          and not os.path.exists(os.path.join(data, 'initial-admin-password')),
          'user add and token create before the first start: the server uses them, generates no admin',
          (r.stderr, code, users))
    s.stop()


def free_port():
    with socket.socket() as so:
        so.bind(('127.0.0.1', 0))
        return so.getsockname()[1]


def count_marked(s, word, limit=1000):
    """The distinct texts of the events holding word (every page of the search)."""
    seen, dup, cursor = set(), 0, ''
    for _ in range(200):
        code, body = s.json('GET', f'/api/v1/events?q={word}&limit={limit}' + (f'&cursor={cursor}' if cursor else ''))
        if code != 200 or not isinstance(body, dict):
            return None, None
        for ev in body.get('events', []):
            m = re.search(word + r'-(\d+)', json.dumps(ev))
            if m:
                dup += m.group(1) in seen
                seen.add(m.group(1))
        cursor = body.get('next_cursor')
        if not cursor:
            break
    return seen, dup


def test_kill9_relp(tmp):
    """rsyslog (omrelp, retrying) sends N lines; the server is killed with
    SIGKILL while they flow, then restarted on the same port. Every line
    must be stored: those acknowledged before the kill come from the spool,
    the others are resent by rsyslog."""
    data, rs = os.path.join(tmp, 'k9data'), os.path.join(tmp, 'k9rs')
    os.mkdir(rs)
    port, n, word = free_port(), 20000, 'kninemark'
    s = Server(data, relp_port=port)
    if not check(s.ports.get('relp') == port, 'kill -9: server listens for RELP on a fixed port', s.text()):
        s.stop()
        return
    s.token = login(s, tmp)[3]
    open(os.path.join(rs, 'rsyslog.conf'), 'w').write(f"""global(workDirectory="{rs}")
module(load="imuxsock" SysSock.Use="off")
module(load="omrelp")
input(type="imuxsock" Socket="{rs}/log.sock" CreatePath="on" RateLimit.Interval="0")
action(type="omrelp" target="127.0.0.1" port="{port}" action.resumeRetryCount="-1"
       action.resumeInterval="1" queue.type="LinkedList" queue.size="200000")
""")
    with open(os.path.join(rs, 'lines'), 'w') as f:
        for i in range(n):
            f.write(f'{word}-{i} payload of line {i}\n')
    rsys = subprocess.Popen(['rsyslogd', '-n', '-f', os.path.join(rs, 'rsyslog.conf'), '-i',
                             os.path.join(rs, 'rsyslogd.pid')], stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(rs, 'rsyslogd.log'), 'w'))
    s2 = None
    try:
        wait_for(lambda: os.path.exists(os.path.join(rs, 'log.sock')), 10)
        feed = subprocess.Popen(['logger', '-u', os.path.join(rs, 'log.sock'), '-t', 'k9', '-f',
                                 os.path.join(rs, 'lines')])
        def received():
            code, text = s.curl('GET', '/metrics')
            m = re.search(r'hisn_events_received_total\{input="relp://[^"]*"\} (\d+)', text)
            p = re.search(r'hisn_spool_pending (\d+)', text)
            return m and p and int(m.group(1)) >= 2000 and int(p.group(1)) >= 50
        mid, _ = wait_for(received, 60)
        s.proc.kill()
        s.proc.wait(30)
        feed.wait(120)
        s2 = Server(data, relp_port=port)
        s2.token = s.token
        replayed = [l for l in s2.log if 'spool:' in l]
        got, _ = wait_for(lambda: (lambda r: r[0] if r[0] is not None and len(r[0]) >= n else None)(
            count_marked(s2, word)), 120)
        seen, dup = count_marked(s2, word)
        check(mid and seen is not None and len(seen) == n,
              f'kill -9 mid-stream over RELP: all {n} lines stored after the restart '
              f'({len(seen or ())} distinct, {dup} duplicates; {replayed[0].split("spool: ")[1][:40] if replayed else "nothing replayed"})',
              (mid, len(seen or ()), s2.text()[-600:], open(os.path.join(rs, 'rsyslogd.log')).read()[-600:]))
    finally:
        rsys.terminate()
        rsys.wait(30)
        if s.proc.poll() is None:
            s.proc.kill()
        if s2:
            s2.stop()


def test_kill9_ingest(tmp):
    """Every HTTPS ingest answered 2xx before a SIGKILL is there after the restart."""
    data = os.path.join(tmp, 'k9ingest')
    s = Server(data)
    s.token = login(s, tmp)[3]
    word, acked, stop = 'ingestkill', [], threading.Event()
    def post(k):
        body = ''.join(json.dumps({'message': f'{word}-{k * 50 + i} x', 'host': {'name': 'h'}}) + '\n'
                       for i in range(50))
        code, _ = s.curl('POST', '/api/v1/ingest', body, headers=['Content-Type: application/x-ndjson'])
        return code
    def loop():
        k = 0
        while not stop.is_set():
            if post(k) == 200:
                acked.append(k)
            k += 1
    th = threading.Thread(target=loop)
    th.start()
    wait_for(lambda: len(acked) >= 20, 60)
    s.proc.kill()
    s.proc.wait(30)
    stop.set()
    th.join(120)
    s2 = Server(data)
    s2.token = s.token
    seen, _ = count_marked(s2, word)
    want = {str(k * 50 + i) for k in acked for i in range(50)}
    check(len(acked) >= 20 and seen is not None and want <= seen,
          f'kill -9 during HTTPS ingest: all {len(want)} events of the {len(acked)} answered requests are stored',
          (len(acked), len(want - (seen or set()))))
    s2.stop()


def test_check_config(tmp):
    good = os.path.join(tmp, 'good.yml')
    open(good, 'w').write('data: %s\nsyslog:\n  - tcp://127.0.0.1:0\nhttp: https://127.0.0.1:0\n' % tmp)
    r = subprocess.run([HISN, 'server', '-c', good, '--check-config'], capture_output=True, text=True, timeout=120)
    check(r.returncode == 0 and 'configuration ok' in r.stderr, '--check-config accepts a good file', r.stderr)
    bad = os.path.join(tmp, 'bad.yml')
    open(bad, 'w').write('data: /tmp/x\nsyslgo: tcp://127.0.0.1:514\n')
    r = subprocess.run([HISN, 'server', '-c', bad, '--check-config'], capture_output=True, text=True, timeout=60)
    check(r.returncode == 3 and f'{bad}:2:1: unknown setting' in r.stderr,
          'an unknown setting is refused with FILE:LINE:COL (exit 3)', r.stderr)
    r = subprocess.run([HISN, 'server', '--syslog', 'tcp://127.0.0.1', '--check-config'],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode != 0 and 'tcp://127.0.0.1' in r.stderr, 'a listener without a port is refused', r.stderr)


def main():
    tmp = tempfile.mkdtemp(prefix='hisn-server-test-')
    data = os.path.join(tmp, 'data')
    rules_dir = os.path.join(tmp, 'rules')
    os.mkdir(rules_dir)
    try:
        test_check_config(tmp)
        s = Server(data, '--rules', os.path.join(ROOT, 'data', 'rules'), '--rules', rules_dir)
        try:
            test_first_start(s, tmp)
            if s.token:
                test_alert_within_a_second(s)
                test_udp_and_search(s)
                test_cli_accounts(s)
                test_no_pri(s)
                test_ingest(s)
                test_metrics(s)
                test_reload(s, rules_dir)
                test_sigterm_flush(s, data, tmp)
        finally:
            if s.proc.poll() is None:
                s.stop()
        test_cli_before_start(tmp)
        test_kill9_relp(tmp)
        test_kill9_ingest(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return plan()


if __name__ == '__main__':
    sys.exit(main())
