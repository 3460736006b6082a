/**
 * redactUrl: how messages show a URL. A pre-signed storage URL's query is its credential
 * (S3's X-Amz-Signature, Azure's sig, a token): it never reaches a message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactUrl } from '../../src/inputs/url-credentials.js';

test('the query and the fragment are left out, marked ?… and #…', () => {
  const cases: [string, string][] = [
    [
      'https://bucket.s3.amazonaws.com/blobs/sha256/ab?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F1&X-Amz-Signature=f00d',
      'https://bucket.s3.amazonaws.com/blobs/sha256/ab?…',
    ],
    ['https://acct.blob.core.windows.net/c/b?sv=2021&sig=abc%3D', 'https://acct.blob.core.windows.net/c/b?…'],
    ['https://storage.googleapis.com/b/o?X-Goog-Signature=123', 'https://storage.googleapis.com/b/o?…'],
    ['http://127.0.0.1:5000/pkg.json?token=s3cret#frag', 'http://127.0.0.1:5000/pkg.json?…#…'],
    ['http://127.0.0.1:5000/pkg.json#access_token=s3cret', 'http://127.0.0.1:5000/pkg.json#…'],
  ];
  for (const [url, shown] of cases) assert.equal(redactUrl(url), shown, url);
});

test('a URL without query or fragment is shown as the URL parser writes it', () => {
  assert.equal(redactUrl('https://example.org/tools/pkg.json'), 'https://example.org/tools/pkg.json');
  assert.equal(redactUrl('https://example.org'), 'https://example.org/');
  assert.equal(redactUrl('http://h/p?'), 'http://h/p', 'an empty query holds nothing to hide');
  assert.equal(redactUrl('ftp://h/file?x=1'), 'ftp://h/file?…');
});

test('a user name and password are left out too', () => {
  assert.equal(redactUrl('https://robot:hunter2@example.org/p?sig=1'), 'https://example.org/p?…');
});

test('a string the URL parser refuses is still cut at its first ? or #, its user:password@ dropped', () => {
  assert.equal(redactUrl('http://[bad/x?sig=s3cret'), 'http://[bad/x?…');
  assert.equal(redactUrl('http://u:hunter2@[bad/x#t=1'), 'http://[bad/x#…');
  assert.equal(redactUrl('not a url'), 'not a url');
});
