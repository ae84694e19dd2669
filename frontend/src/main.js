// The lineage page: loads GET api/graph, draws it with Cytoscape, filters in the browser.
//
// Tests and benchmarks drive the page through `window.plLineage` (the Cytoscape instance,
// the state, `ready`, `setFilters`, `focus`, `expandAll`, `timings`).

import cytoscape from 'cytoscape';

import { speedUpStyleCaches } from './cyfast.js';
import { clear, fillSelect, h } from './dom.js';
import {
  COLLAPSED_H, COL_W, HEADER_H, PAD, ROW_H, badgeWidth, collapsedWidth, datasetSize, layoutDatasets,
} from './layout.js';
import { buildModel, counts, keepSet, resolve, viewGraph } from './model.js';
import { renderDetails, renderLegend, renderVerdicts } from './panel.js';
import { graphStyle, purposeColor } from './style.js';

const EXPAND_LIMIT = 400; // columns drawn at once; above, datasets start collapsed (double-click opens one)
const RELAYOUT_LIMIT = 250; // datasets laid out afresh on each view change; above, positions are reused
const LARGE_EDGES = 300; // drawn edges above which edges are haystack lines and pans use textures
const FAR_ZOOM = 0.45; // below, a large graph draws no arrowheads and no labels (11px text is < 5px)
const MAX_BADGES = 2;
const FILTER_KEYS = ['purpose', 'category', 'sink', 'q', 'focus', 'depth', 'direction'];

const $ = (id) => document.getElementById(id);

const state = {
  dagId: null,
  runId: null,
  filters: { purpose: '', category: '', sink: '', q: '', focus: '', depth: '', direction: 'both' },
  expandMode: 'auto', // auto | all | none
  toggled: new Map(), // dataset id -> expanded, set by the user
  model: null,
  data: null,
  keep: null,
  selected: null,
  baseLayouts: new Map(),
  timings: {},
  renders: 0, // finished draws: tests wait on it
};

// Two Cytoscape instances: the unfiltered overview stays drawn while filters, focus and search
// draw their (usually small) result in the second; clearing a filter swaps back instead of
// restyling thousands of elements.
const views = { overview: null, filtered: null };
// our state per instance, outside Cytoscape: setting cy.scratch() or ele.scratch() restyles
// every element of the instance (or the element), which cost a big graph ~50 ms per draw
const metas = new WeakMap();
const meta = Object.assign((instance) => metas.get(instance), { set: (i, m) => metas.set(i, m) });
let cy = null;
let readyResolve;
const ready = new Promise((resolve) => { readyResolve = resolve; });

function now() {
  return performance.now();
}

function frame() {
  return new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
}

// -- URL state -------------------------------------------------------------------------------

function readUrl() {
  const params = new URLSearchParams(window.location.search);
  state.dagId = params.get('dag_id') || null;
  state.runId = params.get('run_id') || null;
  for (const key of FILTER_KEYS) {
    if (params.has(key)) state.filters[key] = params.get(key);
  }
  // the run tab's href carries Airflow's placeholders when a value is missing
  if (state.dagId && state.dagId.startsWith('{')) state.dagId = null;
  if (state.runId && state.runId.startsWith('{')) state.runId = null;
}

function writeUrl() {
  const params = new URLSearchParams();
  if (state.dagId) params.set('dag_id', state.dagId);
  if (state.runId) params.set('run_id', state.runId);
  for (const key of FILTER_KEYS) {
    const value = state.filters[key];
    if (value && !(key === 'direction' && value === 'both')) params.set(key, value);
  }
  const query = params.toString();
  window.history.replaceState(null, '', query ? `?${query}` : window.location.pathname);
}

// -- loading -----------------------------------------------------------------------------------

async function fetchJson(url) {
  const response = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  if (response.status === 401) throw new Error('Your Airflow session has ended: reload the page to log in again.');
  if (response.status === 403) throw new Error('Your Airflow role may not see plugin views.');
  if (!response.ok) {
    let detail = '';
    try { detail = (await response.json()).detail; } catch (_err) { /* not JSON */ }
    throw new Error(`${response.status} ${detail || response.statusText}`);
  }
  return response.json();
}

