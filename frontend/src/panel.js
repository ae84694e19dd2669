// The side panel: node details (tags with provenance, runs, verdicts, assertions, links),
// the verdict list and the legend. Built with ./dom.js only, so store names stay text.

import { clear, h, lineSample } from './dom.js';
import { EDGE_STYLES, VIOLATION, purposeColor } from './style.js';

const enc = encodeURIComponent;

/** Link into the Airflow UI, relative to <base>/purpose-lineage/ui/. */
export function airflowRunHref(dagId, runId, taskId) {
  let href = `../../dags/${enc(dagId)}/runs/${enc(runId)}`;
  if (taskId) href += `/tasks/${enc(taskId)}`;
  return href;
}

/**
 * Inside Airflow's iframe, open Airflow pages in the Airflow window. Airflow sandboxes the
 * frame without top navigation, but same-origin: the link goes through the Airflow UI's own
 * router (history entry + popstate). Anywhere else the link opens as usual.
 */
export function openTop(event) {
  if (window.top === window.self) return;
  try {
    const url = new URL(event.currentTarget.href);
    const top = window.top;
    if (top.location.origin !== url.origin) return;
    const idx = (top.history.state && Number.isInteger(top.history.state.idx)) ? top.history.state.idx + 1 : 0;
    top.history.pushState({ usr: null, key: Math.random().toString(36).slice(2, 10), idx }, '', url.pathname + url.search);
    top.dispatchEvent(new top.PopStateEvent('popstate', { state: top.history.state }));
    event.preventDefault();
  } catch (_err) {
    // another origin, or no access to the Airflow window: the link opens in the frame
  }
}

function runLink(dagId, airflowRunId, taskId, text) {
  if (!dagId || !airflowRunId) return h('span', { class: 'muted' }, text);
  return h('a', { href: airflowRunHref(dagId, airflowRunId, taskId), class: 'airflow-link', onclick: openTop }, text);
}

function time(value) {
  if (!value) return '';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : d.toISOString().replace('T', ' ').slice(0, 19) + 'Z';
}

function tagChip(tag) {
  const chip = h('span', { class: `chip ${tag.source}`, title: `${tag.category} · ${tag.purpose} (${tag.source})` },
    h('span', { class: 'chip-cat' }, tag.category),
    h('span', { class: 'chip-purpose' }, tag.purpose));
  chip.querySelector('.chip-purpose').style.backgroundColor = purposeColor(tag.purpose);
  return chip;
}

export function pathView(violation) {
  const hops = violation.path.length ? violation.path : [
    { table: violation.source, column: violation.source_column, edge: null },
    { table: violation.sink, column: violation.sink_column, edge: '?' },
  ];
  return h('ol', { class: 'path' }, hops.map((hop) => h('li', {},
    hop.edge ? h('span', { class: 'hop-edge' }, hop.edge) : null,
    h('span', { class: 'hop-node' }, hop.column ? `${hop.table}.${hop.column}` : `${hop.table} (rows)`))));
}

export function verdictView(v, { onShowPath } = {}) {
  const status = v.passed ? h('span', { class: 'ok' }, '✔ passed') : h('span', { class: 'bad' }, '✖ failed');
  return h('li', { class: `verdict ${v.passed ? 'passed' : 'failed'}${v.current ? ' current' : ''}` },
    h('div', { class: 'verdict-head' }, status, ' ', h('b', {}, v.sink)),
    h('div', { class: 'muted' }, `${v.dag_id} · ${v.task_id} · ${time(v.checked_at)}`),
    h('div', {}, 'run ', runLink(v.dag_id, v.airflow_run_id, v.task_id, v.airflow_run_id || v.run_id)),
    v.affected_count !== null && v.affected_count !== undefined
      ? h('div', { class: 'muted' }, `${v.affected_count} affected rows`) : null,
    v.violations.map((viol) => h('div', { class: 'violation' },
      h('div', {}, `${viol.category} collected for ${viol.purpose}`, viol.rule ? ` · rule ${viol.rule}` : ''),
      pathView(viol),
      onShowPath ? h('button', { type: 'button', class: 'link-button', onclick: () => onShowPath(v, viol) }, 'Show path') : null)));
}

export function renderVerdicts(container, verdicts, onShowPath) {
  clear(container);
  if (!verdicts.length) {
    container.appendChild(h('p', { class: 'muted' }, 'No guard verdicts for this view.'));
    return;
  }
  const failed = verdicts.filter((v) => v.current && !v.passed).length;
  container.appendChild(h('p', { class: failed ? 'bad' : 'ok' },
    failed ? `${failed} sink(s) failing their latest guard check` : 'Latest guard checks passed'));
  // failing current checks first, then newest first
  const ordered = [...verdicts].sort((a, b) => (b.current && !b.passed) - (a.current && !a.passed));
  container.appendChild(h('ul', { class: 'verdicts' }, ordered.slice(0, 50).map((v) => verdictView(v, { onShowPath }))));
}

