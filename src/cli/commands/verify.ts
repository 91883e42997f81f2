import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors/index.js';
import { resolvePlaceReference } from '../../places/index.js';
import { RegistrySource } from '../../registry/index.js';
import { parsePlace } from '../../source/index.js';
import { loadPolicy, PolicyTrust, type PolicyVerdict, RegistriesD } from '../../trust/index.js';
import { contextFor } from '../context.js';
import { printJson, printLines } from '../format.js';

/** `ocipeek verify REF`: check an image in a registry against policy.json, say what accepted it. */
export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description(
      'check an image against the trust policy (policy.json) and say which requirement accepted it',
    )
    .argument('<image>', 'image reference (a registry)')
    .option('--json', 'print JSON')
    .action(async (refArg: string, opts: { json?: boolean }, cmd: Command) => {
      const ctx = await contextFor(cmd);
      const place = parsePlace(refArg);
      if (place.kind !== 'registry') {
        throw new InvalidArgumentError('verify checks images in registries (REF or docker://REF)');
      }
      const { client, signal } = ctx;
      const ref = await resolvePlaceReference(place, client, { signal });
      const source = new RegistrySource(ref, { client });
      let verdict: PolicyVerdict;
      let digest: string;
      if (client.trust) {
        verdict = (await source.verdict({ signal })) as PolicyVerdict;
        digest = (await source.root({ signal })).digest;
      } else {
        // The policy accepts anything (or --insecure-policy): say so from the file itself.
        const policy = await loadPolicy({ path: ctx.options.signaturePolicy });
        if (!policy)
          throw new InvalidArgumentError('no policy.json found (give one with --signature-policy)');
        const root = await source.root({ signal });
        digest = root.digest;
        const image = {
          ref,
          served: source.served,
          rootDigest: root.digest,
          rootBytes: root.bytes,
        };
        verdict = await new PolicyTrust(policy, RegistriesD.empty()).verify(image, client, {
          signal,
        });
      }
      if (opts.json || ctx.options.json) {
        printJson({
          reference: ref.toString(),
          digest,
          scope: verdict.scope,
          accepted: verdict.accepted,
        });
        return;
      }
      printLines(
        `${ref}@${digest}: accepted by ${verdict.scope}`,
        ...verdict.accepted.map((line) => `  ${line}`),
      );
    });
}
