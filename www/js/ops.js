// A change the learner applied (an entry of `Lab.ops_json()`), as the page's
// list of changes shows it: `crash server`, `partition client ↔ server`,
// `network: latency 5 ms, jitter 0.25 ms, loss 0.2, ...`. Numbers as
// JavaScript prints them (`5`, `0.25`).
export function opLabel(op) {
  switch (op.op) {
    case 'set-conditions': {
      const c = op.conditions || {};
      return `network: latency ${c.latency_ms} ms, jitter ${c.jitter_ms} ms, loss ${c.loss}, `
        + `dup ${c.dup}, reorder ${c.reorder}, MTU ${c.mtu}, ${c.bandwidth_bps} bit/s`;
    }
    case 'partition': return `partition ${op.a} \u2194 ${op.b}`;
    case 'repair': return `repair ${op.a} \u2194 ${op.b}`;
    case 'crash': return `crash ${op.host}`;
    case 'restart': return `restart ${op.host}`;
    default: return op.op;
  }
}
