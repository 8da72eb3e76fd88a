#!/usr/bin/env python3
"""check-doc-sessions.py [--path DIR]... JOBS_SERVER DOC.md...

Runs the command sessions of the documentation (curl against jobs-server, jobsctl on a store)
and compares the answers with what the documentation prints, so that a reader who types them
sees what the page says.

A session is a fenced block opened with ```sh that holds lines starting with "$ ". Each "$ "
line (with its continuation lines, while a line ends in a backslash) is a command; the lines
up to the next command are its expected output: what the command writes on standard output and
standard error, as a terminal shows them. The commands of one session run in one bash, one
after the other, so variables carry over, in a temporary working directory of the session's own
(for cookie jars), with each --path DIR (the directory of a program the sessions run, jobsctl
say) at the front of PATH.

A session whose commands name `localhost:8080` gets its own server: a temporary data directory,
JOBS_DEMO_PASSWORD=secret (so the user `demo` has the password `secret`), `--listen
127.0.0.1:0`; in the commands, `localhost:8080` becomes the server's address. In the commands
and in their output, `/tmp/demo` stands for a directory that the sessions of one page share, in
their order (a store the first session makes, the next one uses), and that does not exist
before the page's first session.

Expected output is compared line by line, exactly, but for three placeholder rules, which the
documentation may use where an answer depends on the time or on chance:
  - `...` matches any text within a line (a session token, a long message);
  - the value of "next_run" or "slot" (an integer) matches any integer; the same number written
    twice in one session must be the same number both times;
  - a UTC time written as 2026-11-28T20:04:37Z matches any such time.
Lines that start with "$ curl" or "$ jobsctl" outside a ```sh block are an error: every such
session of the documentation is checked.

(The documentation's links are checked by check-doc-links.py, its C blocks by check-doc-c.py.)
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import mdscan  # this directory's

PASSWORD = 'secret'
# Commands whose sessions must be run (a line starting with "$ " and one of them).
RUN = ('$ curl', '$ jobsctl')
DEMO = '/tmp/demo'


def sessions(path):
    """Yields (line number, [(command, [expected lines])], problems) for each ```sh block with
    commands, and (None, None, problems) at the end for problems outside them."""
    lines = open(path, encoding='utf-8').read().split('\n')
    problems = []
    for i, item in mdscan.scan(lines):
        if isinstance(item, str):
            if item.lstrip().startswith(RUN):
                problems.append(f'{path}:{i + 1}: a {item.lstrip()[2:].split()[0]} session '
                                'outside a ```sh block')
            continue
        start, body = item.line, item.body
        if not item.closed:
            problems.append(f'{path}:{start}: the block opened with {item.marker} is never '
                            'closed (the sessions after it would not be read)')
            continue
        if not any(l.startswith('$ ') for l in body):
            continue
        if item.lang != 'sh':
            if any(l.startswith(RUN) for l in body):
                problems.append(f'{path}:{start}: a session in a {item.fence()} block, '
                                'not ```sh')
            continue
        cmds = []
        k = 0
        while k < len(body):
            if not body[k].startswith('$ '):
                if cmds:
                    cmds[-1][1].append(body[k])
                k += 1
                continue
            cmd = body[k][2:]
            while cmd.endswith('\\') and k + 1 < len(body):
                k += 1
                cmd += '\n' + body[k]
            cmds.append((cmd, []))
            k += 1
        yield start, cmds, problems
        problems = []
    if problems:
        yield None, None, problems


