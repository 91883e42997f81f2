import type { Command } from 'commander';
import {
  type ArtifactFile,
  publishReferrer,
  pullArtifact,
  pushArtifact,
} from '../../artifact/index.js';
import { InvalidArgumentError, NotFoundError } from '../../errors/index.js';
import { manifestByDigest, OciLayout } from '../../layout/index.js';
import type { Descriptor } from '../../media/index.js';
import { openDestination, openSource } from '../../places/index.js';
import { isTag, parseReference, type Reference, sameRegistryHost } from '../../ref/index.js';
import { type Place, parsePlace } from '../../source/index.js';
import { Store, StoreDestination } from '../../store/index.js';
import { type CliContext, contextFor } from '../context.js';
import { printJson, printLines } from '../format.js';
import { openCliSource } from '../image-source.js';
import { collect, parseAnnotations } from '../repeatable.js';

interface PushFlags {
  artifactType: string;
  subject?: string;
  annotation?: string[];
  json?: boolean;
}

/**
 * `ocipeek artifact push|attach|pull`: OCI 1.1 artifacts as oras and regctl handle them:
 * files as titled layers, an `artifactType`, and a `subject` for referrers.
 */
export function registerArtifact(program: Command): void {
  const artifact = program
    .command('artifact')
    .description('push, attach and pull OCI artifacts (files with an artifact type; oras habits)');
  artifact
    .command('push')
    .description('push FILEs as an artifact to REF (a registry, oci:DIR[:TAG] or store:REF)')
    .argument('<ref>', 'where the artifact goes')
    .argument(
      '[files...]',
      'FILE[:MEDIATYPE] (default application/octet-stream); a folder is packed as a tar+gzip layer; none: annotations only',
    )
    .requiredOption(
      '--artifact-type <type>',
      'the manifest artifactType, e.g. application/vnd.example+json',
    )
    .option(
      '--subject <ref>',
      'the manifest it refers to: a tag or digest of the same repository (or layout)',
    )
    .option('--annotation <key=value>', 'manifest annotation (repeatable)', collect)
    .option('--json', 'print JSON')
    .action(async (refArg: string, files: string[], opts: PushFlags, cmd: Command) => {
      const ctx = await contextFor(cmd);
      const place = parsePlace(refArg);
      const subject =
        opts.subject === undefined ? undefined : await placeSubject(ctx, place, opts.subject);
      const destination = await openDestination(place, {
        client: ctx.client,
        storeDir: ctx.options.store,
        signal: ctx.signal,
      });
      await push(ctx, destination, place.kind === 'registry' ? place.ref : undefined, files, {
        ...opts,
        subject,
      });
    });
  artifact
    .command('attach')
    .description('attach FILEs to the image SUBJECT as an artifact that refers to it (oras attach)')
    .argument(
      '<subject>',
      'the image it is about (REPO:TAG, REPO@DIGEST, oci:DIR[:TAG] or store:REF)',
    )
    .argument('[files...]', 'FILE[:MEDIATYPE] or folder; none: an artifact of annotations only')
    .requiredOption('--artifact-type <type>', 'the manifest artifactType')
    .option('--annotation <key=value>', 'manifest annotation (repeatable)', collect)
    .option('--json', 'print JSON')
    .action(async (subjectArg: string, files: string[], opts: PushFlags, cmd: Command) => {
      const ctx = await contextFor(cmd);
      const place = parsePlace(subjectArg);
      if (place.kind === 'oci') {
        // In a layout the artifact is an unnamed index.json entry: found by its subject.
        const subject = await rootDescriptor(ctx, place);
        const destination = await openDestination(
          { kind: 'oci', path: place.path },
          { client: ctx.client, signal: ctx.signal },
        );
        return push(ctx, destination, undefined, files, { ...opts, subject });
      }
      if (place.kind === 'store') {
        // Named REPO@DIGEST in the store, as a referrer pulled by digest is: kept by
        // prune, listed by `referrers store:REF`.
        const subject = await rootDescriptor(ctx, place);
        const store = await Store.open(ctx.options.store, { signal: ctx.signal });
        const destination = new StoreDestination(
          store,
          { kind: 'digest', repository: place.ref },
          `store:${place.ref.name}`,
        );
        return push(ctx, destination, undefined, files, { ...opts, subject });
      }
      if (place.kind !== 'registry') {
        throw new InvalidArgumentError(
          'attach works on registry images (REPO:TAG or REPO@DIGEST), oci:DIR[:TAG] and store:REF',
        );
      }
      const subject = await resolveSubject(ctx, place.ref);
      // Pushed by its own digest, untagged: it is found through its subject.
      const untagged = parseReference(`${place.ref.name}@${subject.digest}`);
      const destination = await openDestination(
        { kind: 'registry', ref: untagged, explicit: true },
        { client: ctx.client, signal: ctx.signal },
      );
      await push(ctx, destination, untagged, files, { ...opts, subject });
    });
  artifact
    .command('pull')
    .description(
      'write the files of an artifact into a folder (titled layers; packed folders unpacked; oras pull)',
    )
    .argument('<ref>', 'the artifact (REF@DIGEST, REF:TAG, oci:DIR:TAG, store:REF)')
    .option('-o, --output <dir>', 'folder to write into (default .)', '.')
    .option('--overwrite', 'replace files that exist')
    .option('--json', 'print JSON')
    .action(
      async (
        refArg: string,
        opts: { output: string; overwrite?: boolean; json?: boolean },
        cmd: Command,
      ) => {
        const ctx = await contextFor(cmd);
        const source = await openCliSource(cmd, refArg);
        const pulled = await pullArtifact(source, opts.output, {
          overwrite: opts.overwrite,
          signal: ctx.signal,
        });
        if (opts.json || ctx.options.json) return printJson(pulled);
        printLines(
          ...pulled.files.map((f) => `${f.name}${f.folder ? '/' : ''}  ${f.digest}  ${f.size}`),
          ...pulled.skipped.map((d) => `skipped ${d.digest}: no org.opencontainers.image.title`),
        );
      },
    );
  // Usage mistakes of these subcommands reach main's one-line report too.
  for (const sub of artifact.commands) sub.exitOverride();
}

