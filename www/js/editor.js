// The scenario editor: a textarea with a line-number gutter; an error whose
// message names a line ("line 7") marks that line in the gutter and moves the
// caret there. An error that names a field instead (`hosts[1].apps[0].server`)
// is located in the text by walking the TOML tables / JSON keys it names.
export class Editor {
  constructor(textarea, gutter, errorEl) {
    this.ta = textarea;
    this.gutter = gutter;
    this.errorEl = errorEl;
    this.bad = null;
    this.ta.addEventListener('input', () => this.paintGutter());
    this.ta.addEventListener('scroll', () => { this.gutter.scrollTop = this.ta.scrollTop; });
  }

  get value() { return this.ta.value; }

  set value(text) {
    this.ta.value = text;
    this.showError(null);
  }

  paintGutter() {
    const n = this.ta.value.split('\n').length;
    const out = [];
    for (let i = 1; i <= n; i++) out.push(i === this.bad ? `<span class="bad">${i}</span>` : String(i));
    this.gutter.innerHTML = out.join('\n');
    this.gutter.scrollTop = this.ta.scrollTop;
  }

  // Show `msg` (or clear it). Returns the line it names, if any.
  showError(msg) {
    this.bad = null;
    if (!msg) {
      this.errorEl.hidden = true;
      this.errorEl.textContent = '';
      this.paintGutter();
      return null;
    }
    const m = /line (\d+)/i.exec(msg);
    const f = /field `([^`]+)`/.exec(msg);
    this.bad = m ? Number(m[1]) : f ? locateField(this.ta.value, f[1]) : null;
    this.errorEl.hidden = false;
    this.errorEl.textContent = m || !this.bad ? msg : `line ${this.bad}: ${msg}`;
    this.paintGutter();
    if (this.bad) {
      const lines = this.ta.value.split('\n');
      const pos = lines.slice(0, this.bad - 1).reduce((a, l) => a + l.length + 1, 0);
      this.ta.focus();
      this.ta.setSelectionRange(pos, pos + (lines[this.bad - 1] || '').length);
      this.ta.scrollTop = Math.max(0, (this.bad - 5) * 18);
    }
    return this.bad;
  }
}

// The 1-based line where a dotted field path (`hosts[1].apps[0].port`) is set,
// or null. TOML: the n-th `[[hosts]]`, then its n-th `[[hosts.apps]]`, then
// `port =`. JSON: the n-th object after `"hosts"`, ... then `"port":`.
export function locateField(text, path) {
  const lines = text.split('\n');
  const json = text.trimStart().startsWith('{');
  let at = 0;
  let table = '';
  const segs = path.split('.');
  for (let s = 0; s < segs.length; s++) {
    const m = /^([A-Za-z_]+)(?:\[(\d+)\])?$/.exec(segs[s]);
    if (!m) return null;
    const [, key, idx] = m;
    const last = s === segs.length - 1;
    table = table ? `${table}.${key}` : key;
    if (idx !== undefined && !json) {
      let seen = -1;
      const header = new RegExp(`^\\s*\\[\\[\\s*${table.replace(/\./g, '\\.')}\\s*\\]\\]`);
      for (let i = at; i < lines.length; i++) {
        if (header.test(lines[i]) && ++seen === Number(idx)) { at = i + 1; break; }
        if (i === lines.length - 1) return null;
      }
      if (last) return at;
      continue;
    }
    if (!json && !last && idx === undefined) {
      const header = new RegExp(`^\\s*\\[\\s*${table.replace(/\./g, '\\.')}\\s*\\]`);
      const h = lines.findIndex((l, i) => i >= at && header.test(l));
      if (h >= 0) { at = h + 1; continue; }
    }
    const keyRe = json ? new RegExp(`"${key}"\\s*:`) : new RegExp(`^\\s*${key}\\s*=`);
    let found = -1;
    for (let i = at; i < lines.length; i++) if (keyRe.test(lines[i])) { found = i; break; }
    if (found < 0) return null;
    if (last || idx === undefined) { if (last) return found + 1; at = found + 1; continue; }
    // JSON array element: count objects opened after the key.
    let depth = 0, seen = -1;
    for (let i = found; i < lines.length; i++) {
      for (const ch of lines[i]) {
        if (ch === '{') { depth++; if (depth === 1 && ++seen === Number(idx)) { at = i; break; } }
        if (ch === '}') depth--;
      }
      if (seen === Number(idx)) break;
    }
    if (seen !== Number(idx)) return null;
  }
  return null;
}
