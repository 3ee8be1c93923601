// Per-host panels: status, the socket call the program is blocked in, its
// console output exactly as printed, its sockets with TCP state and
// receive/send buffer fill, and its latest socket calls and state changes
// (`recent`: host name -> trace records, newest last).
import { html, clear } from './svg.js';

export function renderHosts(el, hosts, recent = new Map()) {
  const scroll = new Map([...el.querySelectorAll('.console')].map((c) => [c.dataset.host, c.scrollTop]));
  clear(el);
  for (const h of hosts) {
    const card = html('article', { class: 'card' + (h.crashed ? ' crashed' : ''), 'data-host': h.name });
    const status = h.crashed ? 'crashed' : h.exit !== null && h.exit !== undefined ? `exited (${h.exit})` : 'running';
    card.append(html('h3', {}, h.name, html('small', { text: `${h.ip}  ${h.mac ?? ''}  ${status}` })));
    card.append(html('div', { class: 'blocked', text: h.blocked ? `blocked in ${h.blocked}` : '\u00a0' }));
    const con = html('pre', { class: 'console', 'data-host': h.name, 'aria-label': `${h.name} console`, text: h.console.length ? h.console.join('\n') : '(no output yet)' });
    card.append(con);
    if (h.sockets.length) {
      const t = html('table', { class: 'socks' });
      t.append(html('tr', {}, ...['sock', 'local', 'remote', 'state', 'rx', 'tx'].map((s) => html('th', { text: s }))));
      // Each app numbers its own sockets (as each process has its own file
      // descriptors): with two apps on the host, say whose s0 it is.
      const apps = new Set(h.sockets.map((s) => s.app).filter((a) => a !== null && a !== undefined));
      for (const s of h.sockets) {
        const owner = apps.size > 1 && s.app !== null && s.app !== undefined;
        t.append(html('tr', { title: s.blocked ? `blocked in ${s.blocked}` : '' },
          html('td', owner ? { text: `${s.id} `, title: `socket ${s.id} of app ${s.app} (the host's apps count from 0)` } : { text: s.id },
            ...(owner ? [html('small', { class: 'muted', text: `app ${s.app}` })] : [])),
          html('td', { text: s.local ?? '' }),
          html('td', { text: s.remote ?? '' }),
          html('td', { class: `state ${s.state}`, text: s.state }),
          html('td', {}, fill(s.rx, s.proto === 'tcp-listen' ? 'connections waiting (backlog)' : 'bytes')),
          html('td', {}, fill(s.tx))));
      }
      card.append(t);
    } else {
      card.append(html('p', { class: 'muted', text: 'no sockets' }));
    }
    const calls = recent.get(h.name) || [];
    if (calls.length) {
      card.append(html('ol', { class: 'calls', 'aria-label': `${h.name} recent socket calls` },
        ...calls.map((r) => html('li', { class: `ev-${r.kind}`, text: r.kind === 'call' ? `${r.call} \u2192 ${r.result}` : `${r.local} ${r.from} \u2192 ${r.to}` }))));
    }
    el.append(card);
    const old = scroll.get(h.name);
    con.scrollTop = old === undefined ? con.scrollHeight : Math.max(old, con.scrollHeight - con.clientHeight);
  }
}

function fill(buf, unit = 'bytes') {
  if (!buf || !buf[1]) return html('span', { class: 'muted', text: '-' });
  const [used, cap] = buf;
  const pct = Math.min(100, Math.round((100 * used) / cap));
  return html('span', { title: `${used} / ${cap} ${unit}` },
    html('span', { class: 'fill' }, html('i', { style: `width:${pct}%` })), ` ${used}`);
}