async function push(
  ctx: CliContext,
  destination: Awaited<ReturnType<typeof openDestination>>,
  ref: Reference | undefined,
  files: string[],
  opts: Omit<PushFlags, 'subject'> & { subject?: Descriptor },
): Promise<void> {
  const pushed = await pushArtifact(destination, files.map(parseFileArg), {
    artifactType: opts.artifactType,
    subject: opts.subject,
    annotations: parseAnnotations(opts.annotation),
    signal: ctx.signal,
  });
  let referrers: 'api' | 'tag' | undefined;
  if (opts.subject && ref) {
    referrers = await publishReferrer(ctx.client, ref, opts.subject.digest, pushed.descriptor, {
      signal: ctx.signal,
    });
  }
  if (opts.json || ctx.options.json) {
    return printJson({
      destination: destination.description,
      digest: pushed.digest,
      subject: opts.subject?.digest,
      referrers,
      manifest: pushed.manifest,
    });
  }
  printLines(`pushed ${destination.description} ${pushed.digest}`);
  if (referrers === 'tag') printLines(`listed in the referrers tag of ${opts.subject!.digest}`);
}

/** `FILE[:MEDIATYPE]`, as oras takes files: the suffix counts when it is a media type. */
function parseFileArg(arg: string): ArtifactFile {
  const colon = arg.lastIndexOf(':');
  const suffix = colon > 0 ? arg.slice(colon + 1) : '';
  if (/^[\w.+-]+\/[\w.+-]+$/.test(suffix)) return { path: arg.slice(0, colon), mediaType: suffix };
  return { path: arg };
}

function isDigestArg(arg: string): boolean {
  return arg.startsWith('sha256:') || arg.startsWith('sha512:');
}

/** `--subject` as a tag or digest of `repo`'s repository, or a full reference. */
function subjectRef(repo: Reference, subject: string): Reference {
  if (isDigestArg(subject)) {
    return parseReference(`${repo.name}@${subject}`);
  }
  if (isTag(subject)) return repo.withTag(subject);
  const ref = parseReference(subject);
  if (!sameRegistryHost(ref.registry, repo.registry) || ref.repository !== repo.repository) {
    throw new InvalidArgumentError(
      `--subject ${subject} is not in ${repo.name}: a referrer lives in its subject's repository`,
    );
  }
  return ref;
}

async function resolveSubject(ctx: CliContext, ref: Reference): Promise<Descriptor> {
  const head = await ctx.client.headManifest(ref, { signal: ctx.signal });
  return { mediaType: head.mediaType, digest: head.digest, size: head.size };
}

/**
 * `--subject` of `artifact push` to `place`, as a descriptor: a tag or digest of the
 * destination's repository (a registry, the store) or of the destination layout.
 */
async function placeSubject(ctx: CliContext, place: Place, subject: string): Promise<Descriptor> {
  switch (place.kind) {
    case 'registry':
      return resolveSubject(ctx, subjectRef(place.ref, subject));
    case 'store':
      return rootDescriptor(ctx, { kind: 'store', ref: subjectRef(place.ref, subject) });
    case 'oci': {
      if (!isDigestArg(subject)) return rootDescriptor(ctx, { ...place, tag: subject });
      const layout = await OciLayout.open(place.path, { signal: ctx.signal });
      const found = await manifestByDigest(layout, subject, { signal: ctx.signal });
      if (!found) throw new NotFoundError(`--subject ${subject} is not in oci:${place.path}`);
      return found;
    }
    default:
      throw new InvalidArgumentError(
        `--subject needs a registry, oci:DIR or store: destination, not ${place.kind}:`,
      );
  }
}

/** The root of the image `place` names (a layout or the store), as a subject descriptor. */
async function rootDescriptor(
  ctx: CliContext,
  place: Place & { kind: 'oci' | 'store' },
): Promise<Descriptor> {
  const source = await openSource(place, {
    client: ctx.client,
    storeDir: ctx.options.store,
    signal: ctx.signal,
  });
  try {
    const root = await source.root({ signal: ctx.signal });
    return { mediaType: root.mediaType, digest: root.digest, size: root.bytes.length };
  } finally {
    await source.close();
  }
}
