// Building blocks shared by the three dashboards: the datasource, panel specs with units and queries, grid layout, alert annotations.
import { ALWAYS_FIRING, CATALOG } from '../../alerts/catalog/index.ts';
import { DASHBOARDS, type DashboardKey } from '../../alerts/model.ts';
import { PANELS } from '../../alerts/panels.ts';
import { anyOf } from '../../alerts/promql.ts';
import {
  AnnotationQueryBuilder,
  DashboardBuilder,
  DashboardCursorSync,
  MappingType,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  type AnnotationQuery,
  type Dashboard,
  type DataSourceRef,
  type DynamicConfigValue,
  type GridPos,
  type Panel,
  RowBuilder,
  type RowPanel,
  type ValueMapping,
  type VariableModel,
} from '@grafana/grafana-foundation-sdk/dashboard';
import type { Builder } from '@grafana/grafana-foundation-sdk/cog';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

/** The provisioned Prometheus datasource (dashboards/provisioning/datasources/prometheus.yml uses the same uid). */
export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: 'prometheus' };

/** alerts/panels.ts writes its queries with the rules' 20 s window; dashboards let Grafana pick the window instead. */
const RULE_WINDOW = /\[20s\]/g;
export const RATE_INTERVAL = '$__rate_interval';

export interface Target {
  expr: string;
  /** Grafana legend template, e.g. "{{status}}". */
  legend?: string;
}

/** How a 0/1 gauge reads: 1 is good (up, connected), 1 is bad (circuit breaker tripped), or 1 is open (market). */
export type StatusStyle = 'up-is-good' | 'one-is-bad' | 'open-closed';

export interface PanelSpec {
  id: number;
  title: string;
  description: string;
  kind: 'timeseries' | 'stat';
  /** A Grafana unit id ("s", "ops", "percentunit", "currencyUSD", "suffix: shares"); every panel has one. */
  unit: string;
  targets: Target[];
  status?: StatusStyle;
  min?: number;
  max?: number;
  /** Grid width (of 24) and height; defaults 8 x 8 for time series, 4 x 4 for stats. */
  w?: number;
  h?: number;
}

export interface PanelOverrides {
  kind?: PanelSpec['kind'];
  unit: string;
  legend?: string;
  /** Shown with the alert's query, for context (e.g. the model version next to "model loaded"). */
  extraTargets?: Target[];
  status?: StatusStyle;
  min?: number;
  max?: number;
  w?: number;
  h?: number;
}

/** The panel an alert links to: id, title and query from alerts/panels.ts, with Grafana's rate window. */
export function alertPanel(dashboard: DashboardKey, id: number, o: PanelOverrides): PanelSpec {
  const panel = PANELS[dashboard].find((p) => p.id === id);
  if (!panel) throw new Error(`alerts/panels.ts has no panel ${id} on the ${dashboard} dashboard; add it there first`);
  const alerts = CATALOG.filter((d) => d.panel.dashboard === dashboard && d.panel.id === id).map((d) => d.name);
  return {
    id,
    title: panel.title,
    description: `Linked from alert${alerts.length === 1 ? '' : 's'} ${alerts.join(', ')} (dashboard_url viewPanel=${id}).`,
    kind: o.kind ?? (o.status ? 'stat' : 'timeseries'),
    unit: o.unit,
    targets: [{ expr: withRateInterval(panel.query), legend: o.legend }, ...(o.extraTargets ?? [])],
    status: o.status,
    min: o.min,
    max: o.max,
    w: o.w,
    h: o.h,
  };
}

export function withRateInterval(query: string): string {
  return query.replace(RULE_WINDOW, `[${RATE_INTERVAL}]`);
}

/** Quantiles of a histogram (default p50, p95, p99), one target each, optionally split by labels. */
export function quantiles(metric: string, by: string[] = [], qs: number[] = [0.5, 0.95, 0.99]): Target[] {
  const labels = ['le', ...by].join(', ');
  const legendSuffix = by.map((l) => ` {{${l}}}`).join('');
  return qs.map((q) => ({
    expr: `histogram_quantile(${q}, sum by (${labels}) (rate(${metric}_bucket[${RATE_INTERVAL}])))`,
    legend: `p${Math.round(q * 100)}${legendSuffix}`,
  }));
}

const STATUS_TEXT: Record<StatusStyle, { zero: [string, string]; one: [string, string] }> = {
  'up-is-good': { zero: ['DOWN', 'red'], one: ['OK', 'green'] },
  'one-is-bad': { zero: ['closed', 'green'], one: ['TRIPPED', 'red'] },
  'open-closed': { zero: ['closed', 'blue'], one: ['open', 'green'] },
};

