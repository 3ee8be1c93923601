// Runs a wasm32-wasip1 program under node: `node wasi-run.mjs prog.wasm args...`.
// Used by `cargo xtask bench` to time the simulator rows in wasm; the program's
// stdout and stderr pass through, and its exit code becomes node's. It exits at
// once: node 20 crashed (SIGSEGV) tearing down an instance that had grown its
// memory to hundreds of MB (the conc.10000 row); `cargo xtask bench` also runs
// node with --single-threaded-gc, without which the same row crashed on return.
import { readFile } from 'node:fs/promises';
import process from 'node:process';
import { WASI } from 'node:wasi';

const [path, ...args] = process.argv.slice(2);
const wasi = new WASI({ version: 'preview1', args: [path, ...args], env: {}, returnOnExit: true });
const module = await WebAssembly.compile(await readFile(path));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exit(wasi.start(instance));
