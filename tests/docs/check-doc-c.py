#!/usr/bin/env python3
"""check-doc-c.py [--cc CC] [--cflag FLAG]... INCLUDE_DIR LIBRARY DOC.md...

Compiles every C block of the documentation against the library's headers, and links and runs
the ones that are whole programs, so that the C a reader copies compiles and does what the page
says. DOC.md may be a directory: every *.md file under it is read.

A C block is a fenced block whose language is c (C and h count too), opened with ``` or ~~~ or
a longer fence (mdscan.py says how the blocks are found). Each one is compiled
with -std=c11 -Wall -Wextra -Wpedantic -Werror (and the --cflag options, the project's warning
flags) and -I INCLUDE_DIR, once with -O0 and once with -O2. What else the compiler sees depends
on the block's kind, which either the block itself shows (a block that defines `main` is a
program) or an HTML comment on the line right before the fence says (it does not show when the
page is rendered):

    <!-- c-snippet KIND: TEXT -->

(it may run over several lines; it must end on the line right before the fence)

  program    The block is a whole program: compiled as it stands (no header is added), linked
             with LIBRARY, and run in an empty temporary directory; it must exit 0 within 60
             seconds. A block with `main` needs no comment; a comment may give directives,
             separated by `;`:
               mkdir DIR     make DIR (relative) in the directory before the run
               arg WORD      one more argument for the program
               stdout LINE   one line of the expected standard output; with any such
                             directive, the output must be exactly these lines, in order
  fragment   The block is the body of a function: `#include` lines at its top go to the file,
             the rest into `void f(void) { ... }`. TEXT holds the declarations the block uses
             but does not show (the prose around it implies them), e.g.
             `jobs_store *store; uint64_t owner;`; they are put at file scope before the
             function, after <jobs.h> and the standard headers <stdbool.h>, <stddef.h>,
             <stdint.h>, <stdio.h>, <stdlib.h> and <string.h>. Compiled, not linked or run.
  file       The block is code at file scope (a host's callback, say): compiled after the same
             headers and TEXT, with -Wno-unused-function, since its callers are not shown.
  api        The block repeats declarations of the public headers to show them. It is
             compiled after <jobs.h>, so a prototype that differs from the header's is an
             error. A struct the block defines (`struct TAG {...}`, with or without a typedef)
             is compiled under another name and compared with the header's: the same members
             with the same types at the same offsets, and the same size. It takes no TEXT.

A C block with no main and no comment, a comment with an unknown kind, a comment that is not
followed by a C block, and `program` on a block without `main` (or another kind on a block
with one) are errors: every C block of the documentation is checked, so a new one must say
what it is. So are the blocks this check cannot read, rather than pass over them: a block never
closed (it would hide the rest of the page), a fence whose language is not one word (```{.c}),
and a C block inside a block quote.
"""
import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile

import mdscan  # this directory's

STD_HEADERS = ['stdbool.h', 'stddef.h', 'stdint.h', 'stdio.h', 'stdlib.h', 'string.h']
BASE_FLAGS = ['-std=c11', '-Wall', '-Wextra', '-Wpedantic', '-Werror']
MARKER_START = re.compile(r'^\s*<!--\s*c-snippet\b')
MARKER = re.compile(r'^\s*<!--\s*c-snippet\s+(\w[\w-]*)\s*(?::(.*?))?\s*-->\s*$', re.S)
KINDS = ('program', 'fragment', 'file', 'api')
C_LANGS = ('c', 'h')


class Block:
    def __init__(self, path, line, code, kind, text):
        self.path, self.line, self.code, self.kind, self.text = path, line, code, kind, text

    def where(self):
        return f'{self.path}:{self.line}'


def has_main(code):
    return re.search(r'\bint\s+main\s*\(', strip_comments(code)) is not None


def strip_comments(code):
    return re.sub(r'/\*.*?\*/|//[^\n]*', ' ', code, flags=re.S)


