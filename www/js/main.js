// The lab page: owns the wasm `Lab` handle and the view state, wires the
// controls, keyboard shortcuts and the shareable URL hash
// (#lesson=NAME | #src=BASE64URL&fmt=json, then &seed=N&ops=BASE64URL&step=N).
// Every change to the run goes through `refresh`, which redraws from the handle.
import { load, guard, describe, wasm } from './wasm.js';
import { collectPackets } from './model.js';
import { Topology } from './topology.js';
import { Ladder } from './ladder.js';
import { PacketList } from './packets.js';
import { renderHosts } from './hosts.js';
import { Editor } from './editor.js';
import { prettyJson } from './pretty.js';
import { opLabel } from './ops.js';

const $ = (id) => document.getElementById(id);
const COND_FIELDS = ['latency_ms', 'jitter_ms', 'loss', 'dup', 'reorder', 'mtu', 'bandwidth_bps'];

const ui = {
  lab: null, lessons: [], scenario: null, // {lesson} | {src, fmt}
  records: [], packets: [], selected: null, playing: null,
};

// ---- error banner -------------------------------------------------------
function showError(msg) {
  $('banner-text').textContent = msg;
  $('banner').hidden = false;
}
function clearError() { $('banner').hidden = true; }
window.addEventListener('error', (e) => showError(describe(e.error || e.message)));
window.addEventListener('unhandledrejection', (e) => showError(describe(e.reason)));

// ---- views --------------------------------------------------------------
const topology = new Topology($('topology'));
const ladder = new Ladder($('ladder'), $('ladder-head'), $('ladder-scroll'), (idx) => select(idx));
const packetList = new PacketList(document.querySelector('.packets'), (idx) => select(idx));
const editor = new Editor($('source'), $('gutter'), $('src-error'));

function select(idx) {
  ui.selected = idx;
  const p = ui.packets.find((q) => q.idx === idx);
  if (p && !p.bytes && ui.lab) p.bytes = guard(() => ui.lab.frame(p.id), null);
  packetList.select(idx);
  drawLadder();
}

function drawLadder() {
  const names = hostList().map((h) => h.name);
  const last = ui.packets.length ? ui.packets[ui.packets.length - 1].idx : null;
  ladder.render(names, ui.packets, ui.selected, last);
}

function hostList() {
  return ui.lab ? guard(() => JSON.parse(ui.lab.hosts_json()), []) : [];
}

// Redraw everything from the handle. `fresh` re-reads the whole trace; otherwise
// only records past the ones already held are fetched. `animate` is the packet
// the step delivered, if any.
function refresh({ fresh = false, stepRecords = null } = {}) {
  const lab = ui.lab;
  if (!lab) return;
  if (fresh) { ui.records = []; ui.packets = []; }
  const start = ui.records.length;
  const more = guard(() => JSON.parse(lab.trace_json(start)), []);
  ui.records.push(...more);
  collectPackets(more, start, ui.packets);
  const hosts = hostList();
  const cut = guard(() => JSON.parse(lab.partitions_json()), []);
  let moving = null;
  if (stepRecords) {
    const firstNew = start;
    moving = ui.packets.filter((p) => p.idx >= firstNew).at(-1) || null;
  }
  const speed = Number($('speed').value);
  topology.render(hosts, cut, moving, moving ? Math.min(600, 1500 / speed) : 0);
  packetList.update(ui.packets, fresh);
  if (ui.selected !== null && !ui.packets.some((p) => p.idx === ui.selected)) ui.selected = null;
  if (ui.selected !== null) packetList.select(ui.selected);
  drawLadder();
  renderHosts($('host-cards'), hosts, recentCalls(5));
  $('step-no').textContent = lab.step_no();
  $('last-step').textContent = lab.last_step();
  $('sim-time').textContent = (lab.now_us() / 1e6).toFixed(6);
  const done = lab.is_done();
  $('done-flag').hidden = !done;
  $('btn-step').disabled = done;
  $('btn-end').disabled = done;
  $('btn-back').disabled = lab.step_no() === 0;
  fillHostPickers(hosts);
  fillConditions();
  renderOps();
  writeHash();
}

// The last `n` socket calls and TCP state changes of each host.
function recentCalls(n) {
  const out = new Map();
  for (let i = ui.records.length - 1; i >= 0; i--) {
    const r = ui.records[i];
    if (r.kind !== 'call' && r.kind !== 'state') continue;
    const list = out.get(r.host) || [];
    if (list.length < n) list.unshift(r);
    out.set(r.host, list);
  }
  return out;
}

