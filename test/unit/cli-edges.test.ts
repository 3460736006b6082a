/**
 * CLI edges, pure parts: ecli's options given after the package, did-you-mean for program
 * options, option initial values read from the object's data sections, inspect tables that fit a
 * terminal width, and the XDP/TC targets inspect shows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitColumnWidths } from '../../src/cli/commands/table-fit.js';
import { renderInspect, type InspectReport } from '../../src/cli/commands/inspect.js';
import { EcliError } from '../../src/errors.js';
import { attachTargetText } from '../../src/model/attach-target.js';
import { programSpecs } from '../../src/model/programs.js';
import { defaultShown, formatHelp, packageHelpTexts } from '../../src/options/help.js';
import { optionValueText, readOptionValue, withInitialValues } from '../../src/options/initial.js';
import { parseProgramArgs } from '../../src/options/parse.js';
import { buildOptionSpecs } from '../../src/options/spec.js';
import type { EunomiaObjectMeta } from '../../src/package/types.js';

const meta: EunomiaObjectMeta = {
  bpf_skel: {
    obj_name: 'demo_bpf',
    maps: [],
    progs: [],
    data_sections: [
      {
        name: '.rodata',
        variables: [
          { name: 'threshold', type: 'int' },
          { name: 'label', type: 'char[8]' },
          { name: 'verbose_mode', type: 'bool' },
          { name: 'limit', type: 'int', cmdarg: { default: 7 } },
        ],
      },
    ],
  },
  export_types: [],
};

/** .rodata as clang lays it out: threshold = -42 at 0, label = "abc" at 4, verbose_mode = true at 12, limit = 3 at 16. */
function rodata() {
  const image = new Uint8Array(20);
  new DataView(image.buffer).setInt32(0, -42, true);
  image.set(new TextEncoder().encode('abc'), 4);
  image[12] = 1;
  new DataView(image.buffer).setInt32(16, 3, true);
  const variables = [
    { name: 'threshold', typeId: 0, offset: 0, size: 4, isStatic: false },
    { name: 'label', typeId: 0, offset: 4, size: 8, isStatic: false },
    { name: 'verbose_mode', typeId: 0, offset: 12, size: 1, isStatic: false },
    { name: 'limit', typeId: 0, offset: 16, size: 4, isStatic: false },
  ];
  return { name: '.rodata', size: 20, initial: image, variables };
}

const specs = () => withInitialValues(buildOptionSpecs(meta), [rodata()]);

test('initial values are read from the section image in each variable type', () => {
  const [threshold, label, flag, limit] = specs();
  assert.deepEqual([threshold!.initial, label!.initial, flag!.initial, limit!.initial], [-42n, 'abc', true, 3n]);
  const colour = { kind: 'int' as const, size: 1, signed: false, cName: 'enum colour', enumerators: [{ name: 'RED', value: 2n }] };
  assert.equal(optionValueText(colour, readOptionValue(colour, new Uint8Array([2]), 0)), 'RED');
  assert.equal(optionValueText(colour, readOptionValue(colour, new Uint8Array([9]), 0)), '9');
  assert.equal(readOptionValue({ kind: 'float', size: 8, cName: 'double' }, new Uint8Array(new Float64Array([2.5]).buffer), 0), 2.5);
});

test("--help shows each option's default: the @cmdarg default, else the object's initial value (golden)", () => {
  const help = formatHelp(specs(), packageHelpTexts(meta));
  assert.match(help, /^ {6}--threshold <threshold> {2}Set value of `int` variable threshold \[default: -42\]$/m);
  assert.match(help, /^ {6}--label <label> {10}Set value of `char\[8\]` variable label \[default: "abc"\]$/m);
  assert.match(help, /^ {6}--verbose_mode {11}Set value of `bool` variable verbose_mode \[default: true\]$/m);
  assert.match(help, /^ {6}--limit <limit> {10}Set value of `int` variable limit \[default: 7\]$/m, 'the @cmdarg default wins over the initial 3');
  // Without the object (a meta alone) the help is the reference's.
  assert.doesNotMatch(formatHelp(buildOptionSpecs(meta), packageHelpTexts(meta)), /default: -42|default: "abc"/);
  assert.equal(defaultShown(buildOptionSpecs(meta)[0]!), undefined);
});

