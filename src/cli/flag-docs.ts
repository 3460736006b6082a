/**
 * docs/cli.md's flag reference, generated from the flag table (flags.ts): one table per command.
 * `npm run docs:flags` writes it between the markers; test/unit/cli-flags.test.ts fails when the
 * file holds anything else.
 */
import { ECLI_COMMANDS, flagsOf, summaryFor, type EcliCommand } from './flags.js';

export const FLAG_REFERENCE_BEGIN = '<!-- flag reference: generated from src/cli/flags.ts by `npm run docs:flags`; edit the table there -->';
export const FLAG_REFERENCE_END = '<!-- end of the flag reference -->';

const TITLES: Record<EcliCommand, string> = {
  ecli: '`ecli` (before any command: `ecli -v run ...`)',
  run: '`ecli run` (after `run`, before the package)',
  inspect: '`ecli inspect`',
  pack: '`ecli pack`',
  push: '`ecli push`',
  pull: '`ecli pull`',
  login: '`ecli login`',
  'key generate': '`ecli key generate`',
  sign: '`ecli sign`',
  verify: '`ecli verify`',
};

/** Text for a markdown table cell: a `|` would end the cell, a `<name>` would be taken for HTML. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/</g, '&lt;');
}

/** The flags as docs/cli.md lists them, without the markers. */
export function renderFlagReference(): string {
  const sections = ECLI_COMMANDS.map((command) => {
    const rows = flagsOf(command).map(([, row]) => {
      const words = row.flags
        .split(', ')
        .map((w) => `\`${w}\``)
        .join(', ');
      const choices = row.choices === undefined ? '' : ` One of ${row.choices.map((c) => `\`${c}\``).join(', ')}.`;
      return `| ${words} | ${cell(summaryFor(row, command))}.${cell(choices)} | [more](${row.docs}) |`;
    });
    return [`### ${TITLES[command]}`, '', '| flag | what it does | |', '|---|---|---|', ...rows].join('\n');
  });
  return sections.join('\n\n');
}

/** `markdown` with its flag reference (between the markers) replaced by the generated one. */
export function withFlagReference(markdown: string): string {
  const begin = markdown.indexOf(FLAG_REFERENCE_BEGIN);
  const end = markdown.indexOf(FLAG_REFERENCE_END);
  if (begin < 0 || end < begin) throw new Error(`the markers of the flag reference are missing: ${FLAG_REFERENCE_BEGIN} ... ${FLAG_REFERENCE_END}`);
  return `${markdown.slice(0, begin)}${FLAG_REFERENCE_BEGIN}\n\n${renderFlagReference()}\n\n${markdown.slice(end)}`;
}