async function load() {
  const t0 = now();
  const params = new URLSearchParams();
  if (state.dagId) params.set('dag_id', state.dagId);
  if (state.runId) params.set('run_id', state.runId);
  setStatus('Loading lineage…');
  const data = await fetchJson(`api/graph${params.toString() ? `?${params}` : ''}`);
  const t1 = now();
  state.data = data;
  state.model = buildModel(data);
  state.baseLayouts.clear();
  state.toggled.clear();
  for (const view of Object.values(views)) {
    // a new graph: ids may mean other things now, and the viewport fits it afresh
    if (view) Object.assign(meta(view), { key: null, fitted: false });
  }
  const t2 = now();
  fillFacets(data.facets);
  renderVerdicts($('verdicts'), data.verdicts, showPath);
  ensureCy();
  await render({ fit: true });
  state.timings.load = { fetch: t1 - t0, model: t2 - t1, total: now() - t0, sinceNavigation: now() };
}

function fillFacets(facets) {
  fillSelect($('f-purpose'), facets.purposes, 'any purpose');
  fillSelect($('f-category'), facets.categories, 'any category');
  fillSelect($('f-sink'), facets.sinks, 'any sink');
  fillSelect($('f-dag'), facets.dags, 'all DAGs');
  const runs = facets.runs.filter((r) => !state.dagId || r.dag_id === state.dagId);
  const seen = new Set();
  const items = [];
  for (const r of runs) {
    const value = r.airflow_run_id || r.run_id;
    if (seen.has(value)) continue;
    seen.add(value);
    items.push([value, `${r.dag_id || r.job_name} · ${value}`]);
  }
  if (state.runId && !seen.has(state.runId)) items.unshift([state.runId, state.runId]);
  fillSelect($('f-run'), items, 'all runs');
  $('f-purpose').value = state.filters.purpose;
  $('f-category').value = state.filters.category;
  $('f-sink').value = state.filters.sink;
  $('f-dag').value = state.dagId || '';
  $('f-run').value = state.runId || '';
  $('f-q').value = state.filters.q;
  $('f-depth').value = state.filters.depth;
  $('f-direction').value = state.filters.direction || 'both';
  updateFocusLabel();
}

// -- drawing -------------------------------------------------------------------------------------

function ensureCy() {
  if (views.overview) return;
  for (const name of ['overview', 'filtered']) {
    const instance = cytoscape({
      container: $(`graph-${name}`),
      style: graphStyle({ large: false }),
      minZoom: 0.02,
      maxZoom: 3,
      boxSelectionEnabled: false,
      autoungrabify: true, // positions come from the layout; boxes and their rows move together or not at all
    });
    speedUpStyleCaches(instance);
    meta.set(instance, { large: false, detail: 'false|false', key: null, fitted: false, positions: null, sigs: new Map() });
    // zooming across FAR_ZOOM: restyle once the wheel stops, not on every step
    let zoomTimer = null;
    instance.on('zoom', () => {
      clearTimeout(zoomTimer);
      zoomTimer = setTimeout(() => setDetail(instance), 120);
    });
    instance.on('tap', 'node', (evt) => selectNode(evt.target));
    instance.on('dbltap', 'node', (evt) => toggleDataset(datasetIdOf(evt.target)));
    instance.on('tap', (evt) => {
      if (evt.target === instance) instance.elements().unselect();
    });
    views[name] = instance;
  }
  cy = views.overview;
}

function isFiltered() {
  const f = state.filters;
  return Boolean(f.purpose || f.category || f.sink || f.q || f.focus);
}

/** Show `target` (overview or filtered) and make it the current instance. */
function switchTo(target) {
  if (target === cy) return;
  // visibility, not display: both keep their size, so no canvas is reallocated and redrawn
  $(`graph-${target === views.overview ? 'filtered' : 'overview'}`).classList.add('off');
  $(`graph-${target === views.overview ? 'overview' : 'filtered'}`).classList.remove('off');
  cy = target;
}

