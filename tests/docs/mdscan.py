"""The fenced blocks of a Markdown page, as GitHub (CommonMark) finds them, for the documentation
checkers of this directory (check-doc-c.py, check-doc-sessions.py, check-doc-links.py).

A fence is a line of three or more backticks or tildes (indented or not: list items indent
theirs), then an info string whose first word is the block's language. The block ends at a line
of the same character, at least as many of it as the fence had, and nothing else but spaces:
so a ```` block may show a ``` block inside it, and a ~~~ block a ``` one. A line of backticks
whose info string holds a backtick (```x```) is a code span, not a fence. A block that is never
closed runs to the end of the page; the checkers treat that as an error, since it hides
everything after it.
"""
import re

OPENING = re.compile(r'^([ \t]*)(`{3,}|~{3,})(.*)$')
CLOSING = re.compile(r'^[ \t]*(`{3,}|~{3,})[ \t]*$')
# A fence inside a block quote (`> ```c`): its block is part of the quote.
QUOTED = re.compile(r'^[ \t]*>[ \t>]*(`{3,}|~{3,})(.*)$')
LANG = re.compile(r'[A-Za-z0-9_+#.-]+')


class Fence:
    """One fenced block. `line` is the fence's line number (from 1); `lang` the info string's
    first word, lowercased ('' for none, None for one no checker can read, `{.c}` say); `body`
    the lines between the fences, the fence's indentation taken off; `closed` false for a block
    that runs to the end of the page."""

    def __init__(self, line, indent, marker, info, body, closed):
        self.line, self.indent, self.marker, self.info = line, indent, marker, info
        self.body, self.closed = body, closed
        word = info.split()[0] if info.split() else ''
        self.lang = word.lower() if not word or LANG.fullmatch(word) else None

    def fence(self):
        return self.marker + self.info


def opening(line):
    """(indent, marker, info) when `line` opens a fenced block, else None."""
    m = OPENING.match(line)
    if not m or (m.group(2)[0] == '`' and '`' in m.group(3)):
        return None
    return m.group(1), m.group(2), m.group(3).strip()


def closes(line, marker):
    m = CLOSING.match(line)
    return bool(m) and m.group(1)[0] == marker[0] and len(m.group(1)) >= len(marker)


def scan(lines):
    """For each line outside fenced blocks, (index, line); for each fenced block, (index of its
    fence, Fence). Indexes count from 0."""
    i = 0
    while i < len(lines):
        o = opening(lines[i])
        if not o:
            yield i, lines[i]
            i += 1
            continue
        indent, marker, info = o
        start = i
        i += 1
        body = []
        while i < len(lines) and not closes(lines[i], marker):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        closed = i < len(lines)
        i += 1
        yield start, Fence(start + 1, indent, marker, info, body, closed)
