/**
 * Every relative link in the README, docs/ and the examples' READMEs leads somewhere: the file
 * (or folder) exists, and a `#fragment` names a heading of that file as GitHub renders it.
 * Links into the web are not followed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../helpers/env.js';

/** The markdown a reader of the repository follows links through. */
function documentationFiles(): string[] {
  const files = ['README.md', 'BENCHMARKS.md'];
  for (const name of readdirSync(path.join(repoRoot, 'docs'))) if (name.endsWith('.md')) files.push(`docs/${name}`);
  for (const name of readdirSync(path.join(repoRoot, 'examples'))) {
    const readme = `examples/${name}/README.md`;
    if (existsSync(path.join(repoRoot, readme))) files.push(readme);
  }
  files.push('examples/README.md');
  return files;
}

/** The lines of `markdown`, with those of fenced code blocks (fences included) as undefined. */
function unfencedLines(markdown: string): (string | undefined)[] {
  let fence: string | undefined;
  return markdown.split('\n').map((line) => {
    const opener = /^\s*(```+|~~~+)/.exec(line)?.[1];
    if (opener === undefined) return fence === undefined ? line : undefined;
    if (fence === undefined) fence = opener;
    else if (opener.startsWith(fence)) fence = undefined;
    return undefined;
  });
}

/** The text outside code blocks and inline code spans, where a `[x](y)` is a link. */
function proseOf(markdown: string): string {
  return unfencedLines(markdown)
    .map((line) => (line ?? '').replace(/(`+)[^`]*?\1/g, ''))
    .join('\n');
}

/**
 * The anchor GitHub gives a heading: its rendered text in lower case, without punctuation other
 * than `-` and `_`, spaces as `-`; a repeated anchor gets `-1`, `-2`, ... (written here rather than
 * taken from github-slugger: these few lines are the whole rule the repository's headings need).
 */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of unfencedLines(markdown)) {
    if (line === undefined) continue;
    for (const id of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(id[1]!);
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const text = heading.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`*]/g, '');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

/** Each relative link of `markdown` (in `file`) that leads nowhere, with the reason. */
function brokenLinks(file: string, markdown: string, read: (file: string) => string | undefined): string[] {
  const problems: string[] = [];
  const prose = proseOf(markdown);
  const targets = [
    ...[...prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!),
    ...[...prose.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]!),
  ];
  for (const target of targets) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
    const hash = target.indexOf('#');
    const linkPath = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
    const fragment = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
    const resolved = linkPath === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), linkPath));
    const text = linkPath === '' ? markdown : read(resolved);
    if (text === undefined) {
      problems.push(`${file}: link ${target}: ${resolved} does not exist`);
      continue;
    }
    if (fragment === undefined || fragment === '') continue;
    if (!resolved.endsWith('.md')) {
      problems.push(`${file}: link ${target}: ${resolved} is not markdown, so it has no #${fragment}`);
      continue;
    }
    if (!headingAnchors(text).has(fragment)) problems.push(`${file}: link ${target}: ${resolved} has no heading #${fragment}`);
  }
  return problems;
}

/** A repository file's text; '' for a folder (which has no anchors); undefined when it is missing. */
function readRepoFile(file: string): string | undefined {
  const full = path.join(repoRoot, file);
  if (path.relative(repoRoot, full).startsWith('..') || !existsSync(full)) return undefined;
  return statSync(full).isDirectory() ? '' : readFileSync(full, 'utf8');
}

test('relative links in the README, docs/ and the examples resolve, anchors included', () => {
  const files = documentationFiles();
  assert.ok(files.includes('docs/cli.md'), 'docs/ is where the documentation lives');
  const problems = files.flatMap((file) => brokenLinks(file, readRepoFile(file)!, readRepoFile));
  assert.deepEqual(problems, []);
});

test('anchors are GitHub heading anchors: punctuation dropped, spaces as -, repeats numbered', () => {
  const anchors = headingAnchors(
    '# Title\n## `ecli run`: load, attach, print\n### Errors and exit codes\n## Errors and exit codes\n```\n# not a heading\n```\n## **TCX** (`tcx/ingress`)\n',
  );
  assert.deepEqual([...anchors], ['title', 'ecli-run-load-attach-print', 'errors-and-exit-codes', 'errors-and-exit-codes-1', 'tcx-tcxingress']);
});

test('a missing file, a missing heading and a fragment of a non-markdown file are reported', () => {
  const files: Record<string, string> = {
    'docs/a.md': '# A\n## Real heading\n',
    'docs/b.txt': 'text',
  };
  const read = (file: string) => files[file];
  const markdown = [
    'Fine: [a](a.md#real-heading), [here](#local), [web](https://example.org/x#y).',
    '`[in code](nowhere.md)` and',
    '```',
    '[in a block](nowhere.md)',
    '```',
    'Broken: [gone](gone.md), [anchor](a.md#no-such), [txt](b.txt#x), [up](../docs/a.md#real).',
    '## Local',
    '[ref]: ./gone-too.md',
  ].join('\n');
  assert.deepEqual(brokenLinks('docs/c.md', markdown, read), [
    'docs/c.md: link gone.md: docs/gone.md does not exist',
    'docs/c.md: link a.md#no-such: docs/a.md has no heading #no-such',
    'docs/c.md: link b.txt#x: docs/b.txt is not markdown, so it has no #x',
    'docs/c.md: link ../docs/a.md#real: docs/a.md has no heading #real',
    'docs/c.md: link ./gone-too.md: docs/gone-too.md does not exist',
  ]);
});
