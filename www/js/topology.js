// The topology view: hosts in a ring around the simulated switch, links drawn
// cut when partitioned, crashed hosts dashed, and the current step's packet
// animated along its path (stopping midway with a cross when it was lost).
import { svg, clear } from './svg.js';

const W = 400, H = 260, CX = W / 2, CY = H / 2;
// Half a host box's width and height; the packet dot's radius.
const HALF_W = 46, HALF_H = 18, DOT_R = 7;

export class Topology {
  constructor(el) {
    this.el = el;
    this.anim = null;
  }

  // hosts: [{name, ip, crashed}], cut: [[a, b]] partitioned pairs, packet: normalized or null.
  render(hosts, cut, packet, durationMs) {
    if (this.anim) cancelAnimationFrame(this.anim);
    clear(this.el);
    // Two hosts sit on one line: crop the empty top and bottom.
    this.el.setAttribute('viewBox', hosts.length <= 2 ? `0 ${CY - 60} ${W} 120` : `0 0 ${W} ${H}`);
    const pos = new Map();
    const r = hosts.length <= 2 ? 140 : Math.min(150, 95 + hosts.length * 6);
    hosts.forEach((h, i) => {
      const a = hosts.length <= 2 ? Math.PI * (1 - i) : (2 * Math.PI * i) / hosts.length - Math.PI / 2;
      pos.set(h.name, { x: CX + r * Math.cos(a), y: CY + Math.min(100, r * 0.7) * Math.sin(a) });
    });
    for (const h of hosts) {
      const p = pos.get(h.name);
      this.el.append(svg('line', { class: 'link', x1: CX, y1: CY, x2: p.x, y2: p.y }));
    }
    // A partition between a and b: a red dashed line between them, crossed out.
    for (const [a, b] of cut) {
      const pa = pos.get(a), pb = pos.get(b);
      if (!pa || !pb) continue;
      this.el.append(svg('line', { class: 'link cut', x1: pa.x, y1: pa.y, x2: pb.x, y2: pb.y }));
      const mx = (pa.x + pb.x) / 2, my = (pa.y + pb.y) / 2 - 22;
      this.el.append(svg('text', { x: mx, y: my, 'text-anchor': 'middle', fill: '#c62828', 'font-size': 11 }, `partitioned ${a} \u2194 ${b}`));
    }
    this.el.append(svg('rect', { class: 'switch', x: CX - 26, y: CY - 12, width: 52, height: 24, rx: 5 }));
    this.el.append(svg('text', { x: CX, y: CY + 4, 'text-anchor': 'middle', 'font-size': 10 }, 'switch'));
    for (const h of hosts) {
      const p = pos.get(h.name);
      const g = svg('g', { class: 'host' + (h.crashed ? ' crashed' : ''), 'data-host': h.name });
      g.append(svg('rect', { x: p.x - HALF_W, y: p.y - HALF_H, width: 2 * HALF_W, height: 2 * HALF_H }));
      g.append(svg('text', { x: p.x, y: p.y - 3 }, h.crashed ? `${h.name} (down)` : h.name));
      g.append(svg('text', { class: 'ip', x: p.x, y: p.y + 11 }, h.ip));
      this.el.append(g);
    }
    if (packet && pos.has(packet.from)) this.animate(packet, pos, durationMs);
  }

  animate(packet, pos, durationMs) {
    const a = pos.get(packet.from);
    const b = pos.get(packet.to) || { x: CX, y: CY };
    const color = packet.proto === 'udp' ? '#23803f' : packet.proto === 'arp' ? '#a07400' : packet.proto === 'icmp' ? '#8e24aa' : '#1f6feb';
    const dot = svg('circle', { class: 'pkt', r: DOT_R, fill: packet.lost ? '#c62828' : color, cx: a.x, cy: a.y });
    const label = svg('text', { class: 'pkt-label', x: a.x, y: a.y - 10, 'text-anchor': 'middle' }, packet.short);
    this.el.append(dot, label);
    // Path: host -> switch -> host, from and to where the link meets each host's
    // box (so the dot never sits on a host's name). Lost packets stop halfway.
    const end = packet.lost ? 0.5 : 1;
    const from = edge(a), to = pos.has(packet.to) ? edge(b) : b;
    const at = (t) => (t < 0.5
      ? { x: from.x + (CX - from.x) * t * 2, y: from.y + (CY - from.y) * t * 2 }
      : { x: CX + (to.x - CX) * (t - 0.5) * 2, y: CY + (to.y - CY) * (t - 0.5) * 2 });
    const place = (t) => {
      const p = at(t);
      dot.setAttribute('cx', p.x); dot.setAttribute('cy', p.y);
      label.setAttribute('x', p.x); label.setAttribute('y', p.y - 22);
    };
    const finish = () => {
      place(end);
      if (packet.lost) {
        const p = at(end);
        this.el.append(svg('path', { d: `M${p.x - 8},${p.y - 8}L${p.x + 8},${p.y + 8}M${p.x + 8},${p.y - 8}L${p.x - 8},${p.y + 8}`, stroke: '#c62828', 'stroke-width': 3 }));
      }
    };
    if (!durationMs || matchMedia('(prefers-reduced-motion: reduce)').matches) { finish(); return; }
    const t0 = performance.now();
    const tick = (now) => {
      const t = Math.min(1, (now - t0) / durationMs) * end;
      if (t >= end) { finish(); this.anim = null; return; }
      place(t);
      this.anim = requestAnimationFrame(tick);
    };
    this.anim = requestAnimationFrame(tick);
  }
}

// Where the link from a host's centre p to the switch leaves the host's box
// (HALF_W x HALF_H each side), plus the packet dot's radius and a pixel.
function edge(p) {
  const dx = CX - p.x, dy = CY - p.y;
  const len = Math.hypot(dx, dy) || 1;
  const out = Math.min(dx ? HALF_W / Math.abs(dx) : Infinity, dy ? HALF_H / Math.abs(dy) : Infinity);
  const f = Math.min(out + (DOT_R + 1) / len, 0.5);
  return { x: p.x + dx * f, y: p.y + dy * f };
}
