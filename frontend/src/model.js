// The graph model of the lineage page: pure functions over the JSON of GET ui/api/graph.
//
// The filters follow the same rules as the server (plugins/purpose_lineage/api/ui_view.py):
// purpose/category keep tagged columns and their downstream, sink keeps a table and its
// upstream, focus keeps a node's upstream/downstream within a depth, q keeps tables whose
// name or a column name contains the text. A step from a table's row set to any of its
// columns is implicit and free.

export const INDIRECT_SUBTYPES = ['JOIN', 'FILTER', 'GROUP_BY', 'SORT', 'WINDOW', 'CONDITIONAL'];

export function covers(key, wanted) {
  return key === wanted || key.startsWith(wanted + '.');
}

/** Index the API response: nodes by id, datasets by id, traversal lists with free row-set steps. */
export function buildModel(data) {
  const datasets = new Map();
  const nodes = new Map();
  const byTable = new Map();
  const down = new Map();
  const up = new Map();
  const push = (map, key, value) => {
    let list = map.get(key);
    if (!list) map.set(key, (list = []));
    list.push(value);
  };
  let columnCount = 0;
  for (const ds of data.datasets) {
    const entry = {
      id: ds.id, table: ds.table, namespace: ds.namespace, sink: ds.sink, violating: ds.violating,
      rowsId: ds.rows_id, columns: [],
    };
    datasets.set(ds.id, entry);
    byTable.set(ds.table, entry);
    nodes.set(ds.rows_id, { id: ds.rows_id, kind: 'rows', dataset: ds.id, name: '(rows)', tags: [], violating: false });
    for (const col of ds.columns) {
      entry.columns.push(col.id);
      nodes.set(col.id, { id: col.id, kind: 'column', dataset: ds.id, name: col.name, tags: col.tags, violating: col.violating });
      push(down, ds.rows_id, [col.id, 0]);
      push(up, col.id, [ds.rows_id, 0]);
      columnCount += 1;
    }
  }
  const edges = [];
  for (const e of data.edges) {
    if (!nodes.has(e.source) || !nodes.has(e.target)) continue;
    edges.push(e);
    push(down, e.source, [e.target, 1]);
    push(up, e.target, [e.source, 1]);
  }
  for (const e of edges) {
    if (!e.violating) continue;
    for (const id of [e.source, e.target]) {
      const n = nodes.get(id);
      if (n.kind === 'rows') n.violating = true;
    }
  }
  const violatingDatasets = new Set([...datasets.values()].filter((d) => d.violating).map((d) => d.id));
  return { datasets, nodes, byTable, edges, down, up, columnCount, violatingDatasets, raw: data };
}

/** Nodes within `depth` hops of `seeds` along `graph`; row-set steps (cost 0) are free. */
export function closure(graph, seeds, depth = Infinity) {
  const seen = new Set();
  let level = [...seeds];
  for (let d = 0; level.length; d += 1) {
    const stack = level.filter((n) => !seen.has(n));
    for (const n of stack) seen.add(n);
    const next = [];
    while (stack.length) {
      for (const [nxt, cost] of graph.get(stack.pop()) || []) {
        if (seen.has(nxt)) continue;
        if (cost === 0) {
          seen.add(nxt);
          stack.push(nxt);
        } else if (d + 1 <= depth) {
          next.push(nxt);
        }
      }
    }
    level = next;
  }
  return seen;
}

export function tableNodes(model, ds) {
  return [ds.rowsId, ...ds.columns];
}

/** Node ids named by `table` or `table.column` (the table wins when both exist). */
export function resolve(model, name) {
  if (!name) return [];
  const key = name.trim().toLowerCase();
  const ds = model.byTable.get(key);
  if (ds) return tableNodes(model, ds);
  const cut = name.lastIndexOf('.');
  if (cut > 0) {
    const table = model.byTable.get(name.slice(0, cut).trim().toLowerCase());
    const column = name.slice(cut + 1);
    if (table) {
      const id = table.columns.find((c) => model.nodes.get(c).name === column);
      if (id) return [id];
    }
  }
  const node = model.nodes.get(name);
  if (node) return node.kind === 'rows' ? tableNodes(model, model.datasets.get(node.dataset)) : [name];
  const dsById = model.datasets.get(name);
  return dsById ? tableNodes(model, dsById) : [];
}

