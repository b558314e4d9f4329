"""The style sheet and script inlined into every HTML report (render/html.py): no file, font or library is
fetched, so the page works offline and can be attached to a pull request as it is.

The script does two things: the block tree expands and collapses (a row's button shows or hides its
children; `expand all` / `collapse all`), and a click on a column header of a sortable table sorts
its rows (numbers by their exact value in `data-value`, text alphabetically; a second click reverses).
"""

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em; color: #222; max-width: 1400px; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 13px; }
th, td { padding: 3px 8px; border-bottom: 1px solid #eee; white-space: nowrap; }
th { background: #f3f4f6; text-align: left; position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th[aria-sort="ascending"]::after { content: " ▲"; }
table.sortable th[aria-sort="descending"]::after { content: " ▼"; }
tr.block > td:first-child { font-weight: 600; }
tr.total td { font-weight: 700; border-top: 2px solid #999; }
tr[hidden] { display: none; }
button.toggle { border: none; background: none; cursor: pointer; width: 1.4em; padding: 0; font-size: 12px; }
.indent { display: inline-block; }
.warning { background: #fff4e5; border-left: 4px solid #f0a030; padding: 0.5em 1em; }
.muted { color: #666; font-size: 13px; }
.scroll { overflow-x: auto; }
svg text { fill: #222; }
"""

SCRIPT = """
(function () {
  function rows(table) { return Array.from(table.tBodies[0].rows); }
  function setButton(row, open) {
    const button = row.querySelector('button.toggle');
    if (button) { button.setAttribute('aria-expanded', open ? 'true' : 'false'); button.textContent = open ? '▾' : '▸'; }
  }
  document.querySelectorAll('table.tree').forEach(table => {
    const kids = new Map();
    rows(table).forEach(r => {
      const parent = r.dataset.parent;
      if (parent) { if (!kids.has(parent)) kids.set(parent, []); kids.get(parent).push(r); }
    });
    function close(id) {
      const stack = [id];
      while (stack.length) {
        (kids.get(stack.pop()) || []).forEach(r => { r.hidden = true; setButton(r, false); stack.push(r.dataset.id); });
      }
    }
    function toggle(row) {
      const open = row.querySelector('button.toggle').getAttribute('aria-expanded') !== 'true';
      setButton(row, open);
      if (open) (kids.get(row.dataset.id) || []).forEach(r => { r.hidden = false; });
      else close(row.dataset.id);
    }
    table.addEventListener('click', event => {
      const button = event.target.closest('button.toggle');
      if (button) toggle(button.closest('tr'));
    });
    document.querySelectorAll('button[data-tree-action][data-target="' + table.id + '"]').forEach(button => {
      button.addEventListener('click', () => {
        const open = button.dataset.treeAction === 'expand';
        rows(table).forEach(r => { if (r.dataset.parent) r.hidden = !open; setButton(r, open); });
      });
    });
  });
  document.querySelectorAll('table.sortable').forEach(table => {
    table.tHead.addEventListener('click', event => {
      const th = event.target.closest('th');
      if (!th) return;
      const column = Array.from(th.parentNode.children).indexOf(th);
      const ascending = th.getAttribute('aria-sort') !== 'ascending';
      Array.from(th.parentNode.children).forEach(h => h.removeAttribute('aria-sort'));
      th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
      const numeric = th.classList.contains('num');
      const key = r => { const c = r.cells[column]; return numeric ? BigInt(c.dataset.value || '0') : c.textContent; };
      const sorted = rows(table).sort((a, b) => {
        const x = key(a), y = key(b);
        const order = x < y ? -1 : x > y ? 1 : 0;
        return ascending ? order : -order;
      });
      const body = table.tBodies[0];
      sorted.forEach(r => body.appendChild(r));
    });
  });
})();
"""

__all__ = ["SCRIPT", "STYLE"]
