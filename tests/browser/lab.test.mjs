// End-to-end tests of the lab in real headless Chromium (Debian's, never a
// downloaded one), driven by playwright-core. Run by `cargo xtask test`, which
// serves www/ on a loopback port and passes LAB_URL, CHROMIUM and ARTIFACTS.
// Each test saves a screenshot of its last state to ARTIFACTS/<test>.png.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const URL = process.env.LAB_URL || 'http://127.0.0.1:8000/';
const ARTIFACTS = process.env.ARTIFACTS || join(process.cwd(), 'artifacts');
const profile = mkdtempSync(join(tmpdir(), 'sockbox-chromium-'));
mkdirSync(ARTIFACTS, { recursive: true });
let context, page;
const pageErrors = [];

before(async () => {
  assert.ok(/^http:\/\/127\.0\.0\.1:\d+\//.test(URL), `tests only talk to loopback, not ${URL}`);
  // A fresh profile directory (the --user-data-dir) per run.
  context = await chromium.launchPersistentContext(profile, {
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  // Nothing may be loaded from outside the lab's own server.
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(URL) || u.startsWith('data:') || u.startsWith('blob:')) return route.continue();
    pageErrors.push(`request to outside: ${u}`);
    return route.abort();
  });
});

after(async () => {
  await context?.close();
  rmSync(profile, { recursive: true, force: true });
});

afterEach(async (t) => {
  if (page) {
    await page.screenshot({ path: join(ARTIFACTS, `${t.name.replace(/[^a-z0-9]+/gi, '-')}.png`), fullPage: true });
    await page.close();
    page = null;
  }
  assert.deepEqual(pageErrors.splice(0), [], 'page errors');
});