export function renderDetails(container, detail, { onFocus, onToggle, expanded }) {
  clear(container);
  const title = detail.column ? `${detail.table}.${detail.column}` : detail.table;
  const runs = detail.runs;
  const docs = detail.data_docs_url;
  container.append(
    h('h2', { class: 'node-title', title }, title),
    h('div', { class: 'muted' }, `namespace ${detail.namespace}`),
    h('div', { class: 'actions' },
      h('button', { type: 'button', onclick: () => onFocus('upstream') }, 'Upstream'),
      h('button', { type: 'button', onclick: () => onFocus('downstream') }, 'Downstream'),
      h('button', { type: 'button', onclick: () => onFocus('both') }, 'Both'),
      detail.column ? null : h('button', { type: 'button', onclick: onToggle }, expanded ? 'Hide columns' : 'Show columns')),
    h('h3', {}, 'Tags'),
    detail.columns.some((c) => c.tags.length)
      ? h('ul', { class: 'tags' }, detail.columns.flatMap((c) => c.tags.map((t) => h('li', {},
        h('div', {}, h('span', { class: 'col-name' }, c.name), ' ', tagChip(t)),
        h('div', { class: 'muted' }, t.source,
          t.origin ? ` from ${t.origin}` : '',
          t.run_id ? ` · run ${t.run_id}` : '')))))
      : h('p', { class: 'muted' }, 'No purpose tags.'),
    h('h3', {}, `Columns (${detail.columns.length})`),
    h('p', { class: 'columns-list' }, detail.columns.map((c) => c.name).join(', ') || '—'),
    h('h3', {}, 'Lineage'),
    h('div', {}, h('span', { class: 'muted' }, 'fed by: '), detail.upstream.join(', ') || '—'),
    h('div', {}, h('span', { class: 'muted' }, 'feeds: '), detail.downstream.join(', ') || '—'),
    h('h3', {}, 'Runs'),
    runs.length
      ? h('ul', { class: 'runs' }, runs.slice(0, 30).map((r) => h('li', {},
        h('span', { class: `state ${String(r.state).toLowerCase()}` }, r.state || '?'), ' ',
        r.wrote ? 'wrote' : 'read', ' · ',
        runLink(r.dag_id, r.airflow_run_id, r.task_id, `${r.dag_id || r.job_name} · ${r.airflow_run_id || r.run_id}`),
        r.task_id ? h('span', { class: 'muted' }, ` · ${r.task_id}`) : null,
        h('div', { class: 'muted' }, time(r.ended_at || r.started_at)))))
      : h('p', { class: 'muted' }, 'No runs recorded.'),
    h('h3', {}, 'Guard verdicts'),
    detail.verdicts.length ? h('ul', { class: 'verdicts' }, detail.verdicts.slice(0, 10).map((v) => verdictView(v)))
      : h('p', { class: 'muted' }, 'No verdicts about this table.'),
    h('h3', {}, 'Data quality'),
    detail.assertions.length
      ? h('ul', { class: 'assertions' }, detail.assertions.map((a) => h('li', {},
        h('span', { class: a.success ? 'ok' : 'bad' }, a.success ? '✔' : '✖'), ' ',
        a.assertion, a.column ? ` (${a.column})` : '', a.severity ? ` · ${a.severity}` : '')))
      : h('p', { class: 'muted' }, 'No assertions recorded.'),
    docs ? h('p', {}, h('a', { href: docs, class: 'docs-link' }, 'Open Data Docs (Great Expectations)'))
      : h('p', { class: 'muted' }, 'Data Docs: none built yet (the guard writes them to [purpose_lineage] data_docs_dir).'),
  );
}

export function renderLegend(container) {
  clear(container);
  container.append(
    h('h3', {}, 'Edges'),
    h('ul', { class: 'legend' },
      EDGE_STYLES.map((s) => h('li', {}, lineSample({ color: s.color, dash: s.dash && s.dash.join(' '), double: s.double }), ' ', s.label)),
      h('li', {}, lineSample({ color: VIOLATION, width: 3.5 }), ' violating path (failed guard)'),
      h('li', {}, lineSample({ color: VIOLATION, dash: '1 3' }), ' violating step the store did not record')),
    h('h3', {}, 'Nodes'),
    h('ul', { class: 'legend' },
      h('li', {}, h('span', { class: 'swatch dataset' }), ' dataset (double-click: columns)'),
      h('li', {}, h('span', { class: 'swatch sink' }), ' guarded sink'),
      h('li', {}, h('span', { class: 'swatch badge-cat' }, 'category'), ' ', h('span', { class: 'swatch badge-pur' }, 'purpose'),
        ' badges; faded = propagated')),
  );
}