def blocks(path, problems):
    """Yields a Block for each C block of `path`; classification problems go to `problems`."""
    items = list(mdscan.scan(open(path, encoding='utf-8').read().split('\n')))
    marker = None  # (first line, last line, kind, text) of a marker waiting for its block
    k = 0
    while k < len(items):
        i, item = items[k]
        k += 1
        if isinstance(item, str):
            if MARKER_START.match(item):
                first, text = i, [item]
                while '-->' not in text[-1] and k < len(items) and isinstance(items[k][1], str):
                    i, item = items[k]
                    text.append(item)
                    k += 1
                m = MARKER.match(' '.join(text))
                if marker:
                    problems.append(f'{path}:{marker[0]}: c-snippet comment not followed by a '
                                    'C block')
                marker = None
                if m:
                    marker = (first + 1, i + 1, m.group(1), ' '.join((m.group(2) or '').split()))
                else:
                    problems.append(f'{path}:{first + 1}: malformed c-snippet comment: '
                                    f'{text[0].strip()}')
                continue
            if '<!--' in item and 'c-snippet' in item:
                problems.append(f'{path}:{i + 1}: malformed c-snippet comment: {item.strip()}')
            q = mdscan.QUOTED.match(item)
            if q and (q.group(2).split() or [''])[0].lower() in C_LANGS:
                problems.append(f'{path}:{i + 1}: a C block inside a block quote, which this '
                                'check does not read: move it out of the quote')
            if item.strip() and marker:
                problems.append(f'{path}:{marker[0]}: c-snippet comment not followed by a C block')
                marker = None
            continue
        fence, start = item, item.line
        if not fence.closed:
            # It would swallow the rest of the page, C blocks included.
            problems.append(f'{path}:{fence.line}: the block opened with {fence.marker} is never '
                            f'closed (a line of at least {len(fence.marker)} '
                            f'{"backticks" if fence.marker[0] == "`" else "tildes"} ends it)')
            marker = None
            continue
        if fence.lang is None:
            problems.append(f'{path}:{fence.line}: cannot read the language of the block '
                            f'{fence.fence()!r}: write it as one word ({fence.marker}c, '
                            f'{fence.marker}sh, ...)')
            marker = None
            continue
        if fence.lang not in C_LANGS:
            if marker:
                problems.append(f'{path}:{marker[0]}: c-snippet comment before a '
                                f'{fence.marker}{fence.lang} block')
                marker = None
            continue
        code = '\n'.join(fence.body) + '\n'
        where = f'{path}:{start}'
        if marker and marker[1] != start - 1:
            problems.append(f'{path}:{marker[0]}: c-snippet comment must end on the line right '
                            'before the fence')
        kind, text = (marker[2], marker[3]) if marker and marker[1] == start - 1 else (None, '')
        marker = None
        if kind is None:
            if not has_main(code):
                problems.append(f'{where}: C block without main and without a '
                                '<!-- c-snippet KIND: ... --> comment (kinds: '
                                + ', '.join(KINDS) + ')')
                continue
            kind = 'program'
        if kind not in KINDS:
            problems.append(f'{where}: unknown c-snippet kind {kind!r} (kinds: '
                            + ', '.join(KINDS) + ')')
            continue
        if (kind == 'program') != has_main(code):
            problems.append(f'{where}: a {kind} block ' +
                            ('without main' if kind == 'program' else 'that defines main'))
            continue
        if kind == 'api' and text:
            problems.append(f'{where}: an api block takes no declarations')
            continue
        yield Block(path, start, code, kind, text)
    if marker:
        problems.append(f'{path}:{marker[0]}: c-snippet comment not followed by a C block')


def prelude(block):
    out = [f'#line 1 "{block.path} (added by check-doc-c.py)"']
    out += [f'#include <{h}>' for h in STD_HEADERS]
    out.append('#include <jobs.h>')
    if block.text:
        out.append(f'#line 1 "{block.path} (c-snippet comment before line {block.line})"')
        out.append(block.text)
    return '\n'.join(out) + '\n'


def line_directive(block, first=1):
    # The fence is line `block.line`; the block's first line is the next one.
    return f'#line {block.line + first} "{block.path}"\n'


def fragment_source(block):
    lines = block.code.split('\n')
    k = 0
    while k < len(lines) and (lines[k].strip() == '' or lines[k].lstrip().startswith('#include')):
        k += 1
    includes, body = lines[:k], lines[k:]
    src = prelude(block)
    src += line_directive(block) + '\n'.join(includes) + '\n'
    src += '#line 1 "(added by check-doc-c.py)"\n'
    src += 'void doc_fragment(void);\nvoid doc_fragment(void)\n{\n'
    src += line_directive(block, k + 1) + '\n'.join(body) + '\n'
    src += '#line 1 "(added by check-doc-c.py)"\n}\n'
    return src


def struct_members(body):
    """The member names of a struct body (no nested structs or function pointers)."""
    names = []
    for decl in strip_comments(body).split(';'):
        decl = decl.strip()
        if not decl:
            continue
        m = re.search(r'(\w+)\s*(\[[^\]]*\]\s*)*$', decl)
        if not m or '(' in decl or '{' in decl:
            return None
        names.append(m.group(1))
    return names


