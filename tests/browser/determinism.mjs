// Cross-target determinism: the corpus of traces (every built-in scenario, a few
// seeds, clean and lossy) computed by the lab's wasm under node, through the
// same API the page uses, must equal, byte for byte, the one computed natively
// (argv[2], from `cargo run -p sockbox-wasm --example traces`, whose
// wasm/src/corpus.rs this mirrors line for line). argv[3] is www/pkg.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [nativeFile, pkg] = process.argv.slice(2);
const mod = await import(pathToFileURL(join(pkg, 'sockbox_wasm.js')).href);
mod.initSync({ module: readFileSync(join(pkg, 'sockbox_wasm_bg.wasm')) });

// corpus.rs's SEEDS and lossy conditions.
const SEEDS = [1, 7, 2024];
const LOSSY = { loss: 0.1, dup: 0.05, reorder: 0.1, jitter_ms: 0.5 };

function run(name, seed, lossy) {
  const lab = mod.Lab.builtin(name);
  try {
    lab.set_seed(BigInt(seed));
    if (lossy) lab.set_conditions(JSON.stringify({ ...JSON.parse(lab.conditions_json()), ...LOSSY }));
    const steps = lab.run_to_end();
    return `# ${name} seed=${seed} lossy=${lossy} steps=${steps} t=${lab.now_us()}\n${lab.trace_json(0)}\n`;
  } finally {
    lab.free();
  }
}

let wasm = '';
for (const { name } of JSON.parse(mod.builtins())) {
  for (const seed of SEEDS) {
    for (const lossy of [false, true]) wasm += run(name, seed, lossy);
  }
}
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