/** Many edges: cheaper edge geometry, textures while panning; restyles only on a change. */
function setLarge(instance, large, { clear = false } = {}) {
  if (meta(instance).large === large) return;
  if (clear) {
    // every element's style changes: the next patch draws it all anew, so drop it before the
    // stylesheet swap rather than restyle what is about to go
    instance.elements().remove();
    meta(instance).sigs.clear();
  }
  meta(instance).large = large;
  setDetail(instance);
  instance.renderer().textureOnViewport = large;
  instance.renderer().hideEdgesOnViewport = large;
}

/** The stylesheet for the instance's size and zoom (see graphStyle); a no-op unless that changed. */
function setDetail(instance) {
  const { large } = meta(instance);
  const far = large && instance.zoom() < FAR_ZOOM;
  const key = `${large}|${far}`;
  if (meta(instance).detail === key) return;
  meta(instance).detail = key;
  instance.style(graphStyle({ large, far }));
}

function datasetIdOf(node) {
  return node.data('dataset') || node.id();
}

function isExpandedFactory(totalColumns) {
  const auto = state.expandMode === 'all' || (state.expandMode === 'auto' && totalColumns <= EXPAND_LIMIT);
  // too many columns to draw: datasets on a red path still show theirs
  const red = state.expandMode === 'auto' && !auto && state.model.violatingDatasets.size <= 20
    ? state.model.violatingDatasets : new Set();
  return (ds) => (state.toggled.has(ds.id) ? state.toggled.get(ds.id) : auto || red.has(ds.id));
}

function badgesOf(tags) {
  const seen = new Map();
  for (const t of tags) {
    const key = `${t.category}|${t.purpose}`;
    const old = seen.get(key);
    // declared or detected beat propagated
    if (!old || (old.source === 'propagated' && t.source !== 'propagated')) seen.set(key, t);
  }
  return [...seen.values()];
}

function shortKey(key) {
  const parts = String(key).split('.');
  return parts[parts.length - 1];
}

function rowWidthOf(model, cols) {
  let width = COL_W;
  for (const id of cols) {
    const badges = badgesOf(model.nodes.get(id).tags).slice(0, MAX_BADGES);
    let w = COL_W;
    for (const b of badges) w += badgeWidth(shortKey(b.category)) + badgeWidth(shortKey(b.purpose)) + 8;
    if (badges.length) w += 2;
    width = Math.max(width, w);
  }
  return width;
}

function positionsFor(entries, view) {
  const boxes = entries.map((e) => ({ id: e.ds.id, w: e.size.w, h: e.size.h }));
  const links = view.edges.map((e) => [datasetOfRep(e.source), datasetOfRep(e.target)]);
  if (entries.length <= RELAYOUT_LIMIT) return layoutDatasets(boxes, links);
  // many datasets: reuse one layout of every dataset for this expansion state, so that
  // filters and focus only hide and show
  const key = entries.filter((e) => e.expanded).map((e) => e.ds.id).join(',');
  let base = state.baseLayouts.get(key);
  if (!base) {
    const expanded = new Set(entries.filter((e) => e.expanded).map((e) => e.ds.id));
    const all = viewGraph(state.model, null, (ds) => expanded.has(ds.id));
    const allEntries = describe(all);
    base = layoutDatasets(
      allEntries.map((e) => ({ id: e.ds.id, w: e.size.w, h: e.size.h })),
      all.edges.map((e) => [datasetOfRep(e.source), datasetOfRep(e.target)]),
    );
    state.baseLayouts.set(key, base);
  }
  return base;
}

function datasetOfRep(id) {
  const node = state.model.nodes.get(id);
  return node ? node.dataset : id;
}

function describe(view) {
  const model = state.model;
  return view.datasets.map((entry) => {
    const rowsShown = entry.expanded && view.usedRows.has(entry.ds.rowsId);
    const rowWidth = entry.expanded ? rowWidthOf(model, entry.cols) : 0;
    const label = entry.expanded ? entry.ds.table : `${entry.ds.table}  ·  ${entry.ds.columns.length} col`;
    const described = { ...entry, label, rows: entry.cols.length + (rowsShown ? 1 : 0), rowsShown, rowWidth };
    described.size = datasetSize(described, rowWidth);
    return described;
  });
}

