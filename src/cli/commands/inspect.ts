import type { Command } from 'commander';
import { NetworkError } from '../../errors/index.js';
import { type ImageInspection, inspectImage } from '../../image/inspect-image.js';
import { parseReference } from '../../ref/index.js';
import { type ImageSource, parsePlace } from '../../source/index.js';
import { type CliContext, contextFor } from '../context.js';
import { formatBytes, printJson, printLines, shortDigest, table } from '../format.js';
import { openCliSource } from '../image-source.js';
import { renderTemplate, templateUses } from '../template.js';

/** `ocipeek inspect REF`: what an image is, from its manifest and config. */
export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('show digest, platform, config, labels and layers of an image')
    .argument('<image>', 'image reference or place (oci:DIR[:TAG], oci-archive:FILE, …)')
    .option('--json', 'print JSON')
    .option(
      '--format <template>',
      'print a Go-style template: skopeo\'s fields ({{.Digest}}, {{.Name}}, {{join .RepoTags ","}}, {{index .Labels "k"}}) and the JSON keys',
    )
    .action(async (refArg: string, opts: { json?: boolean; format?: string }, cmd: Command) => {
      const ctx = await contextFor(cmd);
      // Digest and platforms are the root's: a stored index cut to some is not it.
      const source = await openCliSource(cmd, refArg, { wholeIndex: true });
      const info = await inspectImage(source, {
        platform: ctx.platform,
        signal: ctx.signal,
      });
      if (opts.format !== undefined) {
        const data = await templateData(ctx, source, info, opts.format, refArg);
        return printLines(renderTemplate(opts.format, data));
      }
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

/**
 * What a `--format` template sees: the JSON keys, and skopeo inspect's fields under its
 * names. `RepoTags` (every tag of the repository, as skopeo lists them) is fetched only
 * when the template uses it, and only for registry images.
 */
async function templateData(
  ctx: CliContext,
  source: ImageSource,
  info: ImageInspection,
  template: string,
  refArg: string,
): Promise<Record<string, unknown>> {
  const [os, architecture, variant] = (info.platform ?? '').split('/');
  let repoTags: string[] = [];
  let name = info.name;
  if (source.kind === 'registry' || source.kind === 'store') {
    const ref = parseReference(info.name);
    name = ref.name;
    // A bare reference names the registry's repository even when the store answered
    // (its tag checked current): its tags are still the registry's, unless --offline.
    const typed = parsePlace(refArg).kind === 'registry';
    if (templateUses(template, 'RepoTags') && (source.kind === 'registry' || typed)) {
      if (source.kind === 'registry') {
        repoTags = await ctx.client.listTags(ref, { signal: ctx.signal });
      } else if (!ctx.options.offline) {
        // An unreachable registry (the store was read, with a warning) leaves it empty.
        repoTags = await ctx.client.listTags(ref, { signal: ctx.signal }).catch((err) => {
          if (err instanceof NetworkError) return [];
          throw err;
        });
      }
    }
  }
  return {
    ...info,
    Name: name,
    Digest: info.digest,
    RepoTags: repoTags,
    Created: info.created ?? '',
    Labels: info.labels,
    Architecture: architecture ?? '',
    Os: os ?? '',
    Variant: variant ?? '',
    Layers: info.layers.map((l) => l.digest),
    Env: info.env,
  };
}
