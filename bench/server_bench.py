#!/usr/bin/env python3
"""End-to-end benchmark of `hisn server` (figures in docs/PERFORMANCE.md).

Each scenario starts a fresh server (its own data folder, every port picked by
the kernel on 127.0.0.1, /metrics public), sends syslog lines to it with
bench/bench_net_send, samples /metrics and the server's /proc/PID/status every
second, waits until everything received is stored, stops the server and
prints what it measured.

  server_bench.py [--build DIR] [--scenario NAME]... [--seconds S] [--rate N]
                  [--workers N] [--events N] [--lines N] [--match-every N]
                  [--tmp DIR] [--keep] [--json FILE] [--server-arg=ARG]...

Scenarios (default: tcp sigma relp latency):
  tcp      TCP (LF-framed) as fast as the sender goes, the default rules
  sigma    the same with the default rules and the whole SigmaHQ corpus
           (../shared/data/sigma/rules: rules, rules-emerging-threats,
           rules-threat-hunting)
  tcp-paced, sigma-paced
           the same at --paced-rate events/s (default 100,000: the target
           load), for the RSS and latency at that load rather than when the
           queues are full
  relp     RELP (librelp client, acknowledged) as fast as it goes; checks
           that every acknowledged event is stored
  latency  TCP at --rate events/s (default 50,000: half the TCP target),
           the ingest-to-alert latency histogram
  search   --events events (default 10,000,000) sent over TCP into one data
           folder, then typical searches through the HTTP API, best of 5

Input (never copied into the repository; written under --tmp and deleted
after): --lines (default 200,000) lines of `scripts/gen-sample --seed 7`
(RFC 3164 Linux syslog: sshd, sudo, cron, systemd, logind, netfilter...), in
which every --match-every'th line (default 100, so 1 %) is replaced by the
next syslog line of tests/default-rules/*/match.log (lines that raise
default-rule alerts; each takes the time of the line it replaces, so that
event times follow arrival as in a live feed), and two of them by the RFC
3164/5424 seed lines of ../shared/data/linux/rsigma-input-formats when that
folder is there. Each line gets the <PRI> that rsyslog's forwarding templates
put first (authpriv.info; kern.warning for the kernel, cron.info, daemon.info
for systemd, authpriv.notice for sudo). The sender loops over the file; for
`search`, --events distinct lines are generated instead.

"Sustained" is the number of events *stored* (hisn_events_stored_total) per
second between the end of the warm-up (5 s) and the end of sending; the
drain (what was queued when the sender stopped) is reported separately. Each
result also gives the largest RSS sampled, the ingest-to-alert and commit
histograms' percentiles, the queue depths, the server's CPU per event (all
threads, and per thread), and the CPU other processes used meanwhile (the
machine may be shared: compare runs where that is low).

Needs a release build: meson setup build-bench -Dbuildtype=release &&
ninja -C build-bench (bench/bench_net_send is built with it).
"""
import argparse
import calendar
import glob
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import http.cookiejar

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests'))
from hisnproc import ServerProc  # noqa: E402  (the server process, shared with the tests)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.normpath(os.path.join(ROOT, '..', 'shared', 'data'))
SIGMA = os.path.join(SHARED, 'sigma', 'rules')
SYSLOG_RE = re.compile(r'^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ ')
WARMUP = 5.0


# ---- input --------------------------------------------------------------------------------
def match_lines():
    out = []
    for f in sorted(glob.glob(os.path.join(ROOT, 'tests', 'default-rules', '*', 'match*.log'))):
        out += [l for l in open(f, encoding='utf-8').read().splitlines() if SYSLOG_RE.match(l)]
    return out


def seed_lines():
    d = os.path.join(SHARED, 'linux', 'rsigma-input-formats')
    out = []
    for name in ('syslog_rfc3164', 'syslog_rfc5424'):
        p = os.path.join(d, name)
        if os.path.exists(p):
            out += [l for l in open(p, encoding='utf-8', errors='replace').read().splitlines() if l.strip()]
    return out


PRI = {'kernel': 4, 'CRON': 78, 'cron': 78, 'crontab': 78, 'systemd': 30, 'auditd': 30, 'sudo': 85}