// ---- scenario loading ---------------------------------------------------
function open(scenario, { ops = null, step = 0, seed = null } = {}) {
  stop();
  let lab;
  try {
    lab = scenario.lesson !== undefined ? wasm.Lab.builtin(scenario.lesson) : wasm.Lab.parse(scenario.src, scenario.fmt);
  } catch (e) {
    const msg = describe(e);
    if (scenario.src !== undefined) {
      $('editor-box').open = true;
      editor.value = scenario.src;
      editor.showError(msg);
    }
    showError(`Bad scenario: ${msg}`);
    return false;
  }
  if (ui.lab) ui.lab.free();
  ui.lab = lab;
  ui.scenario = scenario;
  ui.selected = null;
  clearError();
  if (seed !== null) guard(() => lab.set_seed(BigInt(seed)));
  if (ops) guard(() => lab.restore(ops, step));
  else if (step) guard(() => lab.goto(step));
  if (scenario.lesson !== undefined) {
    $('lesson').value = scenario.lesson;
    editor.value = prettyJson(lab.source_json());
  } else {
    $('lesson').value = '';
    editor.value = scenario.src;
  }
  const lesson = ui.lessons.find((l) => l.name === scenario.lesson);
  $('lesson-summary').textContent = lesson ? `${lesson.name}: ${lesson.summary}` : `${lab.name() || 'your scenario'}`;
  $('lesson-text').textContent = lab.description() || 'Your own scenario.';
  refresh({ fresh: true });
  return true;
}

// ---- controls -----------------------------------------------------------
function step() {
  if (!ui.lab || ui.lab.is_done()) { stop(); return; }
  const stepped = guard(() => ui.lab.step(), undefined);
  if (stepped === undefined) { stop(); refresh(); return; } // an error, already shown
  refresh({ stepRecords: true });
  if (ui.lab.is_done()) stop();
}
function back() {
  if (!ui.lab || ui.lab.step_no() === 0) return;
  stop();
  guard(() => ui.lab.back());
  refresh({ fresh: true });
}
function reset() {
  if (!ui.lab) return;
  stop();
  guard(() => ui.lab.goto(0));
  refresh({ fresh: true });
}
function runToEnd() {
  if (!ui.lab) return;
  stop();
  guard(() => ui.lab.run_to_end());
  refresh();
}
function play() {
  if (ui.playing) return stop();
  if (!ui.lab || ui.lab.is_done()) return;
  $('btn-play').textContent = '\u275A\u275A Pause';
  $('btn-play').setAttribute('aria-pressed', 'true');
  const tick = () => {
    step();
    if (ui.playing) ui.playing = setTimeout(tick, 1000 / Number($('speed').value));
  };
  ui.playing = setTimeout(tick, 0);
}
function stop() {
  if (ui.playing) clearTimeout(ui.playing);
  ui.playing = null;
  $('btn-play').textContent = '\u25B6\u25B6 Play';
  $('btn-play').setAttribute('aria-pressed', 'false');
}
function setSpeed(delta) {
  const s = $('speed');
  s.value = String(Math.min(Number(s.max), Math.max(Number(s.min), Number(s.value) + delta)));
  $('speed-out').textContent = `${s.value}/s`;
}

function downloadPcap() {
  if (!ui.lab) return;
  const bytes = guard(() => ui.lab.pcap());
  if (!bytes) return;
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([bytes], { type: 'application/vnd.tcpdump.pcap' }));
  a.download = `${ui.lab.name() || 'scenario'}-step${ui.lab.step_no()}.pcap`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

async function share() {
  writeHash();
  try {
    await navigator.clipboard.writeText(location.href);
    $('btn-share').textContent = '\u2713 Copied';
  } catch {
    $('btn-share').textContent = '\u2713 In address bar';
  }
  setTimeout(() => { $('btn-share').textContent = 'Share link'; }, 1500);
}

// ---- network controls ---------------------------------------------------
function fillConditions() {
  const form = $('conditions');
  if (form.contains(document.activeElement)) return; // do not clobber typing
  const c = guard(() => JSON.parse(ui.lab.conditions_json()), {});
  for (const f of COND_FIELDS) form.elements[f].value = c[f] ?? '';
  form.elements.seed.value = String(ui.lab.seed());
}

function applyConditions(e) {
  e.preventDefault();
  const form = $('conditions');
  const c = guard(() => JSON.parse(ui.lab.conditions_json()), null);
  if (!c) return;
  for (const f of COND_FIELDS) {
    const raw = form.elements[f].value.trim();
    const v = Number(raw);
    if (raw === '' || !Number.isFinite(v)) { showError(`Bad value for ${f}: "${raw}" is not a number`); return; }
    c[f] = v;
  }
  const seedRaw = form.elements.seed.value.trim();
  if (!/^\d+$/.test(seedRaw)) { showError(`Bad value for seed: "${seedRaw}" is not a whole number`); return; }
  try {
    if (BigInt(seedRaw) !== BigInt(ui.lab.seed())) {
      ui.lab.set_seed(BigInt(seedRaw));
      refresh({ fresh: true });
    }
    ui.lab.set_conditions(JSON.stringify(c));
    clearError();
  } catch (err) {
    showError(describe(err));
  }
  form.querySelector('button').focus();
  refresh();
}

function fault(kind) {
  if (!ui.lab) return;
  try {
    if (kind === 'partition' || kind === 'repair') ui.lab[kind]($('part-a').value, $('part-b').value);
    else ui.lab[kind]($('crash-host').value);
    clearError();
  } catch (err) {
    showError(`${kind} failed: ${describe(err)}`);
  }
  refresh();
}

