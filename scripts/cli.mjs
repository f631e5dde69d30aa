// Argument handling shared by the small command-line scripts: node:util parseArgs, a usage text on
// --help, and one clear line (exit 2) for arguments that cannot work, never a stack trace.
import { parseArgs } from 'node:util';

export class UsageError extends Error {}

/** Parses argv with `options`; prints `usage` and exits 0 on --help, exits 2 on unknown or malformed options. */
export function parseCli(usage, options, argv = process.argv.slice(2)) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: false });
  } catch (error) {
    fail(usage, error.message);
  }
  if (parsed.values.help) {
    console.log(usage);
    process.exit(0);
  }
  return parsed.values;
}

/** One line on stderr, then the usage, exit 2. */
export function fail(usage, message) {
  console.error(`error: ${message}\n\n${usage}`);
  process.exit(2);
}