function elementsFor(entries, view, positions, highlight) {
  const model = state.model;
  const els = [];
  const matchQ = highlight && state.filters.q ? state.filters.q.toLowerCase() : null;
  const focusIds = new Set(highlight && state.filters.focus ? resolve(model, state.filters.focus) : []);
  for (const e of entries) {
    const { ds } = e;
    const pos = positions.get(ds.id) || { x: 0, y: 0 };
    const purposes = new Set();
    for (const id of e.cols) for (const t of model.nodes.get(id).tags) purposes.add(t.purpose);
    const firstPurpose = [...purposes][0];
    const classes = ['dataset', e.expanded ? 'expanded' : 'collapsed'];
    if (ds.sink) classes.push('sink');
    if (ds.violating) classes.push('violating');
    if (purposes.size) classes.push('tagged');
    if (matchQ && ds.table.includes(matchQ)) classes.push('match');
    if (focusIds.has(ds.rowsId)) classes.push('focus-root');
    // an expanded dataset is a plain box under its column nodes, not a compound parent:
    // compound nodes make every style pass over the graph quadratic in Cytoscape
    const data = {
      id: ds.id, label: e.label, table: ds.table, w: e.size.w, h: e.size.h, tw: e.size.w - 12,
      color: firstPurpose ? purposeColor(firstPurpose) : '#94a3b8',
    };
    els.push({ group: 'nodes', data, classes: classes.join(' '), position: { ...pos } });
    if (!e.expanded) continue;
    const left = pos.x - e.size.w / 2 + PAD;
    let y = pos.y - e.size.h / 2 + PAD + HEADER_H;
    const rowIds = e.rowsShown ? [ds.rowsId, ...e.cols] : e.cols;
    for (const id of rowIds) {
      const n = model.nodes.get(id);
      const cy0 = y + ROW_H / 2;
      const badges = badgesOf(n.tags).slice(0, MAX_BADGES);
      const cls = ['column'];
      if (n.kind === 'rows') cls.push('rows');
      if (n.violating) cls.push('violating');
      if (badges.length) cls.push('tagged');
      if (matchQ && n.name.toLowerCase().includes(matchQ)) cls.push('match');
      if (focusIds.has(id) && n.kind !== 'rows' && focusIds.size === 1) cls.push('focus-root');
      els.push({
        group: 'nodes',
        data: {
          id, dataset: ds.id, table: ds.table, column: n.kind === 'rows' ? null : n.name, label: n.name,
          w: e.rowWidth, tw: COL_W - 14, tmx: (COL_W - e.rowWidth) / 2, color: badges.length ? purposeColor(badges[0].purpose) : '#cbd5e1',
        },
        classes: cls.join(' '),
        position: { x: left + e.rowWidth / 2, y: cy0 },
      });
      let x = left + COL_W;
      badges.forEach((b, i) => {
        for (const [kind, text] of [['category', shortKey(b.category)], ['purpose', shortKey(b.purpose)]]) {
          const w = badgeWidth(text);
          els.push({
            group: 'nodes',
            data: {
              id: `b-${id}-${i}-${kind}`, dataset: ds.id, label: text, w,
              full: kind === 'category' ? b.category : b.purpose, color: purposeColor(b.purpose),
            },
            classes: `badge ${kind} ${b.source}`,
            position: { x: x + w / 2, y: cy0 },
          });
          x += w + 3;
        }
        x += 5;
      });
      y += ROW_H;
    }
  }
  for (const edge of view.edges) {
    const cls = [edge.kind === 'DIRECT' ? 'k-direct' : 'k-indirect', `s-${edge.subtype.toLowerCase()}`];
    if (edge.masking) cls.push('masked');
    if (edge.violating) cls.push('violating');
    if (edge.inferred) cls.push('inferred');
    if (edge.count > 1) cls.push('agg');
    els.push({
      group: 'edges',
      data: {
        id: edge.id, source: edge.source, target: edge.target, kind: edge.kind, subtype: edge.subtype,
        masking: edge.masking, count: edge.count, subtypes: [...edge.subtypes].join(' '),
      },
      classes: cls.join(' '),
    });
  }
  return els;
}

