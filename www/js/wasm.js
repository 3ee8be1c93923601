// The wasm handle, loaded once. Every call goes through `guard`, so a Rust panic
// (caught by the crate's panic hook) or any thrown error reaches the page's error
// banner with its message instead of leaving a dead page.
import init, * as wasm from '../pkg/sockbox_wasm.js';

let onError = (msg) => console.error(msg);

export async function load(errorSink) {
  onError = errorSink;
  await init();
  return wasm;
}

// Run `fn`; on failure report a one-line message and return `fallback`.
export function guard(fn, fallback = undefined) {
  try {
    return fn();
  } catch (e) {
    onError(describe(e));
    return fallback;
  }
}

export function describe(e) {
  const panic = wasm.take_panic ? safe(() => wasm.take_panic()) : '';
  if (panic) return `internal error (please report): ${panic}. Reset or reload the page.`;
  if (e instanceof Error) return e.message;
  return String(e);
}

function safe(fn) {
  try { return fn(); } catch { return ''; }
}

export { wasm };
