// Which alerts and scrape targets a run judges: label matchers from the attach file (`{env="staging", job=~"gw|sig"}`),
// as Prometheus and Alertmanager write them. No matcher: everything is in scope.

export type LabelPredicate = (labels: Readonly<Record<string, string>>) => boolean;

interface Matcher {
  name: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

const MATCHER = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)/;

export function parseMatchers(text: string, field: string): Matcher[] {
  let rest = text.trim();
  if (!rest.startsWith('{') || !rest.endsWith('}')) throw new Error(`${field}: expected label matchers in braces, like {env="staging"}; got ${text}`);
  rest = rest.slice(1, -1).trim();
  const out: Matcher[] = [];
  while (rest.length > 0) {
    const m = MATCHER.exec(rest);
    if (!m) throw new Error(`${field}: cannot read a matcher at "${rest.slice(0, 40)}"; write name="value", name!="value", name=~"regex" or name!~"regex"`);
    const value = JSON.parse(`"${m[3]!}"`) as string;
    if (m[2] === '=~' || m[2] === '!~') {
      try {
        new RegExp(value);
      } catch (err) {
        throw new Error(`${field}: ${m[1]}${m[2]}"${value}": ${(err as Error).message}`);
      }
    }
    out.push({ name: m[1]!, op: m[2] as Matcher['op'], value });
    rest = rest.slice(m[0].length).trim();
  }
  return out;
}

/** A predicate over label sets; an absent label is the empty string, as in Prometheus. Regexes are fully anchored. */
export function labelPredicate(text: string | undefined, field: string): LabelPredicate {
  if (text === undefined) return () => true;
  const matchers = parseMatchers(text, field).map((m) => {
    const re = m.op === '=~' || m.op === '!~' ? new RegExp(`^(?:${m.value})$`) : undefined;
    return (labels: Readonly<Record<string, string>>): boolean => {
      const v = labels[m.name] ?? '';
      if (m.op === '=') return v === m.value;
      if (m.op === '!=') return v !== m.value;
      return re!.test(v) === (m.op === '=~');
    };
  });
  return (labels) => matchers.every((m) => m(labels));
}
