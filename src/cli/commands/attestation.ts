import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors/index.js';
import { inspectCcaToken } from '../../ratls/cca-token.js';
import { printJson, printLines } from '../format.js';
import { globalsOf } from '../global-options.js';

/** `ocipeek attestation inspect FILE`: what a CCA token says, and whether it holds together. */
export function registerAttestation(program: Command): void {
  const attestation = program.command('attestation').description('Arm CCA attestation tokens');
  attestation
    .command('inspect')
    .description('decode a CCA token (CBOR): realm claims, signature and platform binding')
    .argument('<file>', 'the token, as --token takes it')
    .option('--json', 'print JSON')
    .action(async (file: string, opts: { json?: boolean }, cmd: Command) => {
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (err) {
        throw new InvalidArgumentError(`cannot read token file ${file}: ${(err as Error).message}`);
      }
      const report = inspectCcaToken(bytes);
      const { realm } = report;
      const hex = (b: Buffer) => b.toString('hex');
      const view = {
        realm: {
          challenge: hex(realm.challenge),
          personalization: hex(realm.personalization),
          hashAlgorithm: realm.hashAlgorithm,
          rim: hex(realm.rim),
          rems: realm.rems.map(hex),
          publicKey: hex(realm.publicKey),
          publicKeyHashAlgorithm: realm.publicKeyHashAlgorithm,
          profile: realm.profile,
        },
        realmSignature: report.realmSignatureValid ? 'valid' : 'INVALID',
        platformBinding: report.bindingValid ? 'valid' : 'INVALID',
      };
      if (opts.json || globalsOf(cmd).json) {
        printJson(view);
        return;
      }
      printLines(
        `realm signature:   ${view.realmSignature}`,
        `platform binding:  ${view.platformBinding}`,
        `challenge:         ${view.realm.challenge}`,
        `personalization:   ${view.realm.personalization}`,
        `hash algorithm:    ${view.realm.hashAlgorithm}`,
        `RIM:               ${view.realm.rim}`,
        ...view.realm.rems.map((r, i) => `REM${i}:              ${r}`),
        `realm public key:  ${view.realm.publicKey}`,
        `key hash algorithm: ${view.realm.publicKeyHashAlgorithm}`,
        ...(view.realm.profile ? [`profile:           ${view.realm.profile}`] : []),
      );
    });
}
