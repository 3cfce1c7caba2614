#!/usr/bin/env python3
"""Sigma rule semantics, data-driven, printed as TAP.

Usage: rule_cases.py HISN CASES_DIR [CASE_NAME_SUBSTRING...]

Each case is a folder CASES_DIR/<case>/ holding:
  rule.yml          one or more YAML documents: rules, filters, correlations
  events.jsonl      one JSON event per line; every event has a top-level
                    integer field "n" (1, 2, ...) that identifies it
  logsources.yml    (optional) logsource mapping given with --logsources
                    (after the shipped default, docs/LOGSOURCES.md); without it
                    the default mapping alone routes the events
  placeholders.yml  (optional) given with --placeholders (expand)
  expect            the expected results, one per line, sorted (byte order),
                    empty when nothing may match:
                      RULE_TITLE<TAB>n                  a rule matched event n
                      RULE_TITLE<TAB>corr<TAB>GROUP     a correlation result;
                                                        GROUP is the values of
                                                        its group-by fields in
                                                        group-by order, joined
                                                        by ','
The case runs
  HISN hunt --jsonl --rules rule.yml [--logsources logsources.yml]
            [--placeholders placeholders.yml] events.jsonl
and every output object of "type":"match" gives (rule_title, event.n), every
"type":"correlation" object (rule_title, corr, group values). The sorted
results must equal expect. The expected results come from the Sigma
specification (each rule.yml says which section), never from running hisn.
"""
import json
import os
import subprocess
import sys


def group_text(obj):
    """The group-by values of a correlation result, comma-joined."""
    g = obj.get('group', obj.get('group_by', obj.get('groups')))
    if g is None:
        return ''
    if isinstance(g, dict):
        vals = list(g.values())
    elif isinstance(g, list):
        vals = [v.get('value') if isinstance(v, dict) else v for v in g]
    else:
        vals = [g]
    return ','.join('' if v is None else str(v) for v in vals)


def results(out):
    got, bad = [], []
    for line in out.decode(errors='replace').splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            bad.append(line)
            continue
        kind = obj.get('type')
        title = obj.get('rule_title')
        if kind == 'match':
            ev = obj.get('event') or {}
            got.append(f"{title}\t{ev.get('n')}")
        elif kind == 'correlation':
            got.append(f"{title}\tcorr\t{group_text(obj)}")
        else:
            bad.append(line)
    return sorted(got), bad


def main():
    if len(sys.argv) < 3:
        print("usage: rule_cases.py HISN CASES_DIR [CASE...]", file=sys.stderr)
        return 2
    hisn, root = sys.argv[1], sys.argv[2]
    only = sys.argv[3:]
    cases = sorted(d for d in os.listdir(root)
                   if os.path.isfile(os.path.join(root, d, 'expect'))
                   and (not only or any(o in d for o in only)))
    failed = 0
    for num, name in enumerate(cases, 1):
        d = os.path.join(root, name)
        args = [hisn, 'hunt', '--jsonl', '--rules', os.path.join(d, 'rule.yml')]
        for opt, f in (('--logsources', 'logsources.yml'), ('--placeholders', 'placeholders.yml')):
            if os.path.isfile(os.path.join(d, f)):
                args += [opt, os.path.join(d, f)]
        args.append(os.path.join(d, 'events.jsonl'))
        with open(os.path.join(d, 'expect'), encoding='utf-8') as fh:
            want = [l for l in fh.read().split('\n') if l]
        try:
            p = subprocess.run(args, capture_output=True, timeout=60)
        except subprocess.TimeoutExpired:
            failed += 1
            print(f"not ok {num} - {name} (timeout)")
            continue
        got, bad = results(p.stdout)
        problems = []
        if p.returncode != 0:
            problems.append(f"exit status {p.returncode}")
        if bad:
            problems.append(f"{len(bad)} unexpected output lines")
        if got != sorted(want):
            problems.append("results differ")
        if b'runtime error:' in p.stderr or b'Sanitizer' in p.stderr:
            problems.append("sanitizer report on stderr")
        if problems:
            failed += 1
            print(f"not ok {num} - {name}: {'; '.join(problems)}")
            for line in p.stderr.decode(errors='replace').splitlines()[:10]:
                print(f"# stderr: {line}")
            for line in bad[:5]:
                print(f"# output: {line[:300]}")
            for line in sorted(set(want) - set(got)):
                print(f"# missing:    {line}")
            for line in sorted(set(got) - set(want)):
                print(f"# unexpected: {line}")
            if len(got) != len(set(got)) or len(want) != len(set(want)):
                print(f"# expected {len(want)} results, got {len(got)} (duplicates)")
        else:
            print(f"ok {num} - {name}")
    print(f"1..{len(cases)}")
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
