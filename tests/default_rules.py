#!/usr/bin/env python3
"""hisn's default ruleset (data/rules/), each rule file tested, printed as TAP.

Usage: default_rules.py HISN SOURCE_ROOT [NAME_SUBSTRING...]

SOURCE_ROOT/data/rules/**/<name>.yml are the rule files;
SOURCE_ROOT/tests/default-rules/<name>/ is the test folder of each (the file's
base name without .yml; base names are unique across the subfolders). A
folder holds raw log files (*.log, any format hisn parses: syslog, auditd,
access logs...) and an `expect` file (README.md in tests/default-rules/).

For every input file the runner runs
  HISN hunt -q --jsonl --ref-time 2026-11-28T00:00:00Z --rules SOURCE_ROOT/data/rules FILE
(the whole default ruleset, as `hisn server` loads it) and compares every
result, with its count, to the lines of `expect` for that file: one TAP test
per input file. A match result is its rule title; a correlation result is
title, "corr" and its group-by values joined by ','.

Then, one TAP test per rule file, the checks of the ruleset itself:
  - every document has title, id (a UUID v4), status test or stable,
    description, author "hisn project", date, level, falsepositives, and tags
    with an ATT&CK tactic (attack.<name>) and technique (attack.tNNNN);
  - ids and titles are unique across data/rules;
  - the file has a test folder with at least one positive input (match*.log)
    and one negative input (nomatch*.log);
  - each positive input fires at least one rule of the file, and no negative
    input fires any rule of the file;
  - every rule of the file is fired by a positive input of its folder (a rule
    that only feeds correlations counts as fired when a correlation using it
    fires);
  - every input file of the folder is listed in `expect`.
A test folder without a rule file is a failure too.
"""
import json
import os
import re
import subprocess
import sys
from collections import Counter

REF_TIME = '2026-11-28T00:00:00Z'
UUID4 = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$')
TACTICS = {'reconnaissance', 'resource-development', 'initial-access', 'execution',
           'persistence', 'privilege-escalation', 'defense-evasion', 'credential-access',
           'discovery', 'lateral-movement', 'collection', 'command-and-control',
           'exfiltration', 'impact'}
TECHNIQUE = re.compile(r'^attack\.t\d{4}(\.\d{3})?$')


def unquote(v):
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in '\'"':
        v = v[1:-1]
    return v


def parse_rule_file(path):
    """The metadata of each YAML document of a rule file.

    A deliberately small reader (the suite needs no PyYAML): top-level
    `key: scalar` lines, the items of the top-level lists `tags` and
    `falsepositives`, and the `rules:` list inside `correlation:`. hisn's
    rule files are written in that plain block style."""
    docs, cur = [], None
    key, sub = None, None
    with open(path, encoding='utf-8') as fh:
        lines = fh.read().split('\n')
    for raw in lines + ['---']:
        line = raw.rstrip()
        if line == '---':
            if cur is not None and cur['keys']:
                docs.append(cur)
            cur = {'keys': {}, 'lists': {}, 'corr_rules': [], 'line': 0}
            key = sub = None
            continue
        if cur is None:
            cur = {'keys': {}, 'lists': {}, 'corr_rules': [], 'line': 0}
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        m = re.match(r'^([A-Za-z_][\w-]*):\s*(.*)$', line)
        if m:
            key, sub = m.group(1), None
            cur['keys'][key] = unquote(m.group(2))
            continue
        m = re.match(r'^    - (.*)$', line)
        if m and key in ('tags', 'falsepositives', 'references'):
            cur['lists'].setdefault(key, []).append(unquote(m.group(1)))
            continue
        if key == 'correlation':
            m = re.match(r'^    ([A-Za-z_][\w-]*):', line)
            if m:
                sub = m.group(1)
                continue
            m = re.match(r'^        - (.*)$', line)
            if m and sub == 'rules':
                cur['corr_rules'].append(unquote(m.group(1)))
    return docs