def start_server(binary, data):
    env = dict(os.environ, JOBS_DEMO_PASSWORD=PASSWORD)
    out = open(os.path.join(data, 'server.out'), 'w')
    err = open(os.path.join(data, 'server.err'), 'w')
    proc = subprocess.Popen([binary, '--listen', '127.0.0.1:0', '--data', os.path.join(data, 'd'),
                             '--access-log', 'off'], stdout=out, stderr=err, env=env)
    deadline = time.monotonic() + 60  # generous: a loaded sanitizer build
    while time.monotonic() < deadline:
        text = open(os.path.join(data, 'server.out')).read()
        m = re.search(r'listening on http://127\.0\.0\.1:(\d+)', text)
        if m:
            return proc, int(m.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise RuntimeError('jobs-server did not start: ' + open(os.path.join(data, 'server.err')).read())


def stop_server(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return -1


def matcher(expected, bound):
    """A regular expression for one expected line, and the placeholder numbers it binds."""
    out, names = '', []
    pos = 0
    for m in re.finditer(r'\.\.\.|("(?:next_run|slot)":)(\d+)|'
                         r'\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\b', expected):
        out += re.escape(expected[pos:m.start()])
        if m.group(0) == '...':
            out += '.*?'
        elif not m.group(1):
            out += r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ'
        else:
            out += re.escape(m.group(1))
            num = m.group(2)
            if num in bound:
                out += re.escape(bound[num])
            elif num in names:
                out += f'(?P=n{num})'
            else:
                out += f'(?P<n{num}>\\d+)'
                names.append(num)
        pos = m.end()
    out += re.escape(expected[pos:])
    return re.compile(out), names


def run_session(binary, path, start, cmds, page_dir, paths):
    tmp = tempfile.mkdtemp(prefix='jobs-doc-')
    demo = os.path.join(page_dir, 'demo')
    proc = None
    try:
        port = None
        if any('localhost:8080' in cmd for cmd, _ in cmds):
            proc, port = start_server(binary, tmp)
        work = os.path.join(tmp, 'cwd')
        os.mkdir(work)
        script = ['set -u']
        for n, (cmd, _) in enumerate(cmds):
            if port is not None:
                cmd = cmd.replace('localhost:8080', f'127.0.0.1:{port}')
            # Standard error where a terminal shows it: in the command's output. The newline
            # before } ends a comment the command may end with.
            script.append('{ ' + cmd.replace(DEMO, demo) + '\n} 2>&1')
            script.append(f"printf '\\n<<<end {n}>>>\\n'")
        env = dict(os.environ, PATH=os.pathsep.join(paths + [os.environ.get('PATH', '')]))
        res = subprocess.run(['bash', '-c', '\n'.join(script)], cwd=work, capture_output=True,
                             text=True, timeout=300, env=env)
        outputs = re.split(r'\n<<<end \d+>>>\n', res.stdout.replace(demo, DEMO))
        failures = []
        bound = {}
        for n, (cmd, expected) in enumerate(cmds):
            got = outputs[n] if n < len(outputs) else '<no output: the session stopped>'
            got_lines = got.replace('\r', '').split('\n')
            while got_lines and got_lines[-1] == '':
                got_lines.pop()
            want = list(expected)
            while want and want[-1].strip() == '':
                want.pop()
            ok = len(got_lines) == len(want)
            for w, g in zip(want, got_lines):
                rx, names = matcher(w, bound)
                m = rx.fullmatch(g)
                if not m:
                    ok = False
                    break
                for num in names:
                    bound[num] = m.group(f'n{num}')
            if not ok:
                failures.append(f'{path}:{start}: `{cmd}`\n  expected:\n    ' +
                                '\n    '.join(want) + '\n  got:\n    ' + '\n    '.join(got_lines))
                break  # what follows depends on this answer
        if res.stderr.strip():
            failures.append(f'{path}:{start}: the session wrote to stderr:\n{res.stderr}')
        # The server stops cleanly on SIGTERM (exit 0; under ASan that includes no leaks).
        code = stop_server(proc) if proc is not None else 0
        proc = None
        if code != 0:
            err = open(os.path.join(tmp, 'server.err')).read()
            failures.append(f'{path}:{start}: jobs-server did not exit cleanly ({code}):\n{err}')
        return failures
    finally:
        if proc is not None:
            stop_server(proc)
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    args = sys.argv[1:]
    paths = []
    while len(args) >= 2 and args[0] == '--path':
        paths.append(os.path.realpath(args[1]))
        args = args[2:]
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = os.path.realpath(args[0])
    failures, count = [], 0
    for doc in args[1:]:
        page_dir = tempfile.mkdtemp(prefix='jobs-doc-page-')
        try:
            for start, cmds, problems in sessions(doc):
                failures += problems
                if cmds is None:
                    continue
                count += 1
                failed = run_session(binary, doc, start, cmds, page_dir, paths)
                failures += failed
                print(f'{doc}:{start}: {len(cmds)} commands:', 'FAILED' if failed else 'ok')
        finally:
            shutil.rmtree(page_dir, ignore_errors=True)
    sys.stdout.flush()
    for f in failures:
        print('FAIL: ' + f, file=sys.stderr)
    if count == 0:
        print('FAIL: no session found', file=sys.stderr)
        return 1
    print(f'{count} sessions checked')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