def with_pri(line):
    """A file line as rsyslog forwards it: <PRI> first (facility and severity
    as gen-sample gives them: authpriv.info unless the program says otherwise)."""
    if line.startswith('<'):
        return line
    f = line.split(' ')
    prog = next((w for w in f[4:6] if w.endswith(':')), 'x:')[:-1].split('[')[0]
    return '<%d>%s' % (PRI.get(prog, 86), line)


def retime(line, like):
    """line with the time of the generated line it replaces (RFC 3164 or 5424
    header), so that event times follow arrival as in a live feed."""
    stamp = like[:15]
    m = re.match(r'(<\d+>)?([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d)', line)
    if m:
        return line[:m.start(2)] + stamp + line[m.end(2):]
    m = re.match(r'(<\d+>1 )(\S+)', line)
    if m:
        t = time.strptime('2026 ' + stamp, '%Y %b %d %H:%M:%S')
        return m.group(1) + time.strftime('%Y-%m-%dT%H:%M:%SZ', t) + line[m.end(2):]
    return line


def make_input(path, lines, every):
    gen = subprocess.run([sys.executable, os.path.join(ROOT, 'scripts', 'gen-sample'), '--lines', str(lines),
                          '--seed', '7'], capture_output=True, text=True, check=True).stdout.splitlines()
    extra = match_lines()
    seeds = seed_lines()
    k = s = 0
    for i in range(every - 1, len(gen), every):
        if seeds and s < len(seeds) and i // every % 50 == 0:
            gen[i] = retime(seeds[s], gen[i])
            s += 1
        elif extra:
            gen[i] = retime(extra[k % len(extra)], gen[i])
            k += 1
    with open(path, 'w', encoding='utf-8') as f:
        f.write('\n'.join(with_pri(l) for l in gen) + '\n')
    return {'file': path, 'lines': len(gen), 'bytes': os.path.getsize(path),
            'rule_lines': k, 'seed_lines': s, 'match_pool': len(extra)}