/** The node ids the filters keep, or null when no filter is set (everything shows). */
export function keepSet(model, f) {
  const sets = [];
  for (const attr of ['purpose', 'category']) {
    if (!f[attr]) continue;
    const seeds = [];
    for (const n of model.nodes.values()) {
      if (n.tags.some((t) => covers(t[attr], f[attr]))) seeds.push(n.id);
    }
    sets.push(closure(model.down, seeds));
  }
  if (f.sink) {
    const ds = model.byTable.get(f.sink.toLowerCase());
    sets.push(closure(model.up, ds ? tableNodes(model, ds) : []));
  }
  if (f.focus) {
    const seeds = resolve(model, f.focus);
    const depth = f.depth === null || f.depth === undefined || f.depth === '' ? Infinity : Number(f.depth);
    const kept = new Set(seeds);
    const dir = f.direction || 'both';
    if (dir !== 'upstream') for (const n of closure(model.down, seeds, depth)) kept.add(n);
    if (dir !== 'downstream') for (const n of closure(model.up, seeds, depth)) kept.add(n);
    sets.push(kept);
  }
  if (f.q) {
    const q = f.q.toLowerCase();
    const kept = new Set();
    for (const ds of model.datasets.values()) {
      if (ds.table.includes(q) || ds.columns.some((c) => model.nodes.get(c).name.toLowerCase().includes(q))) {
        for (const n of tableNodes(model, ds)) kept.add(n);
      }
    }
    sets.push(kept);
  }
  if (!sets.length) return null;
  sets.sort((a, b) => a.size - b.size);
  const [first, ...rest] = sets;
  const keep = new Set();
  for (const n of first) if (rest.every((s) => s.has(n))) keep.add(n);
  return keep;
}

/**
 * What to draw: visible datasets (expanded ones with their visible columns), and edges
 * between the drawn representatives (a column of an expanded dataset, else its dataset).
 * Column-to-column edges are aggregated by (source, target, subtype, masking); an edge
 * touching a collapsed dataset by (source, target) only, styled by its strongest member
 * (violating, then DIRECT, then the first INDIRECT kind).
 */
export function viewGraph(model, keep, isExpanded) {
  const shown = (id) => keep === null || keep.has(id);
  const datasets = [];
  const rep = new Map();
  const expandedIds = new Set();
  for (const ds of model.datasets.values()) {
    const cols = keep === null ? ds.columns : ds.columns.filter(shown);
    const rowsShown = shown(ds.rowsId);
    if (keep !== null && !cols.length && !rowsShown) continue;
    const expanded = cols.length > 0 && isExpanded(ds, cols.length);
    datasets.push({ ds, cols, expanded });
    if (expanded) expandedIds.add(ds.id);
    for (const id of [ds.rowsId, ...ds.columns]) rep.set(id, expanded ? id : ds.id);
  }
  const agg = new Map();
  const usedRows = new Set();
  for (const e of model.edges) {
    if (keep !== null && (!keep.has(e.source) || !keep.has(e.target))) continue;
    const s = rep.get(e.source);
    const t = rep.get(e.target);
    if (s === undefined || t === undefined || s === t) continue;
    const fine = s !== model.nodes.get(e.source)?.dataset && t !== model.nodes.get(e.target)?.dataset;
    const key = fine ? `${s}>${t}|${e.subtype}|${e.masking ? 1 : 0}` : `${s}>${t}`;
    let a = agg.get(key);
    if (!a) {
      // ids from the endpoints, so that a redraw keeps the edges that did not change
      a = { id: `${key}`, source: s, target: t, kind: e.kind, subtype: e.subtype, masking: e.masking,
        violating: false, inferred: true, count: 0, subtypes: new Set() };
      agg.set(key, a);
    } else if (rank(e) < rank(a)) {
      Object.assign(a, { kind: e.kind, subtype: e.subtype, masking: e.masking });
    }
    a.count += 1;
    a.subtypes.add(e.subtype);
    a.violating = a.violating || e.violating;
    a.inferred = a.inferred && e.inferred;
    if (expandedIds.size) {
      if (model.nodes.get(s)?.kind === 'rows') usedRows.add(s);
      if (model.nodes.get(t)?.kind === 'rows') usedRows.add(t);
    }
  }
  return { datasets, edges: [...agg.values()], usedRows };
}

const DIRECT_ORDER = ['IDENTITY', 'TRANSFORMATION', 'AGGREGATION'];

function rank(e) {
  if (e.kind === 'DIRECT') return DIRECT_ORDER.indexOf(e.subtype) + (e.masking ? 0.5 : 0);
  const i = INDIRECT_SUBTYPES.indexOf(e.subtype);
  return 10 + (i < 0 ? 9 : i);
}

/** Datasets, columns and edges counted over a keep set. */
export function counts(model, keep) {
  if (keep === null) return { columns: model.columnCount, datasets: model.datasets.size, edges: model.edges.length };
  let columns = 0;
  const datasets = new Set();
  for (const id of keep) {
    const n = model.nodes.get(id);
    if (!n) continue;
    if (n.kind === 'column') columns += 1;
    datasets.add(n.dataset);
  }
  const edges = model.edges.filter((e) => keep.has(e.source) && keep.has(e.target)).length;
  return { columns, datasets: datasets.size, edges };
}