def check_meta(doc):
    k, problems = doc['keys'], []
    title = k.get('title', '')
    if not title:
        problems.append('a document without title')
    for f in ('id', 'status', 'description', 'author', 'date', 'level'):
        if not k.get(f):
            problems.append(f"{title}: no {f}")
    if not UUID4.match(k.get('id', '')):
        problems.append(f"{title}: id is not a UUID v4")
    if k.get('status') not in ('test', 'stable'):
        problems.append(f"{title}: status is not test or stable")
    if k.get('author') != 'hisn project':
        problems.append(f"{title}: author is not 'hisn project'")
    if k.get('level') not in ('informational', 'low', 'medium', 'high', 'critical'):
        problems.append(f"{title}: no valid level")
    if not doc['lists'].get('falsepositives'):
        problems.append(f"{title}: no falsepositives")
    tags = doc['lists'].get('tags', [])
    if not any(t.startswith('attack.') and t[7:] in TACTICS for t in tags):
        problems.append(f"{title}: no ATT&CK tactic tag")
    if not any(TECHNIQUE.match(t) for t in tags):
        problems.append(f"{title}: no ATT&CK technique tag")
    if 'logsource' not in k and 'correlation' not in k:
        problems.append(f"{title}: neither logsource nor correlation")
    return problems


def group_text(obj):
    g = obj.get('group')
    if g is None:
        return ''
    vals = list(g.values()) if isinstance(g, dict) else (g if isinstance(g, list) else [g])
    return ','.join('' if v is None else str(v) for v in vals)


def run_hunt(hisn, rules_dir, path):
    """(Counter of result keys, problems)."""
    args = [hisn, 'hunt', '-q', '--jsonl', '--ref-time', REF_TIME, '--rules', rules_dir, path]
    try:
        p = subprocess.run(args, capture_output=True, timeout=120)
    except subprocess.TimeoutExpired:
        return Counter(), ['timeout']
    got, problems = Counter(), []
    if p.returncode != 0:
        problems.append(f"exit status {p.returncode}")
    if p.stderr.strip():
        problems.append('output on stderr: ' + p.stderr.decode(errors='replace').splitlines()[0][:200])
    for line in p.stdout.decode(errors='replace').splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            problems.append(f"not JSON: {line[:200]}")
            continue
        if obj.get('type') == 'match':
            got[obj.get('rule_title')] += 1
        elif obj.get('type') == 'correlation':
            got[f"{obj.get('rule_title')}\tcorr\t{group_text(obj)}"] += 1
        else:
            problems.append(f"unexpected output: {line[:200]}")
    return got, problems


def read_expect(path):
    """{input file: Counter}, problems. Lines: FILE<TAB>TITLE<TAB>COUNT,
    FILE<TAB>TITLE<TAB>corr<TAB>GROUP<TAB>COUNT, or FILE<TAB>- (nothing)."""
    want, problems = {}, []
    with open(path, encoding='utf-8') as fh:
        for n, line in enumerate(fh, 1):
            line = line.rstrip('\n')
            if not line.strip() or line.startswith('#'):
                continue
            parts = line.split('\t')
            c = want.setdefault(parts[0], Counter())
            if len(parts) == 2 and parts[1] == '-':
                continue
            if len(parts) in (3, 5) and parts[-1].isdigit() and (len(parts) == 3 or parts[2] == 'corr'):
                c['\t'.join(parts[1:-1])] += int(parts[-1])
            else:
                problems.append(f"expect:{n}: cannot read {line!r}")
    return want, problems


