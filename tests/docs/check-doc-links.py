#!/usr/bin/env python3
"""check-doc-links.py [ROOT]

Checks that the documentation stands alone in a clone: every relative link of README.md and
docs/**/*.md (ROOT: the repository, by default the one holding this script) names a file or
directory inside the repository, and every link with an anchor (`file.md#section`, or
`#section` for the page itself) names a heading of that page.

A heading's anchor is GitHub's: the heading's text as rendered (code spans keep their
contents, a link its text, emphasis marks and HTML tags go), lowercased, every character that
is not a letter, a digit, `-`, `_` or a space removed, each space made a `-`; a second heading
with the same anchor gets `-1`, a third `-2`, and so on. `<a id="x">` and `<a name="x">` name
anchors too. Links and headings inside fenced blocks and code spans are not links or headings,
and are not read. Anchors of files that are not Markdown (a source file's line, say) are not
checked. An anchor is compared exactly, as a browser does.
"""
import os
import re
import sys

import mdscan  # this directory's

ATX = re.compile(r'^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$')
SETEXT = re.compile(r'^ {0,3}(=+|-+)[ \t]*$')
HTML_ANCHOR = re.compile(r'<a\s[^>]*?\b(?:id|name)\s*=\s*["\']([^"\']+)["\']', re.I)
LINK = re.compile(r'\]\(([^)\s]+)(?:\s+"[^"]*")?\)')
REF_DEF = re.compile(r'^ {0,3}\[[^\]]+\]:\s*(\S+)')


def prose_lines(text):
    """(line number, line) for each line outside fenced blocks (mdscan.py)."""
    for i, item in mdscan.scan(text.split('\n')):
        if isinstance(item, str):
            yield i + 1, item


def without_code_spans(line, keep=False):
    """The line with its code spans left out (keep: their contents kept, backticks dropped)."""
    out, i = '', 0
    while i < len(line):
        if line[i] != '`':
            out += line[i]
            i += 1
            continue
        n = len(line) - len(line[i:].lstrip('`'))  # the run of backticks
        j = line.find('`' * n, i + n)
        while j >= 0 and line[j + n:j + n + 1] == '`':  # a longer run does not close it
            j = line.find('`' * n, j + n + 1)
        if j < 0:
            out += line[i:i + n]
            i += n
            continue
        if keep:
            inner = line[i + n:j]
            out += '\x00' + (inner[1:-1] if inner.startswith(' ') and inner.endswith(' ')
                             and inner.strip() else inner) + '\x01'
        i = j + n
    return out


def heading_text(raw):
    """The text of a heading as rendered (what GitHub makes the anchor of)."""
    s = without_code_spans(raw, keep=True)
    parts = re.split(r'(\x00[^\x01]*\x01)', s)
    out = ''
    for p in parts:
        if p.startswith('\x00'):
            out += p[1:-1]
            continue
        p = re.sub(r'!?\[([^\]]*)\]\([^)]*\)', r'\1', p)  # a link or image: its text
        p = re.sub(r'<[^>]+>', '', p)                       # HTML tags
        p = re.sub(r'(?<![\w\\])[*_]+|[*_]+(?![\w])', '', p)  # emphasis marks
        p = re.sub(r'\\(.)', r'\1', p)                      # backslash escapes
        out += p
    return out.strip()


def slug(text):
    return ''.join(c for c in text.lower() if c.isalnum() or c in '-_ ').replace(' ', '-')


def anchors(text):
    """The anchors of a Markdown page: its headings' slugs and its HTML anchors."""
    found, seen = set(), {}
    prev = None
    for _, line in mdscan.scan(text.split('\n')):
        if isinstance(line, mdscan.Fence):
            prev = None  # a line under a block is no setext heading's underline
            continue
        found.update(HTML_ANCHOR.findall(without_code_spans(line)))
        m = ATX.match(line)
        title = None
        if m:
            title = m.group(2) or ''
        elif prev is not None and prev.strip() and SETEXT.match(line) and \
                not re.match(r'^\s*([|>*+-]|\d+[.)]|#)', prev) and '|' not in prev:
            title = prev.strip()
        prev = None if m else line
        if title is None:
            continue
        base = slug(heading_text(title))
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f'{base}-{n}')
    return found


def links(text):
    """(line number, target) for each inline link and link definition of a Markdown page."""
    for n, line in prose_lines(text):
        prose = without_code_spans(line)
        for m in LINK.finditer(prose):
            yield n, m.group(1).strip('<>')
        m = REF_DEF.match(prose)
        if m:
            yield n, m.group(1).strip('<>')


def check_doc(doc, root, cache):
    """The problems of one page's links, named by its path relative to root."""
    problems = []
    rel = os.path.relpath(doc, root)
    text = open(doc, encoding='utf-8').read()
    for i, item in mdscan.scan(text.split('\n')):
        if isinstance(item, mdscan.Fence) and not item.closed:
            problems.append(f'{rel}:{i + 1}: the block opened with {item.marker} is never closed '
                            '(its links and the rest of the page would not be read)')
    for line, link in links(text):
        if re.match(r'^[a-zA-Z][a-zA-Z0-9+.-]*:', link):
            continue  # a URL (https:, mailto:)
        target, _, anchor = link.partition('#')
        path = os.path.realpath(os.path.join(os.path.dirname(doc), target)) if target else doc
        if os.path.commonpath([path, root]) != root:
            problems.append(f'{rel}:{line}: the link {link} leaves the repository')
            continue
        if not os.path.exists(path):
            problems.append(f'{rel}:{line}: the link {link} names nothing')
            continue
        if not anchor or not path.endswith('.md') or not os.path.isfile(path):
            continue
        if path not in cache:
            cache[path] = anchors(open(path, encoding='utf-8').read())
        if anchor not in cache[path]:
            problems.append(f'{rel}:{line}: the link {link} names no heading of '
                            f'{os.path.relpath(path, root)}')
    return problems


def check_links(root):
    """Problems with the relative links of README.md and docs/**/*.md under root."""
    root = os.path.realpath(root)
    docs = [os.path.join(root, 'README.md')]
    for d, dirs, files in os.walk(os.path.join(root, 'docs')):
        dirs.sort()
        docs += [os.path.join(d, f) for f in sorted(files) if f.endswith('.md')]
    problems, cache = [], {}
    for doc in docs:
        problems += check_doc(doc, root, cache)
    return problems, len(docs)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..',
                                                               '..')
    problems, count = check_links(root)
    for p in problems:
        print('FAIL: ' + p, file=sys.stderr)
    print(f'{count} pages: {"ok" if not problems else f"{len(problems)} broken links"}')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
