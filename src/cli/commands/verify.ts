import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError, NotFoundError } from '../../errors/index.js';
import { resolvePlaceReference } from '../../places/index.js';
import { type ImageToVerify, RegistrySource } from '../../registry/index.js';
import { formatPlace, type Place, parsePlace } from '../../source/index.js';
import { Store, storeSource } from '../../store/index.js';
import { loadPolicy, PolicyTrust, type PolicyVerdict } from '../../trust/index.js';
import { loadRegistriesD } from '../../trust/registries-d.js';
import { type CliContext, contextFor } from '../context.js';
import { printJson, printLines } from '../format.js';

/**
 * `ocipeek verify PLACE`: check an image against policy.json, with the rules `pull` and
 * `copy` apply to it, and say what accepted it. A registry image with its registry's
 * signatures; `store:REF`, the store's copy with the signatures of REF's registry (as a
 * pull that finds it current checks it); `oci:`, `oci-archive:`, `docker-archive:` under
 * their transports' scopes.
 */
export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description(
      'check an image against the trust policy (policy.json) and say which requirement accepted it',
    )
    .argument(
      '<image>',
      'a registry reference, store:REF, oci:DIR[:TAG], oci-archive:, docker-archive:',
    )
    .option('--json', 'print JSON')
    .action(async (refArg: string, opts: { json?: boolean }, cmd: Command) => {
      const ctx = await contextFor(cmd);
      const place = parsePlace(refArg);
      const { name, digest, verdict } = await verifyPlace(ctx, place);
      if (opts.json || ctx.options.json) {
        printJson({ reference: name, digest, scope: verdict.scope, accepted: verdict.accepted });
        return;
      }
      printLines(
        `${name}${digest ? `@${digest}` : ''}: accepted by ${verdict.scope}`,
        ...verdict.accepted.map((line) => `  ${line}`),
      );
    });
}

/** The policy's own trust (the run's client has none when the policy accepts anything). */
async function policyTrust(ctx: CliContext): Promise<PolicyTrust> {
  const policy = await loadPolicy({ path: ctx.options.signaturePolicy });
  if (!policy) {
    throw new InvalidArgumentError('no policy.json found (give one with --signature-policy)');
  }
  return new PolicyTrust(policy, await loadRegistriesD(ctx.options['registries.d']));
}

async function verifyPlace(
  ctx: CliContext,
  place: Place,
): Promise<{ name: string; digest?: string; verdict: PolicyVerdict }> {
  const { client, signal } = ctx;
  switch (place.kind) {
    case 'registry': {
      const ref = await resolvePlaceReference(place, client, { signal });
      const source = new RegistrySource(ref, { client });
      const root = await source.root({ signal }); // the run's policy, when it checks
      const verdict = client.trust
        ? ((await source.verdict({ signal })) as PolicyVerdict)
        : await (await policyTrust(ctx)).verify(imageOf(ref, source, root), client, { signal });
      return { name: ref.toString(), digest: root.digest, verdict };
    }
    case 'store': {
      const store = await Store.open(ctx.options.store, { create: false, signal });
      if (!(await store.resolve(place.ref, { signal }))) {
        throw new NotFoundError(`${place.ref} is not in the store ${store.dir}`);
      }
      const root = await storeSource(place.ref, { store }).root({ signal });
      const source = new RegistrySource(place.ref, { client });
      const verdict = client.trust
        ? ((await source.verifyHeld(root, { signal })) as PolicyVerdict)
        : await (await policyTrust(ctx)).verify(imageOf(place.ref, source, root), client, {
            signal,
          });
      return { name: formatPlace(place), digest: root.digest, verdict };
    }
    default: {
      const trust = await policyTrust(ctx);
      const verdict = await trust.verifyLocal({
        transport: place.kind,
        path: resolve(place.path),
        tag: place.kind === 'docker-archive' ? undefined : place.tag,
        description: formatPlace(place),
      });
      return { name: formatPlace(place), verdict };
    }
  }
}

function imageOf(
  ref: ImageToVerify['ref'],
  source: RegistrySource,
  root: { digest: string; bytes: Buffer },
): ImageToVerify {
  return { ref, served: source.served, rootDigest: root.digest, rootBytes: root.bytes };
}