def main():
    if len(sys.argv) < 3:
        print("usage: default_rules.py HISN SOURCE_ROOT [NAME...]", file=sys.stderr)
        return 2
    hisn, root = sys.argv[1], sys.argv[2]
    only = sys.argv[3:]
    rules_dir = os.path.join(root, 'data', 'rules')
    tests_dir = os.path.join(root, 'tests', 'default-rules')

    rule_files = {}
    for dp, dns, fns in os.walk(rules_dir):
        dns[:] = sorted(d for d in dns if not d.startswith('.'))
        for fn in sorted(fns):
            if fn.endswith(('.yml', '.yaml')) and not fn.startswith('.'):
                base = fn.rsplit('.', 1)[0]
                rel = os.path.relpath(os.path.join(dp, fn), rules_dir)
                if base in rule_files:
                    rule_files[base + ' (duplicate base name)'] = rel
                rule_files[base] = rel
    folders = sorted(d for d in os.listdir(tests_dir)
                     if os.path.isdir(os.path.join(tests_dir, d))) if os.path.isdir(tests_dir) else []

    num, failed = 0, 0

    def report(name, problems, notes=()):
        nonlocal num, failed
        num += 1
        if problems:
            failed += 1
            print(f"not ok {num} - {name}")
            for p in problems:
                for l in str(p).splitlines():
                    print(f"# {l}")
        else:
            print(f"ok {num} - {name}")
        for l in notes:
            print(f"# {l}")

    # every document of every file, for uniqueness and references
    all_docs = {base: parse_rule_file(os.path.join(rules_dir, rel)) for base, rel in rule_files.items()}
    ids, titles = Counter(), Counter()
    ref_title = {}  # a correlation's reference (name or id) -> title
    for docs in all_docs.values():
        for d in docs:
            ids[d['keys'].get('id')] += 1
            titles[d['keys'].get('title')] += 1
            for k in ('id', 'name'):
                if d['keys'].get(k):
                    ref_title[d['keys'][k]] = d['keys'].get('title')

    fired = {}   # base -> set of titles fired by its positive inputs
    outputs = {}  # (base, input) -> Counter
    for base in sorted(set(folders) | set(rule_files)):
        if only and not any(o in base for o in only):
            continue
        d = os.path.join(tests_dir, base)
        if not os.path.isdir(d):
            continue
        inputs = sorted(f for f in os.listdir(d) if f.endswith('.log'))
        exp_path = os.path.join(d, 'expect')
        want, exp_problems = read_expect(exp_path) if os.path.isfile(exp_path) else ({}, ['no expect file'])
        fired[base] = set()
        for f in inputs:
            got, problems = run_hunt(hisn, rules_dir, os.path.join(d, f))
            outputs[(base, f)] = got
            problems = list(problems) + exp_problems
            w = want.get(f)
            if w is None:
                problems.append(f"{f} is not listed in expect")
            elif got != w:
                problems.append('results differ')
                for k in sorted(set(w) | set(got)):
                    if w[k] != got[k]:
                        problems.append(f"  {k!r}: expected {w[k]}, got {got[k]}")
            if f.startswith('match'):
                fired[base] |= {k.split('\t')[0] for k in got}
            report(f"{base}/{f}", problems)
        for f in sorted(set(want) - set(inputs)):
            report(f"{base}/{f}", [f"listed in expect, but {f} does not exist"])

    for base in sorted(set(folders) | set(rule_files)):
        if only and not any(o in base for o in only):
            continue
        problems = []
        if base not in rule_files:
            report(f"rules {base}", [f"tests/default-rules/{base}/ has no rule file in data/rules"])
            continue
        rel = rule_files[base]
        docs = all_docs[base]
        if not docs:
            problems.append('no rule in the file')
        for doc in docs:
            problems += check_meta(doc)
            if ids[doc['keys'].get('id')] > 1:
                problems.append(f"{doc['keys'].get('title')}: id used more than once in data/rules")
            if titles[doc['keys'].get('title')] > 1:
                problems.append(f"{doc['keys'].get('title')}: title used more than once in data/rules")
        if base not in folders:
            problems.append(f"no test folder tests/default-rules/{base}/")
            report(f"rules {rel}", problems)
            continue
        d = os.path.join(tests_dir, base)
        inputs = sorted(f for f in os.listdir(d) if f.endswith('.log'))
        pos = [f for f in inputs if f.startswith('match')]
        neg = [f for f in inputs if f.startswith('nomatch')]
        if not pos:
            problems.append('no positive input (match*.log)')
        if not neg:
            problems.append('no negative input (nomatch*.log)')
        own = {doc['keys'].get('title') for doc in docs}
        for f in pos:
            if not own & set(k.split('\t')[0] for k in outputs.get((base, f), {})):
                problems.append(f"{f} fires no rule of {rel}")
        for f in neg:
            hit = own & set(k.split('\t')[0] for k in outputs.get((base, f), {}))
            if hit:
                problems.append(f"{f} (negative) fires {', '.join(sorted(hit))}")
        # a rule only feeding correlations counts as fired with them (also
        # through a chain of correlations)
        fired_here = set(fired.get(base, ()))
        grew = True
        while grew:
            grew = False
            for docs2 in all_docs.values():
                for doc in docs2:
                    if doc['keys'].get('title') not in fired_here:
                        continue
                    for r in doc['corr_rules']:
                        t = ref_title.get(r)
                        if t and t not in fired_here:
                            fired_here.add(t)
                            grew = True
        for doc in docs:
            if doc['keys'].get('title') not in fired_here:
                problems.append(f"{doc['keys'].get('title')}: fired by no positive input of tests/default-rules/{base}/")
        report(f"rules {rel}", problems)

    print(f"1..{num}")
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
