#!/usr/bin/env python3
"""Data-driven CLI tests, printed as TAP.

Each case is a folder tests/cases/<suite>/<name>/ holding:
  cmd       the arguments after the binary, one per line ("{dir}" is the case
            folder, "{shared}" is ../shared/data); default: parse {dir}/in
  in        input file (optional; read by the default cmd)
  stdin     bytes sent on standard input (optional)
  out       expected standard output, exactly
  err       expected standard error (optional; without it, stderr must be empty)
  status    expected exit status (optional; default 0)
"""
import os
import subprocess
import sys

def main():
    if len(sys.argv) != 4:
        print("usage: run_cases.py HISN CASES_DIR SHARED_DATA", file=sys.stderr)
        return 2
    hisn, root, shared = sys.argv[1:]
    cases = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        if 'out' in filenames:
            cases.append(dirpath)
    cases.sort()
    failed = 0
    for n, d in enumerate(cases, 1):
        name = os.path.relpath(d, root)
        def rd(f, mode='rb'):
            p = os.path.join(d, f)
            if not os.path.exists(p):
                return None
            with open(p, mode) as fh:
                return fh.read()
        cmd = rd('cmd', 'r')
        args = [a.replace('{dir}', d).replace('{shared}', shared)
                for a in (cmd.splitlines() if cmd is not None else ['parse', '{dir}/in'])
                if a != '']
        stdin = rd('stdin') or b''
        want_out = rd('out')
        want_err = rd('err')
        want_status = int((rd('status', 'r') or '0').strip())
        try:
            p = subprocess.run([hisn] + args, input=stdin, capture_output=True, timeout=60)
        except subprocess.TimeoutExpired:
            print(f"not ok {n} - {name} (timeout)")
            failed += 1
            continue
        problems = []
        if p.returncode != want_status:
            problems.append(f"exit status {p.returncode}, expected {want_status}")
        if p.stdout != want_out:
            problems.append("stdout differs")
        if p.stderr != (want_err or b''):
            problems.append("stderr differs")
        if problems:
            failed += 1
            print(f"not ok {n} - {name}: {'; '.join(problems)}")
            for line in p.stderr.decode(errors='replace').splitlines()[:20]:
                print(f"# stderr: {line}")
            if p.stdout != want_out:
                got = p.stdout.decode(errors='replace').splitlines()
                exp = want_out.decode(errors='replace').splitlines()
                for i in range(max(len(got), len(exp))):
                    g = got[i] if i < len(got) else '<none>'
                    e = exp[i] if i < len(exp) else '<none>'
                    if g != e:
                        print(f"# line {i + 1} expected: {e[:400]}")
                        print(f"# line {i + 1} got:      {g[:400]}")
                        break
        else:
            print(f"ok {n} - {name}")
    print(f"1..{len(cases)}")
    return 1 if failed else 0

if __name__ == '__main__':
    sys.exit(main())