test("one of ecli run's own options after the package: the package has no such option (its options are listed), ecli's goes before it", () => {
  const host = new Set(['-j', '--json', '--fields', '-v', '--debug', '-p']);
  for (const word of ['-j', '--json', '--fields=pid', '--debug', '-v', '-p']) {
    const shown = word.split('=')[0]!;
    const message = `package demo_bpf has no option ${shown} (its options: --threshold, --label, --verbose_mode, --limit); ecli's own ${shown} goes before the package`;
    assert.throws(
      () => parseProgramArgs(specs(), [word, '5'], packageHelpTexts(meta), host),
      (e: unknown) => e instanceof EcliError && e.code === 'USAGE' && e.message === message,
    );
  }
  const none = parseProgramArgs.bind(undefined, [], ['-p', '5'], packageHelpTexts(meta), host);
  assert.throws(
    none,
    (e: unknown) =>
      e instanceof EcliError && e.message === "package demo_bpf has no option -p (it has no options of its own); ecli's own -p goes before the package",
  );
  // The package's own option of that name wins.
  const own = withInitialValues(
    buildOptionSpecs({ ...meta, bpf_skel: { ...meta.bpf_skel, data_sections: [{ name: '.rodata', variables: [{ name: 'json', type: 'bool' }] }] } }),
    [],
  );
  const parsed = parseProgramArgs(own, ['--json'], packageHelpTexts(meta), host);
  assert.equal(parsed.kind === 'run' && parsed.values.get('json'), true);
});

test('a mistyped program option gets the closest option name', () => {
  assert.throws(
    () => parseProgramArgs(specs(), ['--treshold', '3'], packageHelpTexts(meta)),
    (e: unknown) =>
      e instanceof EcliError &&
      e.code === 'USAGE' &&
      e.message === 'unknown option --treshold for package demo_bpf (did you mean --threshold?); run with --help to list its options',
  );
});

test('column widths shrink the widest columns first, down to a minimum', () => {
  assert.deepEqual(fitColumnWidths([10, 40, 12], 80), [10, 40, 12], 'fits: unchanged');
  assert.deepEqual(fitColumnWidths([10, 40, 12], 50), [10, 24, 12]);
  assert.deepEqual(fitColumnWidths([30, 30], 41), [19, 19]);
  assert.deepEqual(fitColumnWidths([20, 20, 20], 10), [8, 8, 8], 'never below the minimum');
});

test('inspect tables fit the width they are given; without one they keep their natural width', () => {
  const long = 'a very long help text that would not fit on a narrow terminal at all, not even close';
  const report: InspectReport = {
    source: 'x.json',
    objName: 'demo_bpf',
    btfFiles: [],
    kernelBtfNeededFor: [],
    programs: [],
    maps: [],
    exports: [],
    iterators: [],
    exportStructs: [],
    options: [{ name: 'threshold', variable: 'threshold', section: '.rodata', type: 'int', default: '-42', initial: '-42', help: long }],
  };
  const narrow = renderInspect(report, { json: false, width: 60 });
  const tableLines = narrow.split('\n').filter((l) => /^[│┌├└]/.test(l));
  assert.ok(tableLines.length > 4);
  for (const line of tableLines) assert.ok([...line].length <= 60, `${[...line].length} > 60: ${line}`);
  const helpCells = tableLines.map((l) => l.split('│').slice(-2)[0]!.trim()).filter((cell) => cell !== '' && cell !== 'help');
  assert.ok(helpCells.join('').replace(/\s/g, '').includes(long.replace(/\s/g, '')), 'wrapped, not cut');
  const wide = renderInspect(report, { json: false });
  assert.ok(wide.split('\n').some((l) => l.includes(long)));
});

test('inspect shows where XDP and TC programs attach', () => {
  const [xdp, skb, tc, tcx, custom] = programSpecs([
    { name: 'x', attach: 'xdp', link: true },
    { name: 'y', attach: 'xdp', link: true, ifindex: 3, flags: 2 },
    { name: 't', attach: 'tc', link: true, tchook: { ifindex: 1, attach_point: 'BPF_TC_EGRESS' }, tcopts: { handle: 1, priority: 5 } },
    { name: 'u', attach: 'tcx/ingress', link: true, tcx: { interface: 'veth0', before: true } },
    { name: 'v', attach: 'tc', link: true },
  ]);
  assert.equal(attachTargetText(xdp!), 'lo (ifindex 1), BPF link');
  assert.equal(attachTargetText(skb!), 'ifindex 3, netlink, flags SKB_MODE');
  assert.equal(attachTargetText(tc!), 'lo (ifindex 1) egress, netlink filter, handle 1, priority 5');
  assert.equal(attachTargetText(tcx!), 'veth0 ingress, TCX link, first in the chain (netlink filter on kernels without TCX)');
  assert.equal(attachTargetText(custom!), 'lo (ifindex 1) ingress, TCX link (netlink filter on kernels without TCX)');
  assert.equal(attachTargetText(programSpecs([{ name: 'e', attach: 'tp/sched/sched_process_exec', link: true }])[0]!), 'sched/sched_process_exec');
});