# ---- the server ---------------------------------------------------------------------------
class Server(ServerProc):
    def __init__(self, hisn, data, rules=(), workers=None, extra=()):
        self.data = data
        args = [hisn, 'server', '--data', data, '--syslog', 'tcp://127.0.0.1:0', '--relp', '127.0.0.1:0',
                '--http', 'http://127.0.0.1:0', '--metrics-public']
        for r in rules:
            args += ['--rules', r]
        if workers is not None:
            args += ['--workers', str(workers)]
        self.workers = workers
        ServerProc.__init__(self, args + list(extra), wait=120)
        if self.proc.poll() is not None or 'tcp' not in self.ports or 'http' not in self.ports:
            raise SystemExit('server_bench: the server did not start:\n' + '\n'.join(self.log[-20:]))
        self.base = f"http://127.0.0.1:{self.ports['http']}"
        self.token = None

    def get(self, path, timeout=30):
        req = urllib.request.Request(self.base + path)
        if self.token:
            req.add_header('Authorization', 'Bearer ' + self.token)
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.read()

    def metrics(self):
        m = {}
        for line in self.get('/metrics').decode().splitlines():
            if line and not line.startswith('#'):
                k, _, v = line.rpartition(' ')
                try:
                    m[k] = float(v)
                except ValueError:
                    pass
        return m

    def status(self):
        st = {}
        with open(f'/proc/{self.proc.pid}/status') as f:
            for line in f:
                k, _, v = line.partition(':')
                if k in ('VmRSS', 'VmHWM', 'Threads'):
                    st[k] = int(v.split()[0])
        with open(f'/proc/{self.proc.pid}/stat') as f:
            fields = f.read().rpartition(')')[2].split()
        st['cpu'] = (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
        return st

    def threads(self):
        """{tid: (comm, CPU seconds)} of the server's threads."""
        tk = os.sysconf('SC_CLK_TCK')
        out = {}
        base = f'/proc/{self.proc.pid}/task'
        for tid in os.listdir(base):
            try:
                comm = open(f'{base}/{tid}/comm').read().strip()
                f = open(f'{base}/{tid}/stat').read().rpartition(')')[2].split()
            except OSError:
                continue
            out[int(tid)] = (comm, (int(f[11]) + int(f[12])) / tk)
        return out

    def thread_names(self, snap):
        """Names for the threads of a snapshot: named threads by their name
        (hisn-net, hisn-relp, hisn-ckpt...), the unnamed ones by start order:
        main, the writer, the workers, then the rest."""
        names, unnamed = {}, 0
        workers = self.workers or os.cpu_count()
        for tid in sorted(snap):
            comm = snap[tid][0]
            if comm.startswith('hisn-'):
                names[tid] = comm[5:]
            elif comm == 'hisn':
                names[tid] = 'main' if unnamed == 0 else 'writer' if unnamed == 1 else \
                    'worker%d' % (unnamed - 1) if unnamed <= 1 + workers else 'other'
                unnamed += 1
            else:
                names[tid] = 'other'
        return names

    def login(self):
        """The first-admin flow: the generated password, a session, an API token."""
        pw = open(os.path.join(self.data, 'initial-admin-password')).read().strip()
        jar = http.cookiejar.CookieJar()
        op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        r = op.open(urllib.request.Request(self.base + '/api/v1/auth/login',
                                           json.dumps({'username': 'admin', 'password': pw}).encode(),
                                           {'Content-Type': 'application/json'}))
        csrf = json.loads(r.read())['csrf_token']
        r = op.open(urllib.request.Request(self.base + '/api/v1/tokens', json.dumps({'name': 'bench'}).encode(),
                                           {'Content-Type': 'application/json', 'X-CSRF-Token': csrf}))
        self.token = json.loads(r.read())['token']

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(300)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None


def busy_s():
    """CPU seconds the whole machine was busy (every core), from /proc/stat."""
    with open('/proc/stat') as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / os.sysconf('SC_CLK_TCK')  # minus idle and iowait


def rus(who):
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def total(m, name):
    return sum(v for k, v in m.items() if k == name or k.startswith(name + '{'))


def hist_quantile(m, name, q):
    """(upper bound of the bucket holding the q quantile, linear estimate), from cumulative buckets."""
    buckets = []
    for k, v in m.items():
        mm = re.fullmatch(re.escape(name) + r'_bucket\{le="([^"]+)"\}', k)
        if mm:
            buckets.append((float('inf') if mm.group(1) == '+Inf' else float(mm.group(1)), v))
    buckets.sort()
    n = m.get(name + '_count', 0)
    if not n:
        return None, None
    want, prev_le, prev_c = q * n, 0.0, 0.0
    for le, c in buckets:
        if c >= want:
            if le == float('inf'):
                return le, None
            return le, prev_le + (le - prev_le) * (want - prev_c) / max(c - prev_c, 1)
        prev_le, prev_c = le, c
    return None, None


class Sampler:
    def __init__(self, srv):
        self.srv, self.rows, self.stop_ev = srv, [], threading.Event()
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()

    def _run(self):
        while not self.stop_ev.is_set():
            t = time.monotonic()
            try:
                m, st = self.srv.metrics(), self.srv.status()
                self.rows.append({'t': t, 'stored': total(m, 'hisn_events_stored_total'),
                                  'received': total(m, 'hisn_events_received_total'),
                                  'qin': m.get('hisn_queue_depth{queue="input"}', 0),
                                  'qstore': m.get('hisn_queue_depth{queue="store"}', 0),
                                  'rss': st['VmRSS'], 'hwm': st['VmHWM'], 'cpu': st['cpu']})
            except (OSError, ValueError, KeyError):
                pass
            self.stop_ev.wait(max(0.0, 1.0 - (time.monotonic() - t)))

    def stop(self):
        self.stop_ev.set()
        self.th.join()


def at(rows, t):
    """The last sample taken at or before t."""
    best = rows[0]
    for r in rows:
        if r['t'] <= t:
            best = r
    return best


# ---- one run ------------------------------------------------------------------------------
def run(a, name, proto, input_file, rules=(), rate=0, seconds=None, count=0, keep_server=False):
    seconds = seconds or a.seconds
    data = tempfile.mkdtemp(prefix='hisn-bench-', dir=a.tmp)
    srv = Server(os.path.join(a.build, 'hisn'), data, rules, a.workers, a.server_arg or ())
    m0 = srv.metrics()
    cpu0 = srv.status()['cpu']
    samp = Sampler(srv)
    th0 = None
    cmd = [os.path.join(a.build, 'bench', 'bench_net_send'), proto, '127.0.0.1', str(srv.ports[proto]), input_file]
    cmd += ['--count', str(count)] if count else ['--seconds', str(seconds)]
    if rate:
        cmd += ['--rate', str(rate)]
    load0 = os.getloadavg()[0]
    t0 = time.monotonic()
    busy0, me0, kids0, srv0 = busy_s(), rus(resource.RUSAGE_SELF), rus(resource.RUSAGE_CHILDREN), srv.status()['cpu']
    snd = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(WARMUP)
    th0, tw0 = srv.threads(), time.monotonic()
    so, se = snd.communicate()
    t1 = time.monotonic()
    sender_cpu = rus(resource.RUSAGE_CHILDREN) - kids0
    others = busy_s() - busy0 - (srv.status()['cpu'] - srv0) - sender_cpu - (rus(resource.RUSAGE_SELF) - me0)
    th1 = srv.threads()
    out = subprocess.CompletedProcess(cmd, snd.returncode, so, se)
    sender = out.stdout.strip() or out.stderr.strip()
    ms = re.search(r'(sent|acked) (\d+) messages', sender)
    sent = int(ms.group(2)) if ms else 0
    # drain: until everything received (and, for RELP, acknowledged) is stored
    drained = None
    while time.monotonic() - t1 < 600:
        m = srv.metrics()
        st, rc = total(m, 'hisn_events_stored_total'), total(m, 'hisn_events_received_total')
        if st >= rc and st >= sent:
            drained = time.monotonic()
            break
        time.sleep(0.2)
    time.sleep(1.2)
    samp.stop()
    m = srv.metrics()
    st = srv.status()
    rows = samp.rows
    w0, w1 = at(rows, t0 + WARMUP), at(rows, t1)
    names, tcpu = srv.thread_names(th1), {}
    for tid, (comm, cpu) in th1.items():  # CPU of each thread during the window, by name
        if tid in th0:
            tcpu[names[tid]] = tcpu.get(names[tid], 0) + cpu - th0[tid][1]
    sustained = (w1['stored'] - w0['stored']) / (w1['t'] - w0['t']) if w1['t'] > w0['t'] else 0
    in_window = [r for r in rows if w0['t'] <= r['t'] <= w1['t']]
    res = {
        'scenario': name, 'proto': proto, 'input': os.path.basename(input_file), 'rules': list(rules) or ['data/rules'],
        'rate_asked': rate or None, 'send_seconds': round(t1 - t0, 2), 'sender': sender,
        'load_before': round(load0, 2),
        'sender_cpu_pct': round(100 * sender_cpu / (t1 - t0)),
        'other_processes_cpu_pct': round(100 * others / (t1 - t0)),
        'sent': sent, 'received': total(m, 'hisn_events_received_total') - total(m0, 'hisn_events_received_total'),
        'stored': total(m, 'hisn_events_stored_total') - total(m0, 'hisn_events_stored_total'),
        'window_s': round(w1['t'] - w0['t'], 1), 'sustained_stored_per_s': round(sustained),
        'overall_stored_per_s': round((total(m, 'hisn_events_stored_total') - total(m0, 'hisn_events_stored_total'))
                                      / ((drained or time.monotonic()) - t0)),
        'drain_s': round(drained - t1, 2) if drained else None,
        'parse_errors': total(m, 'hisn_parse_errors_total'), 'store_errors': total(m, 'hisn_store_errors_total'),
        'alerts_new': m.get('hisn_alerts_total{grouped="false"}', 0),
        'alerts_grouped': m.get('hisn_alerts_total{grouped="true"}', 0),
        'rule_matches': total(m, 'hisn_rule_matches_total'),
        'latency_count': m.get('hisn_ingest_to_alert_seconds_count', 0),
        'latency_p50_s': hist_quantile(m, 'hisn_ingest_to_alert_seconds', 0.5),
        'latency_p99_s': hist_quantile(m, 'hisn_ingest_to_alert_seconds', 0.99),
        'latency_mean_s': (m.get('hisn_ingest_to_alert_seconds_sum', 0) / m['hisn_ingest_to_alert_seconds_count']
                           if m.get('hisn_ingest_to_alert_seconds_count') else None),
        'commits': m.get('hisn_store_commit_seconds_count', 0),
        'commit_mean_s': (m.get('hisn_store_commit_seconds_sum', 0) / m['hisn_store_commit_seconds_count']
                          if m.get('hisn_store_commit_seconds_count') else None),
        'commit_p99_s': hist_quantile(m, 'hisn_store_commit_seconds', 0.99),
        'queue_in_mean': round(sum(r['qin'] for r in in_window) / max(len(in_window), 1)),
        'queue_store_mean': round(sum(r['qstore'] for r in in_window) / max(len(in_window), 1), 1),
        'rss_max_mb': round(max([r['rss'] for r in rows] + [st['VmRSS']]) / 1024, 1),
        'vmhwm_mb': round(st['VmHWM'] / 1024, 1),
        'server_cpu_s': round(st['cpu'] - cpu0, 1),
        'server_cpu_us_per_event': round(1e6 * (st['cpu'] - cpu0) / max(total(m, 'hisn_events_stored_total') - total(m0, 'hisn_events_stored_total'), 1), 2),
        'thread_cpu_pct': {k: round(100 * v / (t1 - tw0)) for k, v in sorted(tcpu.items()) if v > 0.05 * (t1 - tw0)},
        'thread_cpu_us_per_event': {k: round(1e6 * v / max(w1['stored'] - at(rows, tw0)['stored'], 1), 2)
                                    for k, v in sorted(tcpu.items()) if v > 0.05 * (t1 - tw0)},
        'server_cpu_pct': round(100 * (st['cpu'] - cpu0) / ((drained or time.monotonic()) - t0)),
        'disk_mb': round(sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(data) for f in fs) / 1e6),
    }
    if not keep_server:
        res['exit'] = srv.stop()
        if not a.keep:
            shutil.rmtree(data, ignore_errors=True)
        else:
            res['data'] = data
        return res, None
    return res, srv