async function openLab(hash = '') {
  page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`); });
  await page.goto(URL + hash);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
  return page;
}

const stepNo = () => page.$eval('#step-no', (e) => Number(e.textContent));
const rows = () => page.$$eval('#pk-table tbody tr', (trs) => trs.map((tr) => tr.textContent));
const consoles = () => page.$$eval('#host-cards .console', (cs) => cs.map((c) => c.textContent).join('\n---\n'));
const bannerShown = () => page.$eval('#banner', (b) => !b.hidden);
const ladderLabels = () => page.$$eval('#ladder text.lbl', (ts) => ts.map((t) => t.textContent));

// Every ladder arrow sits at its own time: it starts on a row labelled with its
// send time and (unless lost midway) ends on a row labelled with its arrival
// time, it has a packet label, and row labels only grow down the diagram.
async function assertLadderInTimeOrder(lesson, { udp = false } = {}) {
  const { arrows, rowLabels, labelled } = await page.evaluate(() => ({
    arrows: [...document.querySelectorAll('#ladder line.arrow')].map((l) => ({
      idx: l.dataset.idx, udp: l.classList.contains('udp'), lost: l.classList.contains('lost'),
      sent: Number(l.dataset.sent), at: Number(l.dataset.at),
      y1: Number(l.getAttribute('y1')), yAt: Number(l.dataset.yAt),
    })),
    rowLabels: [...document.querySelectorAll('#ladder text.tm')].map((t) => ({ y: Number(t.getAttribute('y')) - 3, text: t.textContent })),
    labelled: [...document.querySelectorAll('#ladder text.lbl')].map((t) => t.dataset.idx),
  }));
  const fmt = (us) => (us / 1e6).toFixed(6);
  const rowAt = new Map(rowLabels.map((r) => [r.y, r.text]));
  assert.ok(arrows.length > 0, `${lesson}: arrows drawn`);
  if (udp) assert.ok(arrows.some((a) => a.udp) && arrows.some((a) => !a.udp), `${lesson}: TCP and UDP arrows drawn`);
  for (const a of arrows) {
    assert.equal(rowAt.get(a.y1), fmt(a.sent), `${lesson}: packet ${a.idx} starts on the row of its send time`);
    if (!a.lost) assert.equal(rowAt.get(a.yAt), fmt(a.at), `${lesson}: packet ${a.idx} ends on the row of its arrival time`);
    assert.ok(labelled.includes(a.idx), `${lesson}: packet ${a.idx} has a label`);
  }
  const byY = [...rowLabels].sort((p, q) => p.y - q.y);
  for (let i = 1; i < byY.length; i++) {
    assert.ok(Number(byY[i].text) >= Number(byY[i - 1].text), `${lesson}: time ${byY[i].text} drawn below ${byY[i - 1].text}`);
  }
  // A UDP packet sent after a TCP one is drawn below it, and vice versa.
  for (const u of arrows.filter((a) => a.udp)) {
    for (const t of arrows.filter((a) => !a.udp)) {
      if (t.sent < u.sent) assert.ok(t.y1 < u.y1, `${lesson}: UDP packet ${u.idx} below earlier TCP packet ${t.idx}`);
      if (u.sent < t.sent) assert.ok(u.y1 < t.y1, `${lesson}: TCP packet ${t.idx} below earlier UDP packet ${u.idx}`);
    }
  }
}

async function choose(lesson) {
  await page.selectOption('#lesson', lesson);
  await page.waitForFunction((l) => location.hash.includes(`lesson=${l}`), lesson);
  assert.equal(await stepNo(), 0);
}

// Press Step until `pred` holds; returns the step number reached.
async function stepUntil(pred, max = 200) {
  for (let i = 0; i < max; i++) {
    if (await pred()) return stepNo();
    if (await page.$eval('#btn-step', (b) => b.disabled)) break;
    await page.click('#btn-step');
  }
  assert.fail('condition not reached by stepping');
}

test('page loads with every lesson and no error', async () => {
  await openLab();
  const lessons = await page.$$eval('#lesson option', (os) => os.map((o) => o.value).filter(Boolean));
  for (const l of ['hello', 'exchange', 'partial-recv', 'timeout-retry', 'many-clients', 'tcp-vs-udp', 'chat']) {
    assert.ok(lessons.includes(l), `lesson ${l} is offered (have ${lessons})`);
  }
  assert.equal(await bannerShown(), false);
  assert.ok((await page.textContent('#lesson-text')).length > 20, 'the lesson is explained');
});

test('hello: stepping shows the SYN in the packet list and the ladder', async () => {
  await openLab();
  await choose('hello');
  const n = await stepUntil(async () => (await rows()).some((r) => r.includes('[SYN]')));
  assert.ok(n >= 1);
  const syn = (await rows()).find((r) => r.includes('[SYN]'));
  assert.match(syn, /TCP/);
  assert.ok((await ladderLabels()).some((l) => l.includes('[SYN]')), 'ladder has a SYN arrow');
  const cur = await page.textContent('#step-no');
  assert.equal(Number(cur), n);
  // The detail pane shows every layer and the frame as hex + text.
  await page.click('#pk-table tbody tr.tcp');
  const detail = await page.textContent('#detail');
  for (const layer of ['Ethernet II', 'Internet Protocol Version 4', 'Transmission Control Protocol', 'Frame bytes']) {
    assert.ok(detail.includes(layer), `detail has ${layer}`);
  }
  assert.match(await page.textContent('#detail .hex'), /^0000  [0-9a-f]{2} [0-9a-f]{2}/);
  // The protocol filter keeps only what it names.
  await page.selectOption('#proto-filter', 'arp');
  const arp = await rows();
  assert.ok(arp.length >= 1 && arp.every((r) => r.includes('ARP')), `only ARP rows: ${arp}`);
  await page.selectOption('#proto-filter', '');
  assert.ok((await rows()).length > arp.length);
});

test('hello: run to the end prints the greeting in the client console', async () => {
  await openLab();
  await choose('hello');
  await page.keyboard.press('e'); // keyboard shortcut for Run to end
  await page.waitForSelector('#done-flag:not([hidden])');
  assert.match(await consoles(), /Thank you for connecting/);
  assert.ok(await stepNo() > 5);
});

test('hello: step back returns to the previous state', async () => {
  await openLab();
  await choose('hello');
  // Step (by keyboard) until the SYN-ACK is listed, remembering every state seen.
  const seen = [];
  const snap = async () => ({ step: await stepNo(), rows: await rows(), hosts: await page.textContent('#host-cards') });
  for (;;) {
    const s = await snap();
    seen.push(s);
    if (s.rows.some((r) => r.includes('[SYN, ACK]'))) break;
    assert.ok(seen.length < 100, 'SYN-ACK reached');
    await page.keyboard.press('ArrowRight');
  }
  const at = seen.at(-1);
  await page.click('#btn-back');
  const back = await snap();
  assert.equal(back.step, at.step - 1);
  assert.deepEqual(back, seen.at(-2), 'after Back the page shows exactly the previous step');
  assert.ok(!back.rows.some((r) => r.includes('[SYN, ACK]')), 'the SYN-ACK is gone again');
  await page.keyboard.press('ArrowRight'); // and forward again lands on the same state
  assert.deepEqual(await snap(), at);
});

// Open `lesson` with one network condition changed at step 0.
async function chooseWith(lesson, field, value) {
  await openLab();
  await choose(lesson);
  await page.fill(`#conditions input[name=${field}]`, value);
  await page.click('#conditions button[type=submit]');
  assert.equal(await bannerShown(), false);
}

