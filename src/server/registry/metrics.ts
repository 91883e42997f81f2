/**
 * Counters in the Prometheus text format (version 0.0.4), for `GET /metrics`.
 *
 * Written here rather than with prom-client: a handful of counters need only the text
 * format, and prom-client brings a global registry and process metrics on every start.
 */
export class Metrics {
  private readonly counters = new Map<string, { help: string; values: Map<string, number> }>();
  private readonly gauges = new Map<string, { help: string; read: () => number }>();

  /** Add `by` to counter `name` with `labels`. */
  count(name: string, help: string, labels: Record<string, string> = {}, by = 1): void {
    let counter = this.counters.get(name);
    if (!counter) {
      counter = { help, values: new Map() };
      this.counters.set(name, counter);
    }
    const key = Object.entries(labels)
      .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
      .join(',');
    counter.values.set(key, (counter.values.get(key) ?? 0) + by);
  }

  /** A gauge read when scraped. */
  gauge(name: string, help: string, read: () => number): void {
    this.gauges.set(name, { help, read });
  }

  /** The current value of counter `name` with exactly `labels` (for tests and logs). */
  value(name: string, labels: Record<string, string> = {}): number {
    const key = Object.entries(labels)
      .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
      .join(',');
    return this.counters.get(name)?.values.get(key) ?? 0;
  }

  /** Everything, in the text exposition format. */
  render(): string {
    const lines: string[] = [];
    for (const [name, c] of this.counters) {
      lines.push(`# HELP ${name} ${c.help}`, `# TYPE ${name} counter`);
      for (const [labels, v] of c.values) lines.push(`${name}${labels ? `{${labels}}` : ''} ${v}`);
    }
    for (const [name, g] of this.gauges) {
      lines.push(`# HELP ${name} ${g.help}`, `# TYPE ${name} gauge`, `${name} ${g.read()}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
