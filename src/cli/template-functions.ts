import { InvalidArgumentError } from '../errors/index.js';

/*
 * The functions skopeo, podman and docker users put in `--format` that
 * @ctrl/golang-template lacks (it has no way to add any): `json` (docker's and podman's
 * addition: the value as compact JSON), `printf` (Go's fmt, the verbs scripts use: %s %v
 * %d %q %%) and `len`. Each call, alone in its action (`{{json .Labels}}`) or at the end
 * of a pipeline (`{{.Labels | json}}`, `{{.Digest | printf "%.19s"}}`), is evaluated here
 * and handed to the library as a precomputed field. Inside `range` and `with` the dot is
 * another value, known only while the library renders: there a call stays as written and
 * the library refuses it as a usage error.
 */

/** An action naming one of these is evaluated here (with `index` and `join` inside it). */
const FUNCTIONS = new Set(['json', 'printf', 'len']);

/** Where precomputed values go in the data (a name no image field has). */
const PREFIX = '__ocipeekFn';

type Token = { kind: 'literal'; value: unknown } | { kind: 'word'; text: string };

/** The tokens of an action: `.A.B`, `.`, "strings" (Go escapes), numbers, words, ( ) |. */
function tokenize(text: string, template: string): Token[] {
  const out: Token[] = [];
  const token = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|[()|]|[^\s"`()|]+)/gy;
  for (let m = token.exec(text); m; m = token.exec(text)) {
    const t = m[1] as string;
    if (t.startsWith('"')) out.push({ kind: 'literal', value: JSON.parse(t) });
    else if (t.startsWith('`')) out.push({ kind: 'literal', value: t.slice(1, -1) });
    else if (/^-?\d+(\.\d+)?$/.test(t)) out.push({ kind: 'literal', value: Number(t) });
    else if (t === 'true' || t === 'false') out.push({ kind: 'literal', value: t === 'true' });
    else out.push({ kind: 'word', text: t });
  }
  if (token.lastIndex !== 0 && text.slice(token.lastIndex).trim() !== '') {
    throw new InvalidArgumentError(`--format ${JSON.stringify(template)}: cannot read "${text}"`);
  }
  return out;
}

/** Evaluates one action's pipeline (`fn ARGS | fn ARGS`, with `( )` sub-pipelines). */
class Pipeline {
  private at = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly data: unknown,
    private readonly template: string,
  ) {}

  run(): unknown {
    const value = this.pipeline();
    if (this.at < this.tokens.length) this.fail('unexpected ")"');
    return value;
  }

  private fail(why: string): never {
    throw new InvalidArgumentError(`--format ${JSON.stringify(this.template)}: ${why}`);
  }

  private pipeline(): unknown {
    let value = this.command(undefined, false);
    while (this.peek('|')) {
      this.at++;
      value = this.command(value, true);
    }
    return value;
  }

  private peek(text: string): boolean {
    const t = this.tokens[this.at];
    return t?.kind === 'word' && t.text === text;
  }

  private command(piped: unknown, hasPiped: boolean): unknown {
    const first = this.tokens[this.at];
    const name = first?.kind === 'word' && /^[a-z]\w*$/.test(first.text) ? first.text : undefined;
    if (name !== undefined) this.at++;
    const args: unknown[] = [];
    while (this.at < this.tokens.length && !this.peek('|') && !this.peek(')')) {
      args.push(this.operand());
    }
    if (hasPiped) args.push(piped);
    if (name === undefined) {
      if (args.length !== 1) this.fail('a value or a function call expected');
      return args[0];
    }
    return call(name, args, (why) => this.fail(why));
  }

  private operand(): unknown {
    const t = this.tokens[this.at++] as Token;
    if (t.kind === 'literal') return t.value;
    if (t.text === '(') {
      const value = this.pipeline();
      if (!this.peek(')')) this.fail('missing ")"');
      this.at++;
      return value;
    }
    if (t.text === '.') return this.data;
    if (!t.text.startsWith('.')) this.fail(`cannot read "${t.text}"`);
    let v = this.data;
    for (const key of t.text.slice(1).split('.'))
      v = (v as Record<string, unknown> | undefined)?.[key];
    return v;
  }
}

/** A value as Go's `%v` prints it: slices `[a b]`, maps `map[k:v]`, nothing as `<no value>`. */
function goValue(v: unknown): string {
  if (v === undefined || v === null) return '<no value>';
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `map[${entries.map(([k, x]) => `${k}:${goValue(x)}`).join(' ')}]`;
  }
  return String(v);
}

