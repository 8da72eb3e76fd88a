#!/usr/bin/env python3
"""test-doc-checkers.py: the documentation checkers of this directory on small pages made for
the purpose, so that a checker that would pass over a block or a link it cannot read is caught
here rather than by a page it silently skips."""
import importlib.util
import os
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def load(name):
    spec = importlib.util.spec_from_file_location(name.replace('-', '_'),
                                                  os.path.join(HERE, name + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


doc_c = load('check-doc-c')
doc_links = load('check-doc-links')
doc_sessions = load('check-doc-sessions')

MAIN = 'int main(void)\n{\n    return 0;\n}\n'


class Page:
    """A temporary directory holding Markdown pages."""

    def __init__(self, files):
        self.tmp = tempfile.TemporaryDirectory(prefix='doc-checkers-')
        self.root = os.path.realpath(self.tmp.name)
        for name, text in files.items():
            path = os.path.join(self.root, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w', encoding='utf-8') as f:
                f.write(text)

    def path(self, name):
        return os.path.join(self.root, name)

    def close(self):
        self.tmp.cleanup()


class CBlocks(unittest.TestCase):
    def blocks(self, text):
        page = Page({'a.md': text})
        try:
            problems = []
            found = [(b.line, b.kind, b.code) for b in doc_c.blocks(page.path('a.md'), problems)]
            return found, problems
        finally:
            page.close()

    def test_backtick_fence_program(self):
        found, problems = self.blocks('text\n\n```c\n' + MAIN + '```\n')
        self.assertEqual(problems, [])
        self.assertEqual(found, [(3, 'program', MAIN)])

    def test_tilde_fence_is_a_c_block(self):
        found, problems = self.blocks('~~~c\n' + MAIN + '~~~\n')
        self.assertEqual(problems, [])
        self.assertEqual(found, [(1, 'program', MAIN)])

    def test_longer_fence_shows_a_fence_inside_it(self):
        # A page showing Markdown: the inner ```c is text of the outer block, and the C block
        # after it is found at its own line.
        found, problems = self.blocks('````markdown\n```c\nnot C at all\n```\n````\n\n'
                                      '```C\n' + MAIN + '```\n')
        self.assertEqual(problems, [])
        self.assertEqual(found, [(7, 'program', MAIN)])

    def test_tilde_block_holding_backticks(self):
        found, problems = self.blocks('~~~\n```c\nx\n```\n~~~\n```h\n' + MAIN + '```\n')
        self.assertEqual(problems, [])
        self.assertEqual(found, [(6, 'program', MAIN)])

    def test_code_span_of_three_backticks_opens_no_block(self):
        found, problems = self.blocks('```inline``` is a code span\n\n```c\n' + MAIN + '```\n')
        self.assertEqual(problems, [])
        self.assertEqual(found, [(3, 'program', MAIN)])

    def test_short_closing_fence_does_not_close(self):
        found, problems = self.blocks('````c\n' + MAIN + '```\n````\n')
        self.assertEqual(problems, [])
        self.assertEqual(found, [(1, 'program', MAIN + '```\n')])

    def test_indented_fence_in_a_list_item(self):
        found, problems = self.blocks('- an item:\n\n  ```c\n' +
                                      ''.join('  ' + l + '\n' for l in MAIN.split('\n')[:-1]) +
                                      '  ```\n')
        self.assertEqual(problems, [])
        self.assertEqual(found, [(3, 'program', MAIN)])

    def test_info_string_after_the_language(self):
        found, problems = self.blocks('```c title="x.c"\n' + MAIN + '```\n')
        self.assertEqual(problems, [])
        self.assertEqual(found, [(1, 'program', MAIN)])

    def test_unclosed_block_is_an_error(self):
        found, problems = self.blocks('```c\n' + MAIN)
        self.assertEqual(found, [])
        self.assertEqual(len(problems), 1)
        self.assertIn('a.md:1: the block opened with ``` is never closed', problems[0])

    def test_unreadable_language_is_an_error(self):
        found, problems = self.blocks('```{.c}\n' + MAIN + '```\n')
        self.assertEqual(found, [])
        self.assertEqual(len(problems), 1)
        self.assertIn('a.md:1: cannot read the language', problems[0])

    def test_c_block_in_a_block_quote_is_an_error(self):
        found, problems = self.blocks('> ```c\n> int x;\n> ```\n')
        self.assertEqual(found, [])
        self.assertEqual(len(problems), 1)
        self.assertIn('a.md:1: a C block inside a block quote', problems[0])

    def test_marker_before_a_tilde_block(self):
        found, problems = self.blocks('<!-- c-snippet fragment: int x; -->\n~~~c\nx = 1;\n~~~\n')
        self.assertEqual(problems, [])
        self.assertEqual(found, [(2, 'fragment', 'x = 1;\n')])

    def test_c_block_without_kind_is_still_an_error(self):
        found, problems = self.blocks('~~~c\nint x;\n~~~\n')
        self.assertEqual(found, [])
        self.assertIn('a.md:1: C block without main', problems[0])


class Sessions(unittest.TestCase):
    def test_sessions_after_a_longer_fence_are_found(self):
        page = Page({'a.md': '````markdown\n```sh\n$ echo shown\n```\n````\n\n'
                             '```sh\n$ echo hi\nhi\n```\n'})
        try:
            got = list(doc_sessions.sessions(page.path('a.md')))
        finally:
            page.close()
        self.assertEqual(got, [(7, [('echo hi', ['hi'])], [])])

    def test_jobsctl_session_outside_sh_is_an_error(self):
        page = Page({'a.md': '```text\n$ jobsctl --store /tmp/demo init\ncreated\n```\n'})
        try:
            got = list(doc_sessions.sessions(page.path('a.md')))
        finally:
            page.close()
        self.assertEqual(len(got), 1)
        self.assertIn('a.md:1: a session in a ```text block, not ```sh', got[0][2][0])

    def test_a_utc_time_matches_any(self):
        rx, _ = doc_sessions.matcher(' 1  nightly  enabled  2026-11-28T20:04:37Z', {})
        self.assertTrue(rx.fullmatch(' 1  nightly  enabled  2027-01-02T03:04:05Z'))
        self.assertFalse(rx.fullmatch(' 1  nightly  enabled  2027-01-02 03:04:05'))


class Links(unittest.TestCase):
    FILES = {
        'README.md': '''\
            # The project

            See [the guide](docs/guide.md), [its start](docs/guide.md#getting-started),
            [the API](docs/guide.md#the-api-jobsh), [twice](docs/guide.md#notes-1),
            [here](#the-project), [an anchor](docs/guide.md#kept), [a URL](https://example.com/#x),
            [a source line](lib/x.c#L3).

            `[not a link](docs/guide.md#nowhere)` and

            ```
            [nor this](#nowhere)
            ```
            ''',
        'docs/guide.md': '''\
            # Guide

            ## Getting started!

            ## The API: `jobs.h`

            ## Notes

            ## Notes

            <a id="kept"></a>

            ```sh
            # a comment, not a heading
            ```

            Back to [the top](../README.md#the-project) and [a setext one](#set-text-heading).

            Set text heading
            ----------------
            ''',
        'lib/x.c': 'int x;\n',
    }

    def check(self, extra=None):
        files = {name: textwrap.dedent(text) for name, text in self.FILES.items()}
        for name, text in (extra or {}).items():
            files[name] = files.get(name, '') + text
        page = Page(files)
        try:
            return doc_links.check_links(page.root)[0]
        finally:
            page.close()

    def test_good_anchors_pass(self):
        self.assertEqual(self.check(), [])

    def test_broken_anchor_in_another_page(self):
        self.assertEqual(self.check({'README.md': '\n[gone](docs/guide.md#getting-started-)\n'}),
                         ['README.md:14: the link docs/guide.md#getting-started- names no '
                          'heading of docs/guide.md'])

    def test_broken_anchor_in_the_page(self):
        self.assertEqual(self.check({'docs/guide.md': '\n[up](#guides)\n'}),
                         ['docs/guide.md:22: the link #guides names no heading of '
                          'docs/guide.md'])

    def test_comment_in_a_code_block_is_no_heading(self):
        self.assertEqual(self.check({'docs/guide.md': '\n[c](#a-comment-not-a-heading)\n'}),
                         ['docs/guide.md:22: the link #a-comment-not-a-heading names no heading '
                          'of docs/guide.md'])

    def test_anchor_is_compared_exactly(self):
        self.assertEqual(len(self.check({'README.md': '\n[x](docs/guide.md#Getting-Started)\n'})),
                         1)

    def test_missing_file_and_leaving_the_repository(self):
        self.assertEqual(self.check({'README.md': '\n[a](docs/nothing.md#x) [b](../out.md)\n'}),
                         ['README.md:14: the link docs/nothing.md#x names nothing',
                          'README.md:14: the link ../out.md leaves the repository'])

    def test_unclosed_block_is_an_error(self):
        problems = self.check({'docs/guide.md': '\n```\n[x](#nowhere)\n'})
        self.assertEqual(problems, ['docs/guide.md:22: the block opened with ``` is never closed '
                                    '(its links and the rest of the page would not be read)'])

    def test_slugs(self):
        self.assertEqual(doc_links.slug(doc_links.heading_text(
            'The Kragle profile: `/api/v1`')), 'the-kragle-profile-apiv1')
        self.assertEqual(doc_links.slug(doc_links.heading_text('How next_run is computed')),
                         'how-next_run-is-computed')
        self.assertEqual(doc_links.slug(doc_links.heading_text(
            'Extensions: *page size*, [entity tags](x.md), __keys__')),
            'extensions-page-size-entity-tags-keys')
        self.assertEqual(doc_links.slug(doc_links.heading_text('GET /jobs?page=1 — 0.8 (issue 16)')),
                         'get-jobspage1--08-issue-16')


if __name__ == '__main__':
    unittest.main()