SEARCHES = [
    ('newest 100, no filter', {}),
    ('host filter + 1 h', {'host': 'web01', 'range_h': 1}),
    ('user filter + 1 day', {'user': 'alice', 'range_h': 24}),
    ('program filter + 1 h', {'program': 'sshd', 'range_h': 1}),
    ('source address + all time', {'src_ip': '198.51.100.77'}),
    ('full text "Failed" + 1 h', {'q': 'Failed', 'range_h': 1}),
    ('full text "Failed", all time', {'q': 'Failed'}),
    ('full text phrase "session opened" + 1 day', {'q': '"session opened"', 'range_h': 24}),
    ('rare word "sysupd", all time', {'q': 'sysupd'}),
    ('JSON path field.process.pid + 1 h (slow path)', {'field.process.pid': '4242', 'range_h': 1}),
]


def iso(ts):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(ts))


def search(a, inp):
    res, srv = run(a, 'search', 'tcp', inp['file'], count=a.events, keep_server=True)
    srv.login()
    # ranges end at the time of the input's middle line (gen-sample starts on
    # 2026-05-04 and writes RFC 3164 times, which have no year)
    with open(inp['file'], encoding='utf-8') as f:
        lines = f.read().splitlines()
    mid = next(l for l in lines[len(lines) // 2:] if re.match(r'<\d+>[A-Z][a-z]{2} ', l))
    t_end = calendar.timegm(time.strptime('2026 ' + mid.split('>', 1)[1][:15], '%Y %b %d %H:%M:%S'))
    sent = set(lines)
    del lines
    raw_ok = raw_n = 0
    res['queries'] = []
    for label, q in SEARCHES:
        params = {k: v for k, v in q.items() if k != 'range_h'}
        if 'range_h' in q:
            params['from'], params['to'] = iso(t_end - q['range_h'] * 3600), iso(t_end)
        params['limit'] = '100'
        path = '/api/v1/events?' + urllib.parse.urlencode(params)
        times, n = [], 0
        for _ in range(5):
            t = time.perf_counter()
            body = srv.get(path, timeout=120)
            times.append(time.perf_counter() - t)
            evs = json.loads(body).get('events', [])
            n = len(evs)
        for ev in evs:  # the raw record read back is the line sent
            raw_n += 1
            raw_ok += ev.get('raw') in sent
        res['queries'].append({'query': label, 'path': path, 'events': n, 'first_ms': round(times[0] * 1000, 2),
                               'best_ms': round(min(times) * 1000, 2),
                               'median_ms': round(sorted(times)[2] * 1000, 2)})
    res['raw_read_back'] = f'{raw_ok} of {raw_n} identical to the line sent'
    res['exit'] = srv.stop()
    if not a.keep:
        shutil.rmtree(srv.data, ignore_errors=True)
    else:
        res['data'] = srv.data
    return res


def machine():
    model = ''
    for line in open('/proc/cpuinfo'):
        if line.startswith('model name'):
            model = line.split(':', 1)[1].strip()
            break
    mem = 0
    for line in open('/proc/meminfo'):
        if line.startswith('MemTotal'):
            mem = int(line.split()[1]) // 1024
    return {'nproc': os.cpu_count(), 'model': model, 'mem_mib': mem, 'load_before': os.getloadavg()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--build', default=os.path.join(ROOT, 'build-bench'))
    ap.add_argument('--scenario', action='append',
                    choices=['tcp', 'sigma', 'tcp-paced', 'sigma-paced', 'relp', 'latency', 'search'])
    ap.add_argument('--paced-rate', type=float, default=100000, help='events/s of tcp-paced and sigma-paced')
    ap.add_argument('--seconds', type=float, default=40)
    ap.add_argument('--rate', type=float, default=50000, help='events/s of the latency scenario')
    ap.add_argument('--workers', type=int)
    ap.add_argument('--lines', type=int, default=200000)
    ap.add_argument('--match-every', type=int, default=100)
    ap.add_argument('--events', type=int, default=10000000)
    ap.add_argument('--tmp', default=tempfile.gettempdir())
    ap.add_argument('--keep', action='store_true', help='keep the data folders')
    ap.add_argument('--server-arg', action='append', help='extra argument for hisn server (repeat: --server-arg=--queue --server-arg=16384)')
    ap.add_argument('--json', help='append one JSON object per scenario to this file')
    a = ap.parse_args()
    scen = a.scenario or ['tcp', 'sigma', 'relp', 'latency']
    print(json.dumps({'machine': machine()}))
    work = tempfile.mkdtemp(prefix='hisn-bench-in-', dir=a.tmp)
    try:
        inp = make_input(os.path.join(work, 'input.log'), a.lines, a.match_every)
        print(json.dumps({'input': inp}))
        sigma = [os.path.join(SIGMA, d) for d in ('rules', 'rules-emerging-threats', 'rules-threat-hunting')]
        for s in scen:
            paced = a.paced_rate if s.endswith('-paced') else 0
            if s in ('tcp', 'tcp-paced'):
                r, _ = run(a, s, 'tcp', inp['file'], rate=paced)
            elif s in ('sigma', 'sigma-paced'):
                if not os.path.isdir(SIGMA):
                    print(json.dumps({'scenario': s, 'skipped': SIGMA + ' is missing'}))
                    continue
                r, _ = run(a, s, 'tcp', inp['file'], rules=[os.path.join(ROOT, 'data', 'rules')] + sigma, rate=paced)
            elif s == 'relp':
                r, _ = run(a, s, 'relp', inp['file'])
                r['acked_all_stored'] = r['stored'] == r['sent'] and r['sender'].startswith('acked')
            elif s == 'latency':
                r, _ = run(a, s, 'tcp', inp['file'], rate=a.rate)
            else:
                big = make_input(os.path.join(work, 'search.log'), a.events, a.match_every)
                print(json.dumps({'input': big}))
                r = search(a, big)
            print(json.dumps(r))
            sys.stdout.flush()
            if a.json:
                with open(a.json, 'a') as f:
                    f.write(json.dumps(r) + '\n')
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
