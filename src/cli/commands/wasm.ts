import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors/index.js';
import { openOutputFile } from '../../node/output-file.js';
import { parseReference } from '../../ref/index.js';
import {
  inspectWasm,
  pullWasm,
  pushWasm,
  targetTriple,
  type WasmArtifactInfo,
  type WasmInspection,
} from '../../wasm/index.js';
import { contextFor } from '../context.js';
import { formatBytes, printJson, printLines, table } from '../format.js';
import { collect, parseAnnotations } from '../repeatable.js';

interface WasmOptions {
  json?: boolean;
  output?: string;
  annotation?: string[];
}

const HELP_AFTER = `
Forms:
  ocipeek wasm REF [--json]       container or wasm, WASI version, layer digest, size and
                                  module name, from the manifest and config only
  ocipeek wasm REF -o FILE        download the wasm layer, verify digest and \\0asm magic,
                                  and write it to FILE (nothing written on error)
  ocipeek wasm push FILE REF      publish a module or component as an OCI artifact
                                  (wasm config, one application/wasm layer, artifactType
                                  from the binary); --annotation KEY=VALUE adds manifest
                                  annotations`;

/** The `--json` shape: the same keys for wasm and containers (null where not applicable). */
function jsonOf(inspection: WasmInspection, info: WasmArtifactInfo | undefined) {
  return {
    kind: inspection.type.kind,
    wasiVersion: info?.wasiVersion ?? null,
    signal: info?.signal ?? null,
    layerDigest: info?.layerDigest ?? null,
    size: info?.size ?? null,
    moduleName: info?.moduleName ?? null,
    annotations: info?.annotations ?? inspection.manifest.annotations ?? {},
  };
}

function printHuman(inspection: WasmInspection, info: WasmArtifactInfo | undefined): void {
  const rows = [
    ['Name:', inspection.ref.toString()],
    ['Digest:', inspection.digest],
    ['Kind:', inspection.type.kind],
  ];
  if (info) {
    rows.push(
      ['WASI:', `${info.wasiVersion} (${targetTriple(info.wasiVersion)})`],
      ['Detected by:', info.signal],
      ['Layer:', info.layerDigest ?? '- (inside filesystem layers)'],
      ['Size:', info.size === undefined ? '-' : formatBytes(info.size)],
      ['Module:', info.moduleName ?? '-'],
    );
  }
  const lines = [table(rows)];
  const annotations = Object.entries(info?.annotations ?? {});
  if (annotations.length) lines.push('Annotations:', ...annotations.map(([k, v]) => `  ${k}=${v}`));
  printLines(...lines);
}

/** Write a verified module to `-o` (a file replaced only once complete; - is stdout). */
async function writeOutput(path: string, bytes: Buffer): Promise<void> {
  const out = await openOutputFile(path === '-' ? process.stdout : path);
  try {
    await new Promise<void>((done, fail) => out.stream.write(bytes, (e) => (e ? fail(e) : done())));
    await out.commit();
  } catch (err) {
    await out.abort();
    throw err;
  }
}

async function runInspect(refArg: string, opts: WasmOptions, cmd: Command): Promise<void> {
  const ctx = await contextFor(cmd);
  const ref = parseReference(refArg);
  const json = opts.json || ctx.options.json;
  if (opts.output) {
    const pulled = await pullWasm(ref, {
      client: ctx.client,
      platform: ctx.platform,
      signal: ctx.signal,
    });
    await writeOutput(opts.output, pulled.bytes);
    if (json) printJson(jsonOf(pulled.inspection, pulled.info));
    return;
  }
  const inspection = await inspectWasm(ref, {
    client: ctx.client,
    platform: ctx.platform,
    signal: ctx.signal,
  });
  if (json) printJson(jsonOf(inspection, inspection.info));
  else printHuman(inspection, inspection.info);
}

async function runPush(args: string[], opts: WasmOptions, cmd: Command): Promise<void> {
  if (args.length !== 2) {
    throw new InvalidArgumentError('usage: ocipeek wasm push FILE REF');
  }
  if (opts.output) throw new InvalidArgumentError('-o/--output does not apply to wasm push');
  const [file, refArg] = args as [string, string];
  const ctx = await contextFor(cmd);
  const ref = parseReference(refArg);
  const pushed = await pushWasm(file, ref, {
    client: ctx.client,
    annotations: parseAnnotations(opts.annotation),
    signal: ctx.signal,
  });
  if (opts.json || ctx.options.json) {
    printJson({
      ref: ref.toString(),
      digest: pushed.manifestDigest,
      artifactType: pushed.artifactType,
      kind: pushed.header.kind,
      wasiVersion: pushed.header.kind === 'component' ? 'preview2' : 'preview1',
      layerDigest: pushed.layer.digest,
      size: pushed.layer.size,
    });
  } else {
    printLines(`${ref.name}@${pushed.manifestDigest}`);
  }
}

/** `ocipeek wasm REF [--json] [-o FILE]` and `ocipeek wasm push FILE REF`. */
export function registerWasm(program: Command): void {
  program
    .command('wasm')
    .usage('[options] REF | push [options] FILE REF')
    .description(
      'WebAssembly artifacts: tell wasm from containers and inspect without pulling (REF), write the verified module (REF -o FILE), or publish one (push FILE REF)',
    )
    // One command that dispatches on its first word, so `wasm REF` and `wasm push FILE
    // REF` both work without a ref named "push" ever being needed.
    .argument('<ref|push>', 'image reference, or "push" to publish a module')
    .argument('[args...]', 'for push: FILE REF')
    .option('--json', 'print JSON')
    .option('-o, --output <file>', 'download the wasm module to FILE (only once verified)')
    .option('--annotation <key=value>', 'push: manifest annotation (repeatable)', collect)
    .addHelpText('after', HELP_AFTER)
    .action(async (first: string, rest: string[], opts: WasmOptions, cmd: Command) => {
      if (first === 'push') return runPush(rest, opts, cmd);
      if (rest.length > 0) {
        throw new InvalidArgumentError(`unexpected arguments after ${first}: ${rest.join(' ')}`);
      }
      if (opts.annotation) throw new InvalidArgumentError('--annotation applies to wasm push');
      return runInspect(first, opts, cmd);
    });
}
