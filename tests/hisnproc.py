"""hisnproc.py: what the server tests (tests/server_*.py) and
bench/server_bench.py share: TAP checks, polling, and a `hisn server`
process started with every port picked by the kernel, whose log (stderr) is
read in a thread and whose ports are read from its "listening:" lines."""
import re
import signal
import subprocess
import sys
import threading
import time

results = []  # one bool per check, in order
procs = []    # every process a test started, ended by end_all
SANITIZER = re.compile(r'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:')


def check(ok, name, detail=''):
    """Prints a TAP line; on failure the first 30 lines of detail as comments."""
    results.append(bool(ok))
    print(('ok' if ok else 'not ok') + f' {len(results)} - {name}')
    if not ok and detail:
        for line in str(detail).splitlines()[:30]:
            print('#   ' + line)
    sys.stdout.flush()
    return ok


def plan():
    """Prints the TAP plan; the exit status of the test."""
    print(f'1..{len(results)}')
    return 0 if all(results) else 1


def on_signal(signum, frame):
    print(f'Bail out! stopped by signal {signum}')
    sys.stdout.flush()
    raise SystemExit(128 + signum)  # unwinds through the finally blocks


def bail_on_signals():
    """SIGTERM, SIGINT, SIGHUP end the test through its finally blocks."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)


def end_all():
    """Kills every process in procs that still runs (a test's finally)."""
    for p in procs:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                pass


def sanitizer_checks(s):
    """After the server ended: no AddressSanitizer, LeakSanitizer or UBSan report."""
    bad = [line for line in s.log if SANITIZER.search(line)]
    check(not bad, 'the server log has no sanitizer report', '\n'.join(s.log[-60:]) if bad else '')


def wait_for(fn, timeout, step=0.05):
    """Calls fn until it returns something true or timeout seconds pass; its last value."""
    t0 = time.monotonic()
    while True:
        r = fn()
        if r or time.monotonic() - t0 > timeout:
            return r
        time.sleep(step)


class ServerProc:
    """`hisn server ARGS...` in the background. After the constructor: log
    (the lines so far, growing), ports ({'tcp': 41235, 'https': 38211...} for
    the listeners on 127.0.0.1), proc. procs, when given, collects the process
    so that the caller can end it whatever happens."""

    def __init__(self, args, wait=300, procs=None):
        self.args = list(args)
        self.log = []
        self.ports = {}
        self.ready = threading.Event()
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True, errors='replace')
        if procs is not None:
            procs.append(self.proc)
        threading.Thread(target=self._read, daemon=True).start()
        self.ready.wait(wait)
        for line in self.log:
            m = re.search(r'listening: (\w+)://127\.0\.0\.1:(\d+)', line)
            if m:
                self.ports[m.group(1)] = int(m.group(2))

    def _read(self):
        for line in self.proc.stderr:
            self.log.append(line.rstrip('\n'))
            if ' ready (' in line or 'cannot start' in line:
                self.ready.set()
        self.ready.set()

    def text(self):
        return '\n'.join(self.log)