test('tcp-vs-udp: loss causes a marked retransmission', async () => {
  await chooseWith('tcp-vs-udp', 'loss', '0.3');
  assert.match(await page.textContent('#interventions'), /loss 0.3/);
  await page.click('#btn-end');
  await page.waitForSelector('#done-flag:not([hidden])');
  const retrans = await page.$$eval('#pk-table tbody tr.retrans', (trs) => trs.map((t) => t.textContent));
  assert.ok(retrans.length > 0, 'a retransmission is listed');
  assert.match(retrans[0], /TCP Retransmission/);
  assert.ok((await ladderLabels()).some((l) => l.startsWith('[retrans]')), 'ladder marks it');
  assert.ok((await rows()).some((r) => /lost/.test(r)), 'a lost packet is listed');
  await assertLadderInTimeOrder('tcp-vs-udp', { udp: true });
});

test('duplicated packets: Wireshark\'s Dup ACK and Fast Retransmission marks', async () => {
  // At 90% duplication (seed 1) the client's ACK arrives three times before the
  // server's FIN: three duplicate ACKs, and smoltcp resends the FIN at once.
  await chooseWith('hello', 'dup', '0.9');
  await page.click('#btn-end');
  await page.waitForSelector('#done-flag:not([hidden])');
  const all = await rows();
  const dups = all.filter((r) => /\[TCP Dup ACK \d+#\d+\]/.test(r));
  assert.ok(dups.length >= 3, `duplicate ACKs listed: ${dups.length}`);
  assert.ok(all.some((r) => /\[TCP Fast Retransmission\]/.test(r)), 'the fast retransmission is listed');
  // The number names the ACK repeated: an earlier row, itself no duplicate.
  const [, no] = /\[TCP Dup ACK (\d+)#1\]/.exec(dups.find((r) => /#1\]/.test(r)));
  const cells = await page.$$eval('#pk-table tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  const orig = cells.find((c) => c[0] === no);
  assert.ok(orig && orig[5] === 'ACK' && !/Dup ACK/.test(orig[8]), `row ${no}: ${orig}`);
  assert.ok((await ladderLabels()).some((l) => l.startsWith('[dup ack]')), 'the ladder marks duplicates');
  assert.ok((await ladderLabels()).some((l) => l.startsWith('[fast retrans]')), 'and the fast retransmission');
  await page.click(`#pk-table tbody tr:nth-child(${all.findIndex((r) => /#1\]/.test(r)) + 1})`);
  assert.match(await page.textContent('#detail'), new RegExp(`Duplicate ACK \\(#1\\) of packet ${no}: the receiver repeats`));
});

test('small socket buffers: Wireshark\'s Window Full mark', async () => {
  // With 1 KB buffers the echo's 1,500 and 4,000-byte messages are sent in
  // 1 KB segments, each filling the receiver's whole window.
  await openLab('#lesson=echo-len32');
  await page.click('#editor-box summary');
  const sc = JSON.parse(await page.inputValue('#source'));
  for (const h of sc.hosts) Object.assign(h, { rx_buffer: 1024, tx_buffer: 1024 });
  await page.fill('#source', JSON.stringify(sc, null, 2));
  await page.click('#btn-load');
  assert.equal(await bannerShown(), false);
  await page.click('#btn-end');
  await page.waitForSelector('#done-flag:not([hidden])');
  const all = await rows();
  const full = all.filter((r) => /\[TCP Window Full\]/.test(r));
  assert.ok(full.length >= 2, `window full segments listed: ${full.length}`);
  assert.ok(full.every((r) => /Len=1024/.test(r)), `each fills the 1 KB window: ${full[0]}`);
  assert.ok((await ladderLabels()).some((l) => l.startsWith('[window full]')), 'the ladder marks them');
  // Only the marked packets, as Wireshark's tcp.analysis.flags filter shows them.
  await page.check('#marked-only');
  const marked = await rows();
  assert.ok(marked.length >= full.length && marked.length < all.length, `${marked.length} of ${all.length}`);
  assert.ok(marked.every((r) => /\[TCP (Window Full|ZeroWindow|Retransmission|Fast Retransmission|Dup ACK)/.test(r)), marked.join('\n'));
  await page.uncheck('#marked-only');
  assert.equal((await rows()).length, all.length);
  // The packet's detail explains the mark, with Wireshark's expert info.
  await page.click(`#pk-table tbody tr:nth-child(${all.indexOf(full[0]) + 1})`);
  const detail = await page.textContent('#detail');
  assert.match(detail, /SEQ\/ACK analysis/);
  assert.match(detail, /TCP window specified by the receiver is now completely full: this segment fills/);
});

test('UDP to a port nobody listens on: the ICMP port unreachable, decoded', async () => {
  await openLab('#lesson=tcp-vs-udp');
  await page.click('#editor-box summary');
  const sc = JSON.parse(await page.inputValue('#source'));
  const client = sc.hosts.flatMap((h) => h.apps).find((a) => a.app === 'udp-echo' && a.role === 'client');
  assert.ok(client, 'the lesson has a UDP client');
  client.server = client.server.replace(/:\d+$/, ':9998');
  await page.fill('#source', JSON.stringify(sc, null, 2));
  await page.click('#btn-load');
  assert.equal(await bannerShown(), false);
  await page.click('#btn-end');
  await page.waitForSelector('#done-flag:not([hidden])');
  await page.selectOption('#proto-filter', 'icmp');
  const icmp = await rows();
  assert.ok(icmp.length > 0, 'ICMP messages are listed');
  assert.ok(icmp.every((r) => /ICMP.*Destination unreachable \(Port unreachable\)/.test(r)), icmp[0]);
  await page.click('#pk-table tbody tr');
  const detail = await page.textContent('#detail');
  assert.match(detail, /Internet Control Message Protocol/);
  assert.match(detail, /UDP to 10\.0\.0\.1 port 9998/);
  assert.match(detail, /Checksum\s*correct/);
});

test('a host running two apps says whose socket s0 is', async () => {
  await openLab();
  await choose('tcp-vs-udp');
  const serverSocks = () => page.$$eval('#host-cards article[data-host=server] table.socks tr td:first-child',
    (tds) => tds.map((td) => td.textContent));
  // The server runs a TCP echo (app 0) and a UDP echo (app 1), each with its s0.
  await stepUntil(async () => (await serverSocks()).length >= 2);
  const ids = await serverSocks();
  assert.ok(ids.includes('s0 app 0') && ids.includes('s0 app 1'), `server sockets: ${ids}`);
  await choose('hello');
  await stepUntil(async () => (await page.$$('#host-cards article[data-host=server] table.socks td')).length > 0);
  const one = await serverSocks();
  assert.ok(one.length > 0 && one.every((id) => /^s\d+$/.test(id)), `one app, bare ids: ${one}`);
});

test('every lesson: each ladder arrow sits at its own labelled time', async () => {
  await openLab();
  const lessons = await page.$$eval('#lesson option', (os) => os.map((o) => o.value).filter(Boolean));
  for (const l of lessons) {
    await choose(l);
    await page.click('#btn-end');
    await page.waitForSelector('#done-flag:not([hidden])');
    await assertLadderInTimeOrder(l, { udp: l === 'tcp-vs-udp' });
  }
});

test('crash and partition take effect at the current step; Back undoes them', async () => {
  await openLab('#lesson=hello');
  for (let i = 0; i < 3; i++) await page.click('#btn-step');
  await page.selectOption('#crash-host', 'server');
  await page.click('#btn-crash');
  assert.equal(await bannerShown(), false);
  assert.match(await page.textContent('#interventions'), /at step 3: crash server/);
  assert.match(await page.textContent('#host-cards .card[data-host="server"] h3'), /crashed/);
  await stepUntil(async () => (await rows()).some((r) => /host down/.test(r)));
  await page.click('#btn-restart');
  await page.click('#btn-partition');
  assert.ok((await page.textContent('#topology')).includes('partitioned'), 'topology shows the cut');
  await page.click('#btn-end');
  assert.ok((await rows()).some((r) => /partition/.test(r)), 'a packet dropped by the partition');
  assert.doesNotMatch(await consoles(), /Thank you for connecting/);
  // Back to before the crash: the changes after that step are gone.
  await page.fill('#conditions input[name=loss]', '1.5'); // out of range: refused, named
  await page.click('#conditions button[type=submit]');
  assert.match(await page.textContent('#banner-text'), /loss/);
  for (let n = await stepNo(); n > 2; n--) await page.click('#btn-back');
  assert.equal(await stepNo(), 2);
  assert.equal(await page.textContent('#interventions'), '');
  await page.click('#btn-end');
  assert.match(await consoles(), /Thank you for connecting/);
});

test('pcap download has a libpcap header and records', async () => {
  await openLab('#lesson=hello');
  await page.click('#btn-end');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#btn-pcap')]);
  const file = join(profile, 'run.pcap');
  await download.saveAs(file);
  const b = readFileSync(file);
  assert.ok(b.length > 24 + 16, 'has records');
  assert.equal(b.readUInt32LE(0), 0xa1b2c3d4, 'magic (microsecond pcap)');
  assert.equal(b.readUInt16LE(4), 2, 'major version');
  assert.equal(b.readUInt16LE(6), 4, 'minor version');
  assert.equal(b.readUInt32LE(20), 1, 'link type Ethernet');
  assert.match(download.suggestedFilename(), /\.pcap$/);
});

test('a shared URL reopens the same step', async () => {
  await openLab();
  await choose('tcp-vs-udp');
  for (let i = 0; i < 5; i++) await page.click('#btn-step');
  await page.fill('#conditions input[name=loss]', '0.2'); // a change made mid-run
  await page.click('#conditions button[type=submit]');
  for (let i = 0; i < 10; i++) await page.click('#btn-step');
  const url = page.url();
  const want = { step: await stepNo(), rows: await rows(), consoles: await consoles() };
  await page.close();
  page = await context.newPage();
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]');
  const got = { step: await stepNo(), rows: await rows(), consoles: await consoles() };
  assert.equal(got.step, 15);
  assert.deepEqual(got, want);
  assert.match(await page.textContent('#interventions'), /at step 5: .*loss 0.2/);
});

test('a bad scenario shows an error at its line, the page stays usable', async () => {
  await openLab('#lesson=hello');
  await page.click('#editor-box summary');
  await page.fill('#source', '{\n  "name": "mine",\n  "seed": 1,\n  "stop_ms": "soon"\n}\n');
  await page.click('#btn-load');
  assert.equal(await bannerShown(), true);
  assert.match(await page.textContent('#src-error'), /line 4/);
  assert.equal(await page.textContent('#gutter .bad'), '4');
  // The lab reads JSON only: a TOML text is refused at its first line, not run.
  await page.fill('#source', 'name = "mine"\nseed = 1\n');
  await page.click('#btn-load');
  assert.equal(await bannerShown(), true);
  assert.match(await page.textContent('#src-error'), /line 1/);
  assert.equal(await page.textContent('#gutter .bad'), '1');
  // A field error (no line from the parser) is located at its field.
  const dup = { name: 'mine', hosts: [{ name: 'a', ip: '10.0.0.1' }, { name: 'a', ip: '10.0.0.2' }] };
  await page.fill('#source', JSON.stringify(dup, null, 2));
  await page.click('#btn-load');
  assert.match(await page.textContent('#src-error'), /hosts\[1\]\.name/);
  assert.equal(await page.textContent('#gutter .bad'), '9');
  await page.click('#btn-step'); // the previous run carries on
  assert.equal(await stepNo(), 1);
});

test('the list of changes labels each kind of change', async () => {
  const { opLabel } = await import('../../www/js/ops.js');
  const conditions = { latency_ms: 5.0, jitter_ms: 0.25, loss: 0.2, dup: 0, reorder: 0, mtu: 576, bandwidth_bps: 0 };
  assert.equal(opLabel({ step: 1, op: 'set-conditions', conditions }),
    'network: latency 5 ms, jitter 0.25 ms, loss 0.2, dup 0, reorder 0, MTU 576, 0 bit/s');
  assert.equal(opLabel({ step: 2, op: 'partition', a: 'client', b: 'server' }), 'partition client \u2194 server');
  assert.equal(opLabel({ step: 3, op: 'repair', a: 'client', b: 'server' }), 'repair client \u2194 server');
  assert.equal(opLabel({ step: 4, op: 'crash', host: 'server' }), 'crash server');
  assert.equal(opLabel({ step: 5, op: 'restart', host: 'server' }), 'restart server');
});

test('the editor lays a lesson out as serde_json pretty-prints it, digits kept', async () => {
  const { prettyJson } = await import('../../www/js/pretty.js');
  // serde_json::to_string_pretty's (and Python's json.dumps(indent=2)) layout.
  const compact = '{"a":"x:{,}[\\"\\\\\\"]","b":[],"c":{},"d":[[1,{"e":null}],true],'
    + '"é{":"ünï,cödé: 😀 [x]","f":1.0,"seed":18446744073709551615}';
  assert.equal(prettyJson(compact), [
    '{', '  "a": "x:{,}[\\"\\\\\\"]",', '  "b": [],', '  "c": {},', '  "d": [', '    [', '      1,',
    '      {', '        "e": null', '      }', '    ],', '    true', '  ],',
    '  "é{": "ünï,cödé: 😀 [x]",', '  "f": 1.0,', '  "seed": 18446744073709551615', '}',
  ].join('\n'));
  await openLab('#lesson=hello');
  await page.click('#editor-box summary');
  const src = await page.inputValue('#source');
  assert.equal(src.split('\n')[1], '  "name": "hello",');
  assert.match(src, /\n {4}"latency_ms": 1\.0,\n/);
  assert.equal(JSON.parse(src).hosts.length, 2);
});

test('an edited scenario runs, and its link reopens it', async () => {
  await openLab('#lesson=hello');
  await page.click('#editor-box summary');
  const src = await page.inputValue('#source');
  const sc = JSON.parse(src); // the lesson is shown as JSON
  const server = sc.hosts.flatMap((h) => h.apps).find((a) => a.role === 'server');
  assert.ok(server, 'the hello lesson has a server app');
  server.message = 'Hi from my own server';
  const mine = JSON.stringify(sc, null, 2);
  await page.fill('#source', mine);
  await page.click('#btn-load');
  assert.equal(await bannerShown(), false);
  assert.equal(await page.inputValue('#lesson'), '');
  await page.click('#btn-end');
  assert.match(await consoles(), /Hi from my own server/);
  const url = page.url();
  assert.match(url, /#src=/);
  await page.goto('about:blank');
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]');
  assert.match(await consoles(), /Hi from my own server/);
});

test('a Rust panic reaches the error banner with its message', async () => {
  await openLab();
  assert.equal(await bannerShown(), false);
  await page.evaluate(async () => {
    const w = await import('./js/wasm.js');
    w.guard(() => w.wasm.debug_panic());
  });
  assert.equal(await bannerShown(), true);
  assert.match(await page.textContent('#banner-text'),
    /^internal error \(please report\): .*debug_panic: a deliberate panic.*Reset or reload the page\.$/s);
  // The hook also logs the panic to the console: expected here, and only here.
  const logged = pageErrors.filter((e) => /debug_panic/.test(e));
  assert.ok(logged.length >= 1, 'the panic is logged to the console');
  pageErrors.splice(0, pageErrors.length, ...pageErrors.filter((e) => !/debug_panic|unreachable/.test(e)));
});

test('narrow screen: no horizontal scrolling of the page', async () => {
  await openLab('#lesson=hello');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.click('#btn-end');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `page is ${overflow}px wider than the screen`);
});