/** Mapping and colours for a 0/1 gauge; applied to query A only, so context queries (a version number) keep their value. */
function statusOverride(style: StatusStyle): DynamicConfigValue[] {
  const t = STATUS_TEXT[style];
  const mapping: ValueMapping = {
    type: MappingType.ValueToText,
    options: { '0': { text: t.zero[0], color: t.zero[1], index: 0 }, '1': { text: t.one[0], color: t.one[1], index: 1 } },
  };
  const thresholds = new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([
    { value: null, color: t.zero[1] },
    { value: 1, color: t.one[1] },
  ]);
  return [
    { id: 'mappings', value: [mapping] },
    { id: 'thresholds', value: thresholds.build() },
    { id: 'color', value: { mode: 'thresholds' } },
  ];
}

function refId(i: number): string {
  return String.fromCharCode(65 + i);
}

function queries(spec: PanelSpec): DataqueryBuilder[] {
  return spec.targets.map((t, i) => {
    const q = new DataqueryBuilder().expr(t.expr).refId(refId(i)).datasource(DATASOURCE);
    return t.legend ? q.legendFormat(t.legend) : q;
  });
}

function buildPanel(spec: PanelSpec, gridPos: GridPos): StatPanelBuilder | TimeseriesPanelBuilder {
  const p = spec.kind === 'stat' ? new StatPanelBuilder() : new TimeseriesPanelBuilder();
  p.id(spec.id).title(spec.title).description(spec.description).datasource(DATASOURCE).unit(spec.unit).gridPos(gridPos).targets(queries(spec));
  if (spec.min !== undefined) p.min(spec.min);
  if (spec.max !== undefined) p.max(spec.max);
  if (spec.status) p.overrideByQuery(refId(0), statusOverride(spec.status));
  return p;
}

/** A titled band of panels laid out left to right, wrapping at 24 columns. */
export interface Section {
  title: string;
  panels: PanelSpec[];
}

/** Prometheus annotation fields Grafana reads that the SDK's AnnotationQuery type does not name. */
interface PrometheusAnnotation extends AnnotationQuery {
  step: string;
  titleFormat: string;
  textFormat: string;
  tagKeys: string;
  useValueForTime: boolean;
}

/** Firing alerts as annotations: every panel shows when each alert of this stack fired and resolved, the heartbeat aside. */
export const ALERT_ANNOTATION_EXPR = `ALERTS{alertstate="firing", ${anyOf('alertname', ALWAYS_FIRING, true)}}`;

function alertAnnotation(): PrometheusAnnotation {
  const base = new AnnotationQueryBuilder().name('Firing alerts').datasource(DATASOURCE).enable(true).hide(false).iconColor('red').expr(ALERT_ANNOTATION_EXPR).build();
  return { ...base, step: '5s', titleFormat: '{{alertname}}', textFormat: '{{severity}} {{service}}', tagKeys: 'alertname,severity,service', useValueForTime: false };
}

export interface DashboardSpec {
  key: DashboardKey;
  description: string;
  tags: string[];
  sections: Section[];
  variables?: Builder<VariableModel>[];
}

/** Row panels take ids from here up, clear of the alert-linked ids (1..) and each dashboard's own panels (100..). */
const ROW_ID_BASE = 900;

export function buildDashboard(spec: DashboardSpec): Dashboard {
  const meta = DASHBOARDS[spec.key];
  const d = new DashboardBuilder(meta.title)
    .uid(meta.uid)
    .description(spec.description)
    .tags(['alertproof', ...spec.tags])
    .refresh('10s')
    .time({ from: 'now-30m', to: 'now' })
    .timezone('browser')
    .tooltip(DashboardCursorSync.Crosshair)
    .editable();
  for (const v of spec.variables ?? []) d.withVariable(v);
  const panels: Array<Panel | RowPanel> = [];
  let y = 0;
  spec.sections.forEach((section, si) => {
    panels.push(new RowBuilder(section.title).id(ROW_ID_BASE + si).collapsed(false).gridPos({ x: 0, y, w: 24, h: 1 }).build());
    y += 1;
    let x = 0;
    let rowH = 0;
    for (const spec of section.panels) {
      const w = spec.w ?? (spec.kind === 'stat' ? 4 : 8);
      const h = spec.h ?? (spec.kind === 'stat' ? 4 : 8);
      if (x + w > 24) {
        y += rowH;
        x = 0;
        rowH = 0;
      }
      panels.push(buildPanel(spec, { x, y, w, h }).build());
      x += w;
      rowH = Math.max(rowH, h);
    }
    y += rowH;
  });
  const built = d.build();
  return { ...built, annotations: { list: [alertAnnotation()] }, panels };
}
