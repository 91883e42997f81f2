/*
 * Why parse this at all: the CNCF TAG Runtime wasm artifact config carries, for a
 * component (os wasip2), the names it imports and exports, so registries and runtimes can
 * index them without fetching the layer. Those names are the top-level import/export
 * section entries of the component binary (e.g. `wasi:cli/run@0.2.0`). Only those two
 * sections are read; nested components and every other section are skipped by size.
 * Reference: component-model Binary.md.
 */

/** The top-level interface names of a component. */
export interface ComponentWorld {
  /** Names the component imports, in binary order. */
  imports: string[];
  /** Names the component exports, in binary order. */
  exports: string[];
}

const SECTION_IMPORT = 10;
const SECTION_EXPORT = 11;

class Cursor {
  pos: number;
  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  byte(): number {
    if (this.pos >= this.end) throw new RangeError('truncated');
    return this.bytes[this.pos++]!;
  }

  /** An unsigned LEB128 (also skips an s33 correctly: same continuation bits). */
  leb(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
    throw new RangeError('LEB128 too long');
  }

  name(): string {
    const len = this.leb();
    if (this.pos + len > this.end) throw new RangeError('truncated name');
    const s = Buffer.from(this.bytes.subarray(this.pos, this.pos + len)).toString('utf8');
    this.pos += len;
    return s;
  }
}

/** `importname'` / `exportname'`: 0x00 name, or 0x01 name + one more length-prefixed string. */
function externName(c: Cursor): string {
  const tag = c.byte();
  if (tag !== 0x00 && tag !== 0x01) throw new RangeError(`unknown name tag ${tag}`);
  const name = c.name();
  if (tag === 0x01) c.name();
  return name;
}

function skipExternDesc(c: Cursor): void {
  const tag = c.byte();
  switch (tag) {
    case 0x00: // core module: 0x11 typeidx
      c.byte();
      c.leb();
      return;
    case 0x02: // value: valuebound (0x00 valueidx | 0x01 valtype)
    case 0x03: // type: typebound (0x00 typeidx | 0x01 sub resource)
      if (c.byte() === 0x00 || tag === 0x02) c.leb();
      return;
    case 0x01:
    case 0x04:
    case 0x05:
      c.leb();
      return;
    default:
      throw new RangeError(`unknown externdesc ${tag}`);
  }
}

function readSection(c: Cursor, id: number, out: ComponentWorld): void {
  const count = c.leb();
  for (let i = 0; i < count; i++) {
    const name = externName(c);
    if (id === SECTION_IMPORT) {
      skipExternDesc(c);
      out.imports.push(name);
    } else {
      const sort = c.byte();
      if (sort === 0x00) c.byte();
      c.leb();
      if (c.byte() === 0x01) skipExternDesc(c);
      out.exports.push(name);
    }
  }
}

/**
 * The top-level import and export names of a component binary (header already checked).
 * Best effort: an encoding this reader does not know ends the scan, keeping the names
 * read so far, since these names are metadata and must never make a valid binary fail.
 */
export function componentWorld(bytes: Uint8Array): ComponentWorld {
  const out: ComponentWorld = { imports: [], exports: [] };
  const top = new Cursor(bytes, 8, bytes.length);
  try {
    while (top.pos < top.end) {
      const id = top.byte();
      const size = top.leb();
      const start = top.pos;
      if (start + size > top.end) break;
      if (id === SECTION_IMPORT || id === SECTION_EXPORT) {
        readSection(new Cursor(bytes, start, start + size), id, out);
      }
      top.pos = start + size;
    }
  } catch {
    // Keep what was read (see above).
  }
  return out;
}