def api_source(block, problems):
    code = strip_comments(block.code)
    structs = []  # (tag, typedef name or None, members)
    for m in re.finditer(r'(typedef\s+)?struct\s+(\w+)\s*\{([^{}]*)\}\s*(\w*)\s*;', code):
        members = struct_members(m.group(3))
        if members is None:
            problems.append(f'{block.where()}: struct {m.group(2)}: cannot read its members')
            return None
        structs.append((m.group(2), m.group(4) if m.group(1) else None, members))
    renames = sorted({n for tag, name, _ in structs for n in (tag, name) if n})
    src = prelude(block)
    src += ''.join(f'#define {n} doc_{n}\n' for n in renames)
    src += line_directive(block) + block.code
    src += '#line 1 "(added by check-doc-c.py: the block\'s structs against the header\'s)"\n'
    src += ''.join(f'#undef {n}\n' for n in renames)
    for n, (tag, _, members) in enumerate(structs):
        d, r = f'struct doc_{tag}', f'struct {tag}'
        src += (f'_Static_assert(sizeof({d}) == sizeof({r}), "struct {tag}: not the size of the '
                f'header\'s (a member left out or added?)");\n')
        src += f'void doc_compare_{n}(void);\nvoid doc_compare_{n}(void)\n{{\n'
        src += f'    {d} *d = NULL;\n    {r} *r = NULL;\n'
        for mem in members:
            # Pointers to the two members: comparing pointers to different types is an error.
            src += f'#line 1 "struct {tag}, member {mem}: not the type the header has"\n'
            src += f'    (void)(&d->{mem} == &r->{mem});\n'
        src += '}\n'
        for mem in members:
            src += (f'_Static_assert(offsetof({d}, {mem}) == offsetof({r}, {mem}), '
                    f'"struct {tag}: member {mem} is not where the header has it");\n')
    return src


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def check(block, args, tmp, n):
    """Returns a list of problems with one block (empty when it passes)."""
    problems = []
    src_path = os.path.join(tmp, f'snippet{n}.c')
    flags = [args.cc] + BASE_FLAGS + args.cflag + ['-I', args.include]
    if block.kind == 'program':
        src = line_directive(block) + block.code
    elif block.kind == 'fragment':
        src = fragment_source(block)
    elif block.kind == 'file':
        src = prelude(block) + line_directive(block) + block.code
        flags.append('-Wno-unused-function')
    else:
        src = api_source(block, problems)
        if src is None:
            return problems
    with open(src_path, 'w', encoding='utf-8') as f:
        f.write(src)
    # Both without and with optimisation: gcc -O2 warns where -O0 does not (uninitialised use).
    for opt in ('-O0', '-O2'):
        r = run(flags + [opt, '-c', src_path, '-o', os.path.join(tmp, f'snippet{n}.o')])
        if r.returncode != 0:
            return [f'{block.where()}: {block.kind} does not compile ({opt}):\n{r.stdout}']
    if block.kind != 'program':
        return problems
    exe = os.path.join(tmp, f'snippet{n}')
    libdir = os.path.dirname(os.path.abspath(args.library))
    r = run(flags + [src_path, '-o', exe, args.library, f'-Wl,-rpath,{libdir}'])
    if r.returncode != 0:
        return [f'{block.where()}: program does not compile:\n{r.stdout}']
    directives = [d.strip() for d in block.text.split(';') if d.strip()]
    workdir = os.path.join(tmp, f'run{n}')
    os.mkdir(workdir)
    argv, expect = [exe], None
    for d in directives:
        word, _, rest = d.partition(' ')
        rest = rest.strip()
        if word == 'mkdir' and rest and not os.path.isabs(rest) and '..' not in rest:
            os.makedirs(os.path.join(workdir, rest))
        elif word == 'arg' and rest:
            argv.append(rest)
        elif word == 'stdout':
            expect = (expect or []) + [rest]
        else:
            return [f'{block.where()}: unknown program directive {d!r} '
                    '(mkdir DIR, arg WORD, stdout LINE)']
    try:
        p = subprocess.run(argv, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return [f'{block.where()}: program did not exit within 60 seconds']
    if p.returncode != 0:
        problems.append(f'{block.where()}: program exited {p.returncode}\n'
                        f'stdout:\n{p.stdout}stderr:\n{p.stderr}')
    elif expect is not None and p.stdout.split('\n') != expect + ['']:
        problems.append(f'{block.where()}: program printed\n{p.stdout}instead of\n'
                        + '\n'.join(expect) + f'\n(stderr:\n{p.stderr})')
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[2])
    ap.add_argument('--cc', default=os.environ.get('CC', 'cc'))
    ap.add_argument('--cflag', action='append', default=[],
                    help='one more compiler option (repeat); empty ones are ignored')
    ap.add_argument('include')
    ap.add_argument('library')
    ap.add_argument('docs', nargs='+')
    args = ap.parse_args()
    args.cflag = [f for f in args.cflag if f]
    args.include = os.path.abspath(args.include)
    args.library = os.path.abspath(args.library)

    paths = []
    for d in args.docs:
        if os.path.isdir(d):
            paths += sorted(glob.glob(os.path.join(d, '**', '*.md'), recursive=True))
        else:
            paths.append(d)
    # Messages name the files relative to the directory that holds them all (the repository).
    paths = [os.path.abspath(p) for p in paths]
    root = os.path.commonpath([os.path.dirname(p) for p in paths])
    os.chdir(root)
    problems, found = [], []
    for p in paths:
        found += list(blocks(os.path.relpath(p, root), problems))
    counts = {k: sum(b.kind == k for b in found) for k in KINDS}
    with tempfile.TemporaryDirectory(prefix='doc-c-') as tmp:
        for n, b in enumerate(found):
            errs = check(b, args, tmp, n)
            print(f'{"FAIL" if errs else "ok  "} {b.where()} ({b.kind})')
            problems += errs
    print(f'{len(found)} C blocks in {len(paths)} files: ' +
          ', '.join(f'{v} {k}' for k, v in counts.items()))
    if not found:
        problems.append('no C block found: wrong paths?')
    for p in problems:
        print('error: ' + p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
