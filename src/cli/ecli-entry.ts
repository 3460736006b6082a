/**
 * The entry point of the bundled `ecli` (scripts/bundle.mjs): `ecli --version` is answered here,
 * before commander and the rest of the command line interface are loaded (about a tenth of
 * Node's own start-up); everything else goes to ecli.ts.
 */
import { TOOL_VERSION } from '../version.js';

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) process.stdout.write(`${TOOL_VERSION}\n`);
else void import('./ecli.js');
