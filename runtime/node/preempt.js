// Rewrite a user program with its preemption points ahead of time:
//   node runtime/node/preempt.js IN.wasm OUT.wasm
// The runtime then takes it as it is (../preempt.js). Exit status 1, with
// the reason on stderr, if the program has code the rewriter does not know.
import { readFileSync, writeFileSync } from 'node:fs';
import { addPreemptionPoints } from '../preempt.js';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  process.stderr.write('usage: node preempt.js IN.wasm OUT.wasm\n');
  process.exit(2);
}
try {
  writeFileSync(output, addPreemptionPoints(new Uint8Array(readFileSync(input))));
} catch (error) {
  process.stderr.write(`preempt: ${input}: ${error.message}\n`);
  process.exit(1);
}
