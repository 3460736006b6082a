/** PEM armour (RFC 7468): one labelled base64 block in, one out. Pure. */
import { EcliError } from '../errors.js';
import { decodeBase64 } from './base64.js';

export interface PemBlock {
  label: string;
  der: Uint8Array;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n\t ]*?)-----END ([A-Z0-9 ]+)-----/g;
const LINE = 64;

/** The single PEM block of `text`; `source` names the file in errors. Text around the block is ignored, as OpenSSL does. */
export function parsePem(text: string, source: string, hint: string): PemBlock {
  const blocks = [...text.matchAll(BLOCK)];
  if (blocks.length === 0) throw new EcliError('USAGE', `${source} is not a PEM file (no -----BEGIN ...----- block)`, { hint });
  if (blocks.length > 1) throw new EcliError('USAGE', `${source} holds ${blocks.length} PEM blocks; expected one`, { hint });
  const [, label, body, endLabel] = blocks[0]!;
  if (label !== endLabel) throw new EcliError('USAGE', `${source}: the PEM block begins as ${label} but ends as ${endLabel}`, { hint });
  const der = decodeBase64(body!.replace(/\s+/g, ''));
  if (der === undefined) throw new EcliError('USAGE', `${source}: the ${label} block is not valid base64`, { hint });
  return { label: label!, der };
}

export function formatPem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines: string[] = [];
  for (let at = 0; at < base64.length; at += LINE) lines.push(base64.slice(at, at + LINE));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
