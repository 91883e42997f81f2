import type { Command } from 'commander';
import { inspectImage } from '../../image/inspect-image.js';
import { contextFor } from '../context.js';
import { formatBytes, printJson, printLines, shortDigest, table } from '../format.js';
import { openCliSource } from '../image-source.js';

/** `ocipeek inspect REF`: what an image is, from its manifest and config. */
export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('show digest, platform, config, labels and layers of an image')
    .argument('<image>', 'image reference or place (oci:DIR[:TAG], oci-archive:FILE, …)')
    .option('--json', 'print JSON')
    .action(async (refArg: string, opts: { json?: boolean }, cmd: Command) => {
      const ctx = await contextFor(cmd);
      const info = await inspectImage(await openCliSource(cmd, refArg), {
        platform: ctx.platform,
        signal: ctx.signal,
      });
      if (opts.json || ctx.options.json) return printJson(info);
      const rows = [
        ['Name:', info.name],
        ['Digest:', info.digest],
        ['MediaType:', info.mediaType],
      ];
      if (info.platforms)
        rows.push(['Manifest:', `${info.manifestDigest} (${info.manifestMediaType})`]);
      rows.push(
        ['Platform:', info.platform ?? '-'],
        ['Created:', info.created ?? '-'],
        ['Size:', `${formatBytes(info.size)} in ${info.layers.length} layers`],
      );
      if (info.author) rows.push(['Author:', info.author]);
      if (info.entrypoint) rows.push(['Entrypoint:', JSON.stringify(info.entrypoint)]);
      if (info.cmd) rows.push(['Cmd:', JSON.stringify(info.cmd)]);
      if (info.workingDir) rows.push(['WorkingDir:', info.workingDir]);
      if (info.user) rows.push(['User:', info.user]);
      if (info.exposedPorts.length) rows.push(['Ports:', info.exposedPorts.join(' ')]);
      const out = [table(rows)];
      const section = (title: string, lines: string[]) => {
        if (lines.length) out.push(`${title}:`, ...lines.map((l) => `  ${l}`));
      };
      section('Env', info.env);
      section(
        'Labels',
        Object.entries(info.labels).map(([k, v]) => `${k}=${v}`),
      );
      section(
        'Annotations',
        Object.entries(info.annotations).map(([k, v]) => `${k}=${v}`),
      );
      out.push('Layers:');
      out.push(
        ...table(info.layers.map((l) => [shortDigest(l.digest), formatBytes(l.size), l.mediaType]))
          .split('\n')
          .map((l) => `  ${l}`),
      );
      if (info.platforms) {
        out.push('Platforms:');
        out.push(
          ...table(
            info.platforms.map((p) => [p.platform, p.digest, p.attestation ? '(attestation)' : '']),
          )
            .split('\n')
            .map((l) => `  ${l}`),
        );
      }
      printLines(...out);
    });
}
