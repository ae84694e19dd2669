// Cytoscape styles: one look per edge kind (shared with the legend), purpose colours, red paths.

export const VIOLATION = '#dc2626';

// DIRECT edges are solid, masked ones double; each INDIRECT subtype has its own dash and colour.
export const EDGE_STYLES = [
  { cls: 's-identity', label: 'DIRECT · identity', color: '#334155', dash: null },
  { cls: 's-transformation', label: 'DIRECT · transformation', color: '#334155', dash: null },
  { cls: 'masked', label: 'DIRECT · masking (hash, redaction)', color: '#0f766e', dash: null, double: true },
  { cls: 's-aggregation', label: 'DIRECT · aggregation', color: '#475569', dash: null, width: 3.5 },
  { cls: 's-join', label: 'INDIRECT · join key', color: '#2563eb', dash: [8, 4] },
  { cls: 's-filter', label: 'INDIRECT · filter', color: '#7c3aed', dash: [2, 3] },
  { cls: 's-group_by', label: 'INDIRECT · group by', color: '#a16207', dash: [10, 3, 2, 3] },
  { cls: 's-sort', label: 'INDIRECT · sort', color: '#64748b', dash: [1, 4] },
  { cls: 's-window', label: 'INDIRECT · window', color: '#0e7490', dash: [6, 2, 1, 2] },
  { cls: 's-conditional', label: 'INDIRECT · conditional', color: '#c2410c', dash: [4, 4] },
];

// Top-level fideslang data uses, each with a colour (red stays reserved for violations).
const PURPOSE_COLORS = {
  essential: '#b45309',
  marketing: '#7c3aed',
  analytics: '#0369a1',
  functional: '#047857',
  personalize: '#be185d',
  third_party_sharing: '#4d7c0f',
  collect: '#6d28d9',
  train_ai_system: '#0f766e',
  employment: '#57534e',
  finance: '#1d4ed8',
};

export function purposeColor(purpose) {
  const top = String(purpose).split('.')[0];
  if (PURPOSE_COLORS[top]) return PURPOSE_COLORS[top];
  let hash = 0;
  for (const ch of top) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return `hsl(${hash % 300 + 30} 55% 38%)`;
}

/**
 * The stylesheet. `large`: many edges, drawn as haystack lines (no endpoint geometry, arrows
 * mid-line), several times cheaper. `far`: zoomed out so far that arrowheads are a few pixels
 * and labels unreadable: neither is drawn (arrows cost a third of a big graph's frame; the
 * layout runs left to right, so direction still shows).
 */
