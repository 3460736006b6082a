import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AstDeclScanner, type CommentNode, type SourceDecl } from '../../src/compiler/ast-scan.js';
import { applyDocComments, commentKeys } from '../../src/compiler/doc-comments.js';
import type { BpfSkeletonMeta } from '../../src/package/types.js';
import { repoRoot } from '../helpers/env.js';

/** clang 14's JSON AST of test/unit/fixtures/ecc-doc/doc.bpf.c (how to regenerate: see that file). */
const astText = readFileSync(path.join(repoRoot, 'test/unit/fixtures/ecc-doc/ast.json'), 'utf8');

function scan(chunkSize: number): SourceDecl[] {
  const scanner = new AstDeclScanner('doc.bpf.c');
  for (let at = 0; at < astText.length; at += chunkSize) scanner.push(astText.slice(at, at + chunkSize));
  return scanner.decls;
}

const skeleton: BpfSkeletonMeta = {
  obj_name: 'doc_bpf',
  data_sections: [
    {
      name: '.rodata',
      variables: [
        { name: 'target_pid', type: 'int' },
        { name: 'min_ns', type: 'u64' },
        { name: 'numeric_description', type: 'int' },
      ],
    },
  ],
  maps: [
    { name: 'hists', ident: 'hists' },
    { name: 'counts', ident: 'counts' },
    { name: 'doc_bpf.rodata', ident: 'rodata', mmaped: true },
  ],
  progs: [
    { name: 'xdp_pass', attach: 'xdp', link: true },
    { name: 'tc_ingress', attach: 'tc', link: true },
    { name: 'on_sample', attach: 'perf_event', link: true },
  ],
};

test('the scanner keeps only main-file declarations, whatever the chunking', () => {
  const decls = scan(1 << 16);
  assert.deepEqual(
    decls.map((d) => `${d.kind} ${d.name ?? '(anonymous)'}`),
    [
      'VarDecl target_pid',
      'VarDecl min_ns',
      'VarDecl numeric_description',
      'VarDecl hidden',
      'RecordDecl (anonymous)',
      'VarDecl hists',
      'RecordDecl counter_map',
      'VarDecl counts',
      'FunctionDecl xdp_pass',
      'FunctionDecl tc_ingress',
      'FunctionDecl on_sample',
      'VarDecl LICENSE',
    ],
  );
  assert.deepEqual(scan(7), decls);
  assert.deepEqual(scan(4093), decls);
});

test('doc comments land on variables, maps, programs and the package doc', () => {
  const { skel, warnings } = applyDocComments(skeleton, scan(1 << 16));
  assert.deepEqual(skel.data_sections[0]!.variables, [
    { name: 'target_pid', type: 'int', description: 'Process ID to trace', cmdarg: { default: 0, short: 'p', long: 'pid' } },
    { name: 'min_ns', type: 'u64', description: 'minimum duration, in ns' },
    // `/// 123` stays a string: the runner requires descriptions to be strings.
    { name: 'numeric_description', type: 'int', description: '123' },
  ]);
  assert.deepEqual(skel.maps, [
    { name: 'hists', ident: 'hists', sample: { interval: 1000, type: 'log2_hist' }, intepreter: { stack_trace: { with_symbols: false } } },
    { name: 'counts', ident: 'counts', sample: { interval: 500 } },
    { name: 'doc_bpf.rodata', ident: 'rodata', mmaped: true },
  ]);
  assert.deepEqual(skel.progs, [
    { name: 'xdp_pass', attach: 'xdp', link: true, ifindex: 1, flags: 0, xdpopts: { old_prog_fd: 0 } },
    {
      name: 'tc_ingress',
      attach: 'tc',
      link: true,
      tchook: { ifindex: 1, attach_point: 'BPF_TC_INGRESS' },
      tcopts: { handle: 1, priority: 1 },
      flag: 'called for each packet',
    },
    // clang splits `@perf_event` into `@perf` + `_event ...`; the key is rejoined.
    { name: 'on_sample', attach: 'perf_event', link: true, perf_event: { type: 'software', sample_freq: 49 } },
  ]);
  assert.deepEqual(skel.doc, { description: 'Trace things.', brief: 'A short brief', details: 'Some details\n over two lines', version: '0.1' });
  assert.deepEqual(warnings, ['@flag of program tc_ingress is not JSON; kept as the string "called for each packet"']);
});

