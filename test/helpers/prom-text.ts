// A strict reader of the Prometheus text exposition format (0.0.4) for tests: every line is a
// HELP, a TYPE, a sample or blank; each family has one HELP and one TYPE, given before its
// samples, and its samples are contiguous; names, label names and label values are checked
// character by character; a histogram's samples are its _bucket (with le), _sum and _count.
// Throws naming the line that breaks a rule.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES: Record<string, string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count'] };

function parseValue(s: string, where: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`${where}: "${s}" is not a sample value`);
  return Number(s);
}

/** `{a="x",b="y\"z"}` from `i` (at the `{`): the labels and the index after the `}`. */
function parseLabels(line: string, i: number, where: string): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  i++; // {
  while (line[i] !== '}') {
    const eq = line.indexOf('=', i);
    if (eq < 0) throw new Error(`${where}: label without "="`);
    const name = line.slice(i, eq);
    if (!LABEL.test(name)) throw new Error(`${where}: bad label name "${name}"`);
    if (name in labels) throw new Error(`${where}: label "${name}" twice`);
    if (line[eq + 1] !== '"') throw new Error(`${where}: label value of ${name} is not quoted`);
    let v = '';
    let j = eq + 2;
    for (;; j++) {
      const c = line[j];
      if (c === undefined) throw new Error(`${where}: unterminated label value`);
      if (c === '"') break;
      if (c === '\\') {
        const n = line[++j];
        if (n === 'n') v += '\n';
        else if (n === '\\' || n === '"') v += n;
        else throw new Error(`${where}: bad escape \\${n ?? ''} in a label value`);
      } else {
        v += c;
      }
    }
    labels[name] = v;
    i = j + 1;
    if (line[i] === ',') i++;
    else if (line[i] !== '}') throw new Error(`${where}: expected "," or "}" after label ${name}`);
  }
  return { labels, end: i + 1 };
}

export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const done = new Set<string>();
  let current: Family | null = null;
  const lines = text.split('\n');
  if (lines.at(-1) !== '') throw new Error('the exposition does not end with a newline');
  lines.pop();
  lines.forEach((line, n) => {
    const where = `line ${n + 1} "${line.slice(0, 80)}"`;
    if (line === '') return;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      if (!NAME.test(name)) throw new Error(`${where}: bad metric name`);
      let f = families.get(name);
      if (!f) {
        if (done.has(name)) throw new Error(`${where}: family ${name} appears twice`);
        if (current) done.add(current.name);
        f = { name, help: '', type: '', samples: [] };
        families.set(name, f);
        current = f;
      } else if (f !== current || f.samples.length) {
        throw new Error(`${where}: ${kind} of ${name} after its samples or another family`);
      }
      if (kind === 'HELP') {
        if (f.help) throw new Error(`${where}: second HELP`);
        f.help = rest || ' ';
      } else {
        if (f.type) throw new Error(`${where}: second TYPE`);
        if (!TYPES.has(rest)) throw new Error(`${where}: unknown type "${rest}"`);
        f.type = rest;
      }
      return;
    }
    if (line.startsWith('#')) return; // a comment
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    if (!m) throw new Error(`${where}: not a sample`);
    const name = m[1]!;
    let i = name.length;
    let labels: Record<string, string> = {};
    if (line[i] === '{') ({ labels, end: i } = parseLabels(line, i, where));
    if (line[i] !== ' ') throw new Error(`${where}: expected a space before the value`);
    const parts = line.slice(i + 1).split(' ');
    if (parts.length > 2 || (parts.length === 2 && !/^-?\d+$/.test(parts[1]!))) throw new Error(`${where}: trailing text after the value`);
    const value = parseValue(parts[0]!, where);
    if (!current) throw new Error(`${where}: a sample before any HELP/TYPE`);
    const f: Family = current;
    if (!f.help || !f.type) throw new Error(`${where}: family ${f.name} lacks HELP or TYPE`);
    const suffixes = SUFFIXES[f.type] ?? [''];
    if (!suffixes.some((s) => name === f.name + s)) throw new Error(`${where}: sample ${name} is not of family ${f.name} (${f.type})`);
    if (f.type === 'histogram' && name.endsWith('_bucket') && !('le' in labels)) throw new Error(`${where}: bucket without le`);
    f.samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (!f.help || !f.type) throw new Error(`family ${f.name} lacks HELP or TYPE`);
  return families;
}

/** The value of the one sample `name` whose labels include `labels`, or undefined; throws if several match. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const matches = [...families.values()].flatMap((f) => f.samples).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (matches.length > 1) throw new Error(`${matches.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return matches[0]?.value;
}

/** The sum of every sample `name` whose labels include `labels` (0 when none). */
export function sampleSum(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  return [...families.values()].flatMap((f) => f.samples).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
}
