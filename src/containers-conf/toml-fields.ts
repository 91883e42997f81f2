import { ConfigError } from '../errors/index.js';

/** A TOML table as smol-toml parses it. */
export type TomlTable = Record<string, unknown>;

/**
 * Typed reads of TOML fields that fail with a {@link ConfigError} naming the file and the
 * key, so a wrong type in a config file is one clear line. Unknown keys are ignored, as
 * containers/image ignores them.
 */
export class TomlFields {
  constructor(
    readonly file: string,
    private readonly table: TomlTable,
    private readonly where = '',
  ) {}

  private fail(key: string, expected: string): never {
    throw new ConfigError(this.file, `${this.where}${key} must be ${expected}`);
  }

  has(key: string): boolean {
    return this.table[key] !== undefined;
  }

  string(key: string): string | undefined {
    const v = this.table[key];
    if (v === undefined) return undefined;
    return typeof v === 'string' ? v : this.fail(key, 'a string');
  }

  boolean(key: string): boolean {
    const v = this.table[key];
    if (v === undefined) return false;
    return typeof v === 'boolean' ? v : this.fail(key, 'true or false');
  }

  strings(key: string): string[] | undefined {
    const v = this.table[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
      return this.fail(key, 'an array of strings');
    }
    return v as string[];
  }

  subtable(key: string): TomlTable | undefined {
    const v = this.table[key];
    if (v === undefined) return undefined;
    return isTable(v) ? v : this.fail(key, 'a table');
  }

  tables(key: string): TomlTable[] {
    const v = this.table[key];
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every(isTable)) return this.fail(key, 'an array of tables');
    return v as TomlTable[];
  }
}

function isTable(v: unknown): v is TomlTable {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}