/**
 * Go's `fmt.Sprintf` for the verbs format strings in scripts use, with width and precision;
 * another verb is left as written.
 */
function sprintf(format: string, args: unknown[]): string {
  let next = 0;
  return format
    .replace(/%(-?)(\d*)(?:\.(\d+))?([svdqx%])/g, (_all, left, width, precision, verb) => {
      if (verb === '%') return '%';
      if (next >= args.length) return `%!${verb}(MISSING)`;
      const v = args[next++];
      let s: string;
      if (verb === 'd') {
        if (typeof v !== 'number') return `%!d(${goValue(v)})`;
        s = String(Math.trunc(v));
      } else if (verb === 'q') s = JSON.stringify(typeof v === 'string' ? v : goValue(v));
      else if (verb === 'x')
        s = Buffer.from(typeof v === 'string' ? v : goValue(v)).toString('hex');
      else s = typeof v === 'string' ? v : goValue(v);
      if (precision !== undefined && (verb === 's' || verb === 'v'))
        s = s.slice(0, Number(precision));
      const pad = Number(width || 0) - s.length;
      if (pad > 0) s = left ? s + ' '.repeat(pad) : ' '.repeat(pad) + s;
      return s;
    })
    .concat(
      next < args.length
        ? `%!(EXTRA ${args
            .slice(next)
            .map((v) => `${typeof v}=${goValue(v)}`)
            .join(', ')})`
        : '',
    );
}

function call(name: string, args: unknown[], fail: (why: string) => never): unknown {
  switch (name) {
    case 'json':
      if (args.length !== 1) fail('json takes one value');
      // Go's encoding/json writes map keys sorted.
      return JSON.stringify(args[0] ?? null, (_key, v: unknown) =>
        v && typeof v === 'object' && !Array.isArray(v)
          ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
          : v,
      );
    case 'len': {
      const v = args[0];
      if (args.length !== 1) fail('len takes one value');
      if (typeof v === 'string' || Array.isArray(v)) return v.length;
      if (v && typeof v === 'object') return Object.keys(v).length;
      return fail(`len of ${goValue(v)}`);
    }
    case 'printf': {
      const [format, ...rest] = args;
      if (typeof format !== 'string') fail('printf needs a format string first');
      return sprintf(format as string, rest);
    }
    case 'index': {
      let v = args[0];
      for (const key of args.slice(1))
        v = (v as Record<string, unknown> | undefined)?.[String(key)];
      return v;
    }
    case 'join':
      if (!Array.isArray(args[0])) fail('join takes a list and a separator');
      return (args[0] as unknown[]).map(goValue).join(String(args[1] ?? ''));
    default:
      return fail(`function "${name}" not defined`);
  }
}

/**
 * `template` with every `json`, `printf` and `len` call, and every bare field holding a
 * list or map, outside `range`/`with` replaced by a field of the returned data holding
 * its result as Go prints it.
 */
export function precomputeFunctions(
  template: string,
  data: Record<string, unknown>,
): { template: string; data: Record<string, unknown> } {
  const extra: Record<string, unknown> = {};
  const blocks: string[] = [];
  let n = 0;
  const out = template.replace(/\{\{(-?)\s*([\s\S]*?)\s*(-?)\}\}/g, (whole, trimL, body, trimR) => {
    const word = /^(\S+)/.exec(body)?.[1] ?? '';
    if (word === 'if' || word === 'range' || word === 'with') blocks.push(word);
    else if (word === 'end') blocks.pop();
    if (blocks.includes('range') || blocks.includes('with')) return whole;
    const tokens = tokenize(body, template);
    // A bare field (`{{.RepoTags}}`) holding a list or map: the library would print it as
    // JavaScript does (`a,b`, `[object Object]`); Go prints `[a b]` and `map[k:v]`.
    const only = tokens.length === 1 ? tokens[0] : undefined;
    const field = only?.kind === 'word' && only.text.startsWith('.') && only.text !== '.';
    if (!field && !tokens.some((t) => t.kind === 'word' && FUNCTIONS.has(t.text))) return whole;
    const value = new Pipeline(tokens, data, template).run();
    if (field && (value === null || typeof value !== 'object')) return whole;
    const key = `${PREFIX}${n++}`;
    extra[key] = typeof value === 'string' ? value : goValue(value);
    return `{{${trimL} .${key} ${trimR}}}`;
  });
  return n === 0 ? { template, data } : { template: out, data: { ...data, ...extra } };
}
