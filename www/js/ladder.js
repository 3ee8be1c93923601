// The sequence (ladder) diagram: one lifeline per host, one arrow per packet
// from (sender, sent time) to (receiver, arrival time). Time is compressed to
// one row per distinct instant so a 1 s retransmission timeout does not leave a
// screen of empty space. Each extra packet sent in an instant gets a narrower
// sub-row, so a burst draws as parallel arrows, each still at its own time:
// every row, sub-rows included, prints its time on the left, and y only grows
// with time. Lost packets stop midway with a cross;
// retransmissions are drawn thick and labelled.
import { svg, clear } from './svg.js';

const LEFT = 70, TOP = 8, ROW = 22, SUB = 14;
// Label box estimate: the labels are 10px monospace (CHAR wide per character).
const CHAR = 6.1, LBL_H = 11;
// A label's baseline sits this far above its arrow; labels turn with arrows up
// to MAX_TURN degrees.
const LIFT = 4, MAX_TURN = 15;
// Where along an arrow its label may go, best first.
const SPOTS = [0.5, 0.35, 0.65, 0.22, 0.78];

export class Ladder {
  // el: the diagram's <svg>; head: an <svg> above the scroller for the host
  // names, so they stay visible while the diagram scrolls.
  constructor(el, head, scroller, onSelect) {
    this.el = el;
    this.head = head;
    this.scroller = scroller;
    this.onSelect = onSelect;
    scroller.addEventListener('scroll', () => {
      this.head.style.transform = `translateX(${-scroller.scrollLeft}px)`;
    });
  }