const text = (t: string): CommentNode => ({ kind: 'TextComment', text: t });
const inline = (name: string): CommentNode => ({ kind: 'InlineCommandComment', name });
const paragraph = (...inner: CommentNode[]): CommentNode => ({ kind: 'ParagraphComment', inner });
const full = (...inner: CommentNode[]): CommentNode => ({ kind: 'FullComment', inner });

test('each paragraph restarts at description; later lines overwrite earlier ones', () => {
  const comment = full(
    paragraph(text(' first'), text(' second'), inline('sample'), text(' {"interval": 1}'), text(' {"interval": 2}')),
    paragraph(text(' third '), text('   ')),
  );
  assert.deepEqual(commentKeys(comment), { keys: { description: 'third', sample: { interval: 2 } }, notJson: [] });
});

test('JSON-looking description strings are unquoted; other keys keep JSON types', () => {
  const comment = full(
    paragraph(text(' "quoted"'), inline('ifindex'), text(' 3'), inline('enabled'), text(' true'), inline('name_like'), text(' plain words')),
  );
  assert.deepEqual(commentKeys(comment), {
    keys: { description: 'quoted', ifindex: 3, enabled: true, name_like: 'plain words' },
    notJson: [{ key: 'name_like', text: 'plain words' }],
  });
});

test('command names with underscores are rejoined after clang splits them', () => {
  // clang lexes `@perf_event {"type": "software"}` as command `perf` + text `_event {...}`.
  const comment = full(
    paragraph(text(' '), inline('perf'), text('_event {"type": "software"}'), text(' '), inline('export'), text('_config "default"'), inline('p'), text(' _x')),
  );
  assert.deepEqual(commentKeys(comment).keys, { perf_event: { type: 'software' }, export_config: 'default', p: '_x' });
});

test('block commands keep their raw lines joined by newlines, trimmed, never JSON-parsed', () => {
  const comment = full({ kind: 'BlockCommandComment', name: 'version', inner: [paragraph(text(' 1.2'), text(' '))] });
  assert.deepEqual(commentKeys(comment).keys, { version: '1.2' });
});

test('comments cannot overwrite the keys that identify an entry', () => {
  const decls: SourceDecl[] = [
    { kind: 'FunctionDecl', name: 'p', comment: full(paragraph(inline('attach'), text(' "kprobe/x"'), inline('ifindex'), text(' 2'))) },
  ];
  const { skel, warnings } = applyDocComments({ obj_name: 'o', data_sections: [], maps: [], progs: [{ name: 'p', attach: 'xdp', link: true }] }, decls);
  assert.deepEqual(skel.progs, [{ name: 'p', attach: 'xdp', link: true, ifindex: 2 }]);
  assert.deepEqual(warnings, ['@attach of program p is ignored: ecc sets "attach" itself']);
});

test('a map takes the comment of its own struct, not of an unrelated previous declaration', () => {
  const described = full(paragraph(inline('sample'), text(' {"interval": 9}')));
  const decls: SourceDecl[] = [
    { kind: 'VarDecl', name: 'option', begin: 10, comment: described },
    { kind: 'VarDecl', name: 'm', begin: 50 },
  ];
  const { skel } = applyDocComments({ obj_name: 'o', data_sections: [], maps: [{ name: 'm', ident: 'm' }], progs: [] }, decls);
  assert.deepEqual(skel.maps, [{ name: 'm', ident: 'm' }]);
  assert.equal(applyDocComments({ obj_name: 'o', data_sections: [], maps: [], progs: [] }, decls).skel.doc, undefined);
});