async function render({ fit = true } = {}) {
  const t0 = now();
  const model = state.model;
  state.keep = keepSet(model, state.filters);
  const total = counts(model, state.keep);
  const overviewExpansion = isExpandedFactory(model.columnCount);
  let view = viewGraph(model, state.keep, isExpandedFactory(total.columns));
  let entries = describe(view);
  const t1 = now();
  let changed = false;
  let positions;
  if (state.keep !== null && entries.length <= RELAYOUT_LIMIT) {
    // a small result: laid out afresh in the second instance
    positions = positionsFor(entries, view);
    switchTo(views.filtered);
    setLarge(cy, view.edges.length > LARGE_EDGES, { clear: true });
    changed = patch(cy, elementsFor(entries, view, positions, true));
  } else {
    changed = updateOverview(overviewExpansion);
    positions = meta(views.overview).positions;
    let els = null;
    if (state.keep !== null) {
      view = viewGraph(model, state.keep, overviewExpansion);
      entries = describe(view);
      els = elementsFor(entries, view, positions, false);
    }
    if (els !== null && els.length * 2 < views.overview.elements().length) {
      // a large result, but less than half of the overview: drawn alone, at the overview's positions
      switchTo(views.filtered);
      setLarge(cy, view.edges.length > LARGE_EDGES, { clear: true });
      changed = patch(cy, els) || changed;
    } else {
      // everything, or most of it: the overview with the rest hidden
      switchTo(views.overview);
      changed = hideExcept(views.overview, els && new Set(els.map((e) => e.data.id))) || changed;
    }
  }
  const t2 = now();
  // fit on the boxes we placed: cy.fit() measures every label and edge (seconds on big graphs);
  // an unchanged view keeps the viewport the user left it with
  if (fit && (changed || !meta(cy).fitted)) {
    fitBoxes(entries, positions);
    meta(cy).fitted = true;
  }
  setDetail(cy);
  const t3 = now();
  await frame();
  const violating = cy.edges('.violating').filter((e) => !e.hasClass('hidden')).length;
  state.timings.render = { filter: t1 - t0, layout: t2 - t1, build: t3 - t2, total: now() - t0 };
  $('empty').hidden = model.datasets.size > 0;
  setStatus(`${total.datasets} datasets · ${total.columns} columns · ${total.edges} edges` +
    (violating ? ` · ${violating} violating` : '') + ` · drawn in ${Math.round(now() - t0)} ms`);
  if (state.selected && !cy.getElementById(state.selected).length) state.selected = null;
  state.renders += 1;
}

/** Bring the overview instance to the whole graph under the current expansions; true if it changed. */
function updateOverview(expansion) {
  const key = `${state.expandMode}|${[...state.toggled].join(',')}`;
  if (meta(views.overview).key === key) return false;
  const view = viewGraph(state.model, null, expansion);
  const entries = describe(view);
  const positions = positionsFor(entries, view);
  setLarge(views.overview, view.edges.length > LARGE_EDGES);
  const changed = patch(views.overview, elementsFor(entries, view, positions, false));
  Object.assign(meta(views.overview), { key, positions });
  return changed;
}

/** Hide every element whose id is not in `visible` (null: show all); true if anything changed. */
function hideExcept(instance, visible) {
  let changed = false;
  instance.batch(() => {
    instance.elements().forEach((ele) => {
      const hide = visible !== null && !visible.has(ele.id());
      if (hide !== ele.hasClass('hidden')) {
        ele.toggleClass('hidden', hide);
        changed = true;
      }
    });
  });
  return changed;
}

