/** Assertions shared by tests. */
import assert from 'node:assert/strict';
import { EcliError } from '../../src/errors.js';

/** For assert.throws/rejects: the error is an EcliError with `code` and a message matching `pattern`. */
export function errorWith(code: string, pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof EcliError, `expected EcliError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  };
}