function fillHostPickers(hosts) {
  for (const [id, pick] of [['part-a', 0], ['part-b', 1], ['crash-host', 0]]) {
    const sel = $(id);
    const names = hosts.map((h) => h.name);
    if ([...sel.options].map((o) => o.value).join() === names.join()) continue;
    sel.replaceChildren(...names.map((n) => new Option(n, n)));
    sel.value = names[Math.min(pick, names.length - 1)] ?? '';
  }
}

function renderOps() {
  const ops = guard(() => JSON.parse(ui.lab.ops_json()), []);
  $('interventions').replaceChildren(...ops.map((o) => {
    const li = document.createElement('li');
    li.textContent = `at step ${o.step}: ${opLabel(o)}`;
    return li;
  }));
}

// ---- URL hash -----------------------------------------------------------
const b64 = (s) => btoa(String.fromCharCode(...new TextEncoder().encode(s))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const unb64 = (s) => new TextDecoder().decode(Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)));

function writeHash() {
  if (!ui.lab) return;
  const q = new URLSearchParams();
  if (ui.scenario.lesson !== undefined) q.set('lesson', ui.scenario.lesson);
  else { q.set('src', b64(ui.scenario.src)); q.set('fmt', ui.scenario.fmt); }
  q.set('seed', String(ui.lab.seed()));
  const ops = JSON.parse(ui.lab.ops_json());
  if (ops.length) q.set('ops', b64(JSON.stringify(ops)));
  q.set('step', String(ui.lab.step_no()));
  history.replaceState(null, '', `#${q}`);
}

function openFromHash() {
  const q = new URLSearchParams(location.hash.slice(1));
  let scenario = { lesson: ui.lessons[0]?.name ?? 'hello' };
  try {
    if (q.has('src')) scenario = { src: unb64(q.get('src')), fmt: q.get('fmt') || 'json' };
    else if (q.has('lesson')) scenario = { lesson: q.get('lesson') };
    const ops = q.has('ops') ? unb64(q.get('ops')) : null;
    const step = Number(q.get('step') || 0);
    const seed = q.has('seed') && /^\d+$/.test(q.get('seed')) ? q.get('seed') : null;
    if (!Number.isInteger(step) || step < 0) throw new Error(`bad step "${q.get('step')}" in the link`);
    if (open(scenario, { ops, step, seed })) return;
  } catch (e) {
    showError(`This link could not be opened: ${describe(e)}`);
  }
  if (!ui.lab) open({ lesson: ui.lessons[0]?.name ?? 'hello' });
}

// ---- wiring -------------------------------------------------------------
function wire() {
  $('btn-step').addEventListener('click', step);
  $('btn-back').addEventListener('click', back);
  $('btn-play').addEventListener('click', play);
  $('btn-end').addEventListener('click', runToEnd);
  $('btn-reset').addEventListener('click', reset);
  $('btn-pcap').addEventListener('click', downloadPcap);
  $('btn-share').addEventListener('click', share);
  $('banner-close').addEventListener('click', clearError);
  $('speed').addEventListener('input', () => setSpeed(0));
  $('lesson').addEventListener('change', () => open({ lesson: $('lesson').value }));
  $('btn-load').addEventListener('click', () => {
    if (open({ src: editor.value, fmt: 'json' })) editor.showError(null);
  });
  $('conditions').addEventListener('submit', applyConditions);
  $('btn-partition').addEventListener('click', () => fault('partition'));
  $('btn-repair').addEventListener('click', () => fault('repair'));
  $('btn-crash').addEventListener('click', () => fault('crash'));
  $('btn-restart').addEventListener('click', () => fault('restart'));
  // replaceState (writeHash) fires no hashchange: this is a pasted or followed link.
  window.addEventListener('hashchange', openFromHash);
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t.closest && t.closest('input, textarea, select, [contenteditable]')) return;
    const keys = {
      ArrowRight: step, n: step, ArrowLeft: back, b: back, ' ': play, e: runToEnd, r: reset,
      '+': () => setSpeed(1), '=': () => setSpeed(1), '-': () => setSpeed(-1), d: downloadPcap, s: share,
    };
    const fn = keys[e.key] || keys[e.key.toLowerCase()];
    if (!fn || (e.key === ' ' && t.tagName === 'BUTTON')) return;
    e.preventDefault();
    fn();
  });
}

async function main() {
  try {
    await load(showError);
  } catch (e) {
    showError(`The simulator could not be loaded (${describe(e)}). Build it with: cargo xtask lab`);
    return;
  }
  ui.lessons = JSON.parse(wasm.builtins());
  const sel = $('lesson');
  sel.append(new Option('(your own scenario)', ''));
  for (const l of ui.lessons) sel.append(new Option(l.name, l.name));
  sel.options[0].disabled = true;
  wire();
  setSpeed(0);
  openFromHash();
  document.body.dataset.ready = 'true';
}

main();