/** Bring `instance` to `els`: remove what went, add what came, update what changed; true if any did. */
function patch(instance, els) {
  const { sigs } = meta(instance);
  const want = new Map();
  for (const e of els) want.set(e.data.id, e);
  let changed = 0;
  const addNodes = [];
  const addEdges = [];
  let added = null;
  instance.batch(() => {
    const gone = instance.elements().filter((ele) => !want.has(ele.id()));
    changed += gone.length;
    gone.forEach((ele) => { sigs.delete(ele.id()); });
    gone.remove();
    for (const e of els) {
      const sig = JSON.stringify([e.data, e.classes]);
      const pos = e.position ? `${e.position.x},${e.position.y}` : '';
      const id = e.data.id;
      const old = sigs.get(id);
      if (!old) {
        (e.group === 'nodes' ? addNodes : addEdges).push(e);
      } else if (old.sig !== sig) {
        changed += 1;
        const ele = instance.getElementById(id);
        ele.data(e.data);
        ele.classes(e.classes);
        if (e.position) ele.position(e.position);
      } else if (old.pos !== pos) {
        // moved only (a relayout): no restyle
        changed += 1;
        instance.getElementById(id).position(e.position);
      }
      sigs.set(id, { sig, pos });
    }
    added = instance.add(addNodes);
  });
  // new nodes styled before their edges exist: Cytoscape walks a node's edges for each of its
  // style properties as it applies them, which made styling a focus result 2-3 times slower
  added.cleanStyle();
  instance.batch(() => instance.add(addEdges));
  changed += addNodes.length + addEdges.length;
  return changed > 0;
}

function fitBoxes(entries, positions, padding = 30) {
  if (!entries.length) return;
  let x1 = Infinity;
  let y1 = Infinity;
  let x2 = -Infinity;
  let y2 = -Infinity;
  for (const e of entries) {
    const p = positions.get(e.ds.id);
    if (!p) continue;
    x1 = Math.min(x1, p.x - e.size.w / 2);
    x2 = Math.max(x2, p.x + e.size.w / 2);
    y1 = Math.min(y1, p.y - e.size.h / 2);
    y2 = Math.max(y2, p.y + e.size.h / 2);
  }
  if (x1 === Infinity) return;
  const width = cy.width() - 2 * padding;
  const height = cy.height() - 2 * padding;
  const zoom = Math.max(cy.minZoom(), Math.min(1.5, width / Math.max(1, x2 - x1), height / Math.max(1, y2 - y1)));
  cy.viewport({
    zoom,
    pan: { x: padding + (width - zoom * (x2 - x1)) / 2 - zoom * x1, y: padding + (height - zoom * (y2 - y1)) / 2 - zoom * y1 },
  });
}

function setStatus(text) {
  $('status').textContent = text;
}

// -- interactions -----------------------------------------------------------------------------

async function setFilters(changes, { reload = false } = {}) {
  Object.assign(state.filters, changes);
  writeUrl();
  updateFocusLabel();
  if (reload) {
    await load();
  } else {
    await render({ fit: true });
  }
}

function updateFocusLabel() {
  const label = $('focus-label');
  label.textContent = state.filters.focus || 'none';
  $('focus-clear').hidden = !state.filters.focus;
}

async function focusOn(name, direction = 'both', depth = state.filters.depth) {
  await setFilters({ focus: name, direction, depth });
}

async function expandAll(mode) {
  state.expandMode = mode;
  state.toggled.clear();
  await render({ fit: true });
}

async function toggleDataset(dsId) {
  const ds = state.model.datasets.get(dsId);
  if (!ds) return;
  const node = cy.getElementById(dsId);
  const expanded = node.hasClass('expanded');
  state.toggled.set(dsId, !expanded);
  await render({ fit: false });
}

function nodeRef(node) {
  const dsId = datasetIdOf(node);
  const ds = state.model.datasets.get(dsId);
  if (!ds) return null;
  const column = node.hasClass('column') && !node.hasClass('rows') ? node.data('column') : null;
  return { ds, column };
}

async function selectNode(node) {
  const ref = nodeRef(node);
  if (!ref) return;
  state.selected = node.id();
  const panel = $('details');
  showTab('details');
  clear(panel).appendChild(h('p', { class: 'muted' }, 'Loading…'));
  const query = ref.column ? `?column=${encodeURIComponent(ref.column)}` : '';
  try {
    const detail = await fetchJson(`api/node/${encodeURIComponent(ref.ds.table)}${query}`);
    const name = ref.column ? `${ref.ds.table}.${ref.column}` : ref.ds.table;
    renderDetails(panel, detail, {
      onFocus: (direction) => focusOn(name, direction),
      onToggle: () => toggleDataset(ref.ds.id),
      expanded: cy.getElementById(ref.ds.id).hasClass('expanded'),
    });
  } catch (err) {
    clear(panel).appendChild(h('p', { class: 'bad' }, String(err.message || err)));
  }
}

