// The scenario editor: a textarea with a line-number gutter; an error whose
// message names a line ("line 7") marks that line in the gutter and moves the
// caret there.
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
    this.bad = m ? Number(m[1]) : null;
    this.errorEl.hidden = false;
    this.errorEl.textContent = msg;
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