export function graphStyle({ large, far = false }) {
  // each property set costs every new element some work in Cytoscape: defaults are left out,
  // and arrows are coloured only where drawn (end arrows on curves, mid arrows on haystacks)
  const edgeGeometry = large
    ? { 'curve-style': 'haystack', ...(far ? {} : { 'mid-target-arrow-shape': 'triangle' }) }
    : { 'curve-style': 'bezier', 'source-endpoint': '50% 0%', 'target-endpoint': '-50% 0%', 'target-arrow-shape': 'triangle' };
  const arrowColor = (color) => {
    if (far) return {};
    return large ? { 'mid-target-arrow-color': color } : { 'target-arrow-color': color };
  };
  const styles = [
    {
      selector: 'node',
      style: {
        'font-family': 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
        'font-size': 11,
        'min-zoomed-font-size': large ? 7 : 0,
        // far out no label is readable: none measured (ellipsis fitting measures glyph by glyph)
        label: far ? '' : 'data(label)',
        'text-valign': 'center',
        'text-halign': 'center',
        color: '#0f172a',
        'z-index-compare': 'manual',
        'z-index': 10,
      },
    },
    {
      selector: 'node.dataset',
      style: {
        shape: 'round-rectangle',
        width: 'data(w)',
        height: 'data(h)',
        'background-color': '#f1f5f9',
        'border-width': 1.5,
        'border-color': '#94a3b8',
        'font-weight': 600,
      },
    },
    {
      selector: 'node.dataset',
      style: { 'z-index': 0 },
    },
    {
      selector: 'node.dataset.expanded',
      style: {
        'background-color': '#f8fafc',
        'text-valign': 'top',
        'text-margin-y': 21,
        'text-wrap': 'ellipsis',
        'text-max-width': 'data(tw)',
      },
    },
    { selector: 'node.dataset.sink', style: { 'border-style': 'double', 'border-width': 4 } },
    { selector: 'node.dataset.tagged', style: { 'border-color': 'data(color)', 'border-width': 2.5 } },
    {
      selector: 'node.column',
      style: {
        shape: 'round-rectangle',
        width: 'data(w)',
        height: 20,
        'background-color': '#ffffff',
        'border-width': 1,
        'border-color': '#cbd5e1',
        'text-halign': 'center',
        'text-margin-x': 'data(tmx)',
        'text-wrap': 'ellipsis',
        'text-max-width': 'data(tw)',
      },
    },
    { selector: 'node.column.rows', style: { 'font-style': 'italic', color: '#475569', 'background-color': '#f1f5f9' } },
    { selector: 'node.column.tagged', style: { 'border-color': 'data(color)', 'border-width': 2 } },
    {
      selector: 'node.badge',
      style: {
        shape: 'round-rectangle',
        width: 'data(w)',
        height: 15,
        'font-size': 9,
        color: '#ffffff',
        'background-color': 'data(color)',
        'border-width': 0,
        'z-index': 20,
        events: 'no',
      },
    },
    { selector: 'node.badge.category', style: { 'background-color': '#475569' } },
    {
      selector: 'node.badge.propagated',
      style: { 'background-opacity': 0.55, 'border-width': 1, 'border-style': 'dashed', 'border-color': '#0f172a' },
    },
    {
      selector: 'edge',
      style: {
        ...edgeGeometry,
        width: 1.6,
        'line-color': '#334155',
        ...arrowColor('#334155'),
        ...(far ? {} : { 'arrow-scale': 0.8 }),
        opacity: 0.85,
        'z-index-compare': 'manual',
        'z-index': 5,
      },
    },
  ];
  for (const s of EDGE_STYLES) {
    // far out a dash is a pixel or two: solid lines in the kind's colour draw several times faster
    const dashed = s.dash && !far;
    styles.push({
      selector: `edge.${s.cls}`,
      style: {
        'line-color': s.color,
        ...arrowColor(s.color),
        ...(dashed ? { 'line-style': 'dashed' } : {}),
        ...(dashed ? { 'line-dash-pattern': s.dash } : {}),
        ...(s.width ? { width: s.width } : {}),
        // a hollow line: white core, coloured outline (looks double)
        ...(s.double && !far ? { width: 2.5, 'line-color': '#ffffff', 'line-outline-width': 1.6, 'line-outline-color': s.color } : {}),
      },
    });
  }
  styles.push(
    { selector: 'edge.agg', style: { width: 'mapData(count, 1, 40, 1.6, 6)' } },
    {
      selector: '.violating',
      style: { 'line-color': VIOLATION, ...arrowColor(VIOLATION), 'border-color': VIOLATION },
    },
    far ? { selector: 'edge.masked.violating', style: { width: 3 } }
      : { selector: 'edge.masked.violating', style: { 'line-color': '#fee2e2', 'line-outline-color': VIOLATION, width: 3 } },
    { selector: 'edge.violating', style: { width: 3.5, opacity: 1, 'z-index': 10 } },
    { selector: 'node.violating', style: { 'border-width': 3, 'background-color': '#fef2f2' } },
    { selector: 'node.dataset.expanded.violating', style: { 'background-color': '#fff5f5' } },
    ...(far ? [] : [{ selector: 'edge.inferred', style: { 'line-style': 'dotted' } }]),
    { selector: 'node.match', style: { 'underlay-color': '#facc15', 'underlay-opacity': 0.45, 'underlay-padding': 4 } },
    { selector: 'node.focus-root', style: { 'underlay-color': '#2563eb', 'underlay-opacity': 0.3, 'underlay-padding': 5 } },
    { selector: ':selected', style: { 'overlay-color': '#2563eb', 'overlay-opacity': 0.18, 'overlay-padding': 3 } },
    { selector: '.faded', style: { opacity: 0.18 } },
    { selector: '.hidden', style: { display: 'none' } },
  );
  return styles;
}
