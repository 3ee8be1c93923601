// Cross-target determinism: the corpus of traces (every built-in scenario, a few
// seeds, clean and lossy) computed by the wasm build under node must equal,
// byte for byte, the one computed natively (argv[2]). argv[3] is www/pkg.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [nativeFile, pkg] = process.argv.slice(2);
const mod = await import(pathToFileURL(join(pkg, 'sockbox_wasm.js')).href);
mod.initSync({ module: readFileSync(join(pkg, 'sockbox_wasm_bg.wasm')) });
const wasm = mod.determinism_corpus();
const native = readFileSync(nativeFile, 'utf8');
const runs = (native.match(/^# /gm) || []).length;
if (wasm === native) {
  console.log(`determinism: ${runs} runs, ${native.length} bytes of trace: native and wasm identical`);
  console.log('1 passed, 0 failed');
  process.exit(0);
}
let i = 0;
while (i < wasm.length && wasm[i] === native[i]) i++;
const line = native.slice(0, i).split('\n').length;
console.error(`determinism: traces differ at byte ${i} (line ${line})`);
console.error(`native: ${JSON.stringify(native.slice(Math.max(0, i - 80), i + 80))}`);
console.error(`wasm:   ${JSON.stringify(wasm.slice(Math.max(0, i - 80), i + 80))}`);
console.log('0 passed, 1 failed');
process.exit(1);
