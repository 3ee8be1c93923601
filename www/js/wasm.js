// The wasm handle, loaded once (dynamically, so a missing build becomes a
// message in the error banner, not a page whose scripts never ran). Every call
// goes through `guard`, so a Rust panic (recorded by the crate's panic hook) or
// any thrown error reaches the banner with its message.
export let wasm = null;

let onError = (msg) => console.error(msg);

export async function load(errorSink) {
  onError = errorSink;
  const mod = await import('../pkg/sockbox_wasm.js');
  await mod.default();
  wasm = mod;
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
  const panic = wasm && wasm.take_panic ? safe(() => wasm.take_panic()) : '';
  if (panic) return `internal error (please report): ${panic}. Reset or reload the page.`;
  if (e instanceof Error) return e.message;
  return String(e);
}

function safe(fn) {
  try { return fn(); } catch { return ''; }
}