function showPath(_verdict, violation) {
  const model = state.model;
  const ids = [];
  for (const hop of violation.path) {
    const ds = model.byTable.get(hop.table);
    if (!ds) continue;
    if (hop.column === null || hop.column === undefined) ids.push(ds.id, ds.rowsId);
    else {
      const col = ds.columns.find((c) => model.nodes.get(c).name === hop.column);
      ids.push(col || ds.id);
    }
  }
  const eles = cy.collection();
  for (const id of ids) eles.merge(cy.getElementById(id));
  if (eles.length) {
    cy.elements().unselect();
    eles.select();
    cy.animate({ fit: { eles, padding: 60 } }, { duration: 250 });
  }
}

function showTab(name) {
  for (const tab of document.querySelectorAll('[data-tab]')) {
    const on = tab.dataset.tab === name;
    tab.classList.toggle('active', on);
    $(tab.dataset.tab).hidden = !on;
  }
}

function bindControls() {
  $('f-purpose').addEventListener('change', (e) => setFilters({ purpose: e.target.value }));
  $('f-category').addEventListener('change', (e) => setFilters({ category: e.target.value }));
  $('f-sink').addEventListener('change', (e) => setFilters({ sink: e.target.value }));
  $('f-dag').addEventListener('change', (e) => {
    state.dagId = e.target.value || null;
    state.runId = null;
    setFilters({}, { reload: true });
  });
  $('f-run').addEventListener('change', (e) => {
    state.runId = e.target.value || null;
    setFilters({}, { reload: true });
  });
  let timer = null;
  $('f-q').addEventListener('input', (e) => {
    clearTimeout(timer);
    timer = setTimeout(() => setFilters({ q: e.target.value.trim() }), 180);
  });
  $('f-depth').addEventListener('change', (e) => setFilters({ depth: e.target.value }));
  $('f-direction').addEventListener('change', (e) => setFilters({ direction: e.target.value }));
  $('focus-clear').addEventListener('click', () => setFilters({ focus: '' }));
  $('expand-all').addEventListener('click', () => expandAll('all'));
  $('collapse-all').addEventListener('click', () => expandAll('none'));
  $('fit').addEventListener('click', () => cy && cy.fit(undefined, 30));
  $('reset').addEventListener('click', () => {
    state.filters = { purpose: '', category: '', sink: '', q: '', focus: '', depth: '', direction: 'both' };
    fillFacets(state.data.facets);
    setFilters({});
  });
  for (const tab of document.querySelectorAll('[data-tab]')) {
    tab.addEventListener('click', () => showTab(tab.dataset.tab));
  }
}

async function main() {
  window.plLineage = {
    get cy() { return cy; },
    cytoscape,
    /** Benchmarks: ms to lay out every dataset afresh (collapsed), without drawing. */
    layoutAll() {
      const view = viewGraph(state.model, null, () => false);
      const entries = describe(view);
      const t0 = now();
      layoutDatasets(entries.map((e) => ({ id: e.ds.id, w: e.size.w, h: e.size.h })),
        view.edges.map((e) => [datasetOfRep(e.source), datasetOfRep(e.target)]));
      return now() - t0;
    },
    views, state, ready, setFilters, focus: focusOn, expandAll, toggleDataset, render,
    get model() { return state.model; },
    get timings() { return state.timings; },
  };
  readUrl();
  bindControls();
  renderLegend($('legend'));
  try {
    await load();
    readyResolve({ ok: true });
  } catch (err) {
    setStatus(String(err.message || err));
    $('error').hidden = false;
    $('error').textContent = String(err.message || err);
    readyResolve({ ok: false, error: String(err.message || err) });
  }
}

main();