  render(hostNames, packets, selectedIdx, currentIdx) {
    clear(this.el);
    const avail = (this.scroller?.clientWidth || 500) - LEFT - 10;
    const COL = Math.max(90, Math.min(260, avail / Math.max(2, hostNames.length)));
    const x = new Map(hostNames.map((n, i) => [n, LEFT + COL / 2 + i * COL]));
    // Rows: one per distinct instant, and one more sub-row for each extra packet
    // sent in the same instant (by any host), so simultaneous packets draw as
    // parallel arrows whose labels never share a line. A packet arrives in the
    // sub-row it was sent in, so a burst stays parallel.
    const burst = new Map();
    const keys = packets.map((p) => {
      const n = burst.get(p.sentAt) || 0;
      burst.set(p.sentAt, n + 1);
      return { s: [p.sentAt, n], a: [p.at, n] };
    });
    const uniq = new Map();
    for (const k of keys) for (const [t, n] of [k.s, k.a]) uniq.set(`${t}#${n}`, [t, n]);
    const sorted = [...uniq.values()].sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    // A row's y; `first` marks the first row of its instant (full spacing, dark label).
    const rowOf = new Map(), first = new Set();
    let y = TOP + 12 - ROW, prevT = null;
    for (const [t, n] of sorted) {
      const k = `${t}#${n}`;
      if (t !== prevT) first.add(k);
      y += t !== prevT ? ROW : SUB;
      prevT = t;
      rowOf.set(k, y);
    }
    const width = LEFT + Math.max(2, hostNames.length) * COL;
    const height = Math.max(y, TOP + 12) + 24;
    this.el.setAttribute('width', width);
    this.el.setAttribute('height', height);
    this.el.setAttribute('viewBox', `0 0 ${width} ${height}`);
    clear(this.head);
    this.head.setAttribute('width', width);
    for (const [name, hx] of x) {
      this.head.append(svg('text', { class: 'hname', x: hx, y: 15 }, name));
      this.el.append(svg('line', { class: 'life', x1: hx, y1: 4, x2: hx, y2: height - 4 }));
    }
    for (const [t, n] of sorted) {
      const k = `${t}#${n}`;
      this.el.append(svg('text', { class: first.has(k) ? 'tm' : 'tm sub', x: 4, y: rowOf.get(k) + 3, 'data-t': t }, fmtTime(t)));
    }
    const defs = svg('defs');
    for (const [id, color] of [['ah', '#1d232b'], ['ah-udp', '#23803f'], ['ah-arp', '#a07400'], ['ah-icmp', '#8e24aa'], ['ah-re', '#b35c00']]) {
      const m = svg('marker', { id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' });
      m.append(svg('path', { d: 'M0,0L10,5L0,10z', fill: color }));
      defs.append(m);
    }
    this.el.append(defs);
    // Labels go in a layer over every arrow; their white halo keeps them legible.
    const labels = svg('g'), placed = [];
    let selY = null;
    packets.forEach((p, i) => {
      const x1 = x.get(p.from);
      if (x1 === undefined) return;
      let x2 = x.get(p.to);
      if (x2 === undefined) x2 = x1 === LEFT + COL / 2 ? x1 + COL : x1 - COL; // broadcast
      const y1 = rowOf.get(keys[i].s.join('#')), y2full = rowOf.get(keys[i].a.join('#'));
      const frac = p.lost ? 0.5 : 1;
      const x2e = x1 + (x2 - x1) * frac, y2 = y1 + (y2full - y1) * frac;
      const cls = ['arrow', p.proto, p.lost ? 'lost' : '', p.retrans ? 'retrans' : ''].join(' ');
      const marker = p.lost ? null : p.retrans ? 'url(#ah-re)' : p.proto === 'udp' ? 'url(#ah-udp)' : p.proto === 'arp' ? 'url(#ah-arp)' : p.proto === 'icmp' ? 'url(#ah-icmp)' : 'url(#ah)';
      if (p.idx === currentIdx) {
        this.el.append(svg('rect', { class: 'cur', x: LEFT, y: Math.min(y1, y2) - 8, width: width - LEFT, height: Math.abs(y2 - y1) + 16 }));
      }
      const line = svg('line', { class: cls + (p.idx === selectedIdx ? ' sel' : ''), x1, y1, x2: x2e, y2, 'marker-end': marker, 'data-idx': p.idx, 'data-sent': p.sentAt, 'data-at': p.at, 'data-y-at': y2full });
      const hit = svg('line', { x1, y1, x2: x2e, y2, stroke: 'transparent', 'stroke-width': 10, 'data-idx': p.idx, style: 'cursor:pointer' });
      hit.addEventListener('click', () => this.onSelect(p.idx));
      const title = svg('title', {}, `#${p.no} ${p.info}`);
      hit.append(title);
      this.el.append(line, hit);
      if (p.lost) {
        this.el.append(svg('path', { class: 'x', d: `M${x2e - 5},${y2 - 5}L${x2e + 5},${y2 + 5}M${x2e + 5},${y2 - 5}L${x2e - 5},${y2 + 5}` }));
      }
      const mark = p.fast ? '[fast retrans] ' : p.retrans ? '[retrans] ' : p.dup ? '[dup ack] ' : p.win.length ? `[${p.win[0].toLowerCase()}] ` : '';
      const text = mark + p.short + (p.lost ? ` (${p.fate.replace(/_/g, ' ')})` : '');
      const [mx, my, deg] = placeLabel(placed, text.length * CHAR, x1, y1, x2e, y2);
      labels.append(svg('text', {
        class: 'lbl' + (p.retrans ? ' retrans' : p.dup || p.win.length ? ' noted' : ''),
        x: mx, y: my, 'text-anchor': 'middle', transform: `rotate(${deg.toFixed(2)} ${mx} ${my + LIFT})`, 'data-idx': p.idx,
      }, text));
      if (p.idx === selectedIdx || (selectedIdx === null && p.idx === currentIdx)) selY = (y1 + y2) / 2;
    });
    this.el.append(labels);
    if (selY !== null && this.scroller) {
      const top = selY - this.scroller.clientHeight / 2;
      this.scroller.scrollTop = Math.max(0, top);
    }
  }
}

// The first spot along (x1,y1)->(x2,y2) where a label w wide overlaps no label
// in `placed` (else the one overlapping them least); records it and returns its
// baseline's middle and the angle to draw it at. A gently sloping arrow (one
// packet in its instant) gets its label along it, turned about the arrow
// point LIFT below the baseline, so the label never crosses its own arrow; a
// steep one (a burst, drawn across many sub-rows) keeps its label level, as
// labels turned that far would read badly and pile up. The boxes that keep
// labels apart stay upright either way.
function placeLabel(placed, w, x1, y1, x2, y2) {
  let deg = Math.atan2(y2 - y1, x2 - x1) * 180 / Math.PI;
  if (deg > 90) deg -= 180;
  else if (deg < -90) deg += 180;
  if (Math.abs(deg) > MAX_TURN) deg = 0;
  const box = (f) => {
    const cx = x1 + (x2 - x1) * f, base = y1 + (y2 - y1) * f - LIFT;
    return { l: cx - w / 2, r: cx + w / 2, t: base - LBL_H + 2, b: base + 2, cx, base };
  };
  const hits = (b) => placed.some((o) => b.l < o.r && o.l < b.r && b.t < o.b && o.t < b.b);
  // None free (a burst of packets in one instant): the spot whose area shared with
  // the labels already placed is least.
  const overlap = (b) => placed.reduce((sum, o) =>
    sum + Math.max(0, Math.min(b.r, o.r) - Math.max(b.l, o.l)) * Math.max(0, Math.min(b.b, o.b) - Math.max(b.t, o.t)), 0);
  const spots = SPOTS.map(box);
  const b = spots.find((c) => !hits(c)) ||
    spots.map((c) => [overlap(c), c]).reduce((best, s) => (s[0] < best[0] ? s : best))[1];
  placed.push(b);
  return [b.cx, b.base, deg];
}

export function fmtTime(us) {
  return (us / 1e6).toFixed(6);
}
