import { createHash } from 'node:crypto';
import { digestOf } from '../digest/index.js';
import { PolicyRejectedError } from '../errors/index.js';
import { LayoutSource, OciLayout } from '../layout/index.js';
import { type Reference, referenceInMessage } from '../ref/index.js';
import type {
  ImageToVerify,
  ImageTrust,
  LocalImageToVerify,
  RegistryClient,
} from '../registry/index.js';
import { readKeyMaterial } from './key-material.js';
import { layoutAttachments } from './layout-attachments.js';
import { lookasideSignatureUrl, readLookasideSignatures } from './lookaside.js';
import {
  describeRequirement,
  type Policy,
  type PolicyRequirement,
  requirementsFor,
} from './policy.js';
import { dockerScopes, localScopes } from './policy-scopes.js';
import type { RegistriesD } from './registries-d.js';
import {
  readAttachedSignatures,
  readSigstoreSignatures,
  type SigstoreSignature,
  sigstoreAttachmentTag,
} from './sigstore-attachments.js';
import { checkSigstoreSignature, loadSigstoreKeys } from './sigstore-verify.js';
import { checkSimpleSignature, loadGpgKeys } from './simple-signing.js';

/** Why an image was accepted: the scope used and what each requirement found. */
export interface PolicyVerdict {
  /** `docker scope "host/repo"`, or `default`. */
  scope: string;
  /** One line per requirement: what it is and why it is met. */
  accepted: string[];
}

/**
 * policy.json enforced for images read from registries (the `docker` transport): the
 * requirements of the most specific scope of the image's reference must all be met, with
 * signatures read from where registries.d says they are for the endpoint that serves the
 * image: sigstore attachments, GPG simple signatures in its lookaside. Resolves to a {@link PolicyVerdict}; throws
 * {@link PolicyRejectedError} naming the requirement that failed.
 */
export class PolicyTrust implements ImageTrust {
  constructor(
    readonly policy: Policy,
    readonly registriesD: RegistriesD,
  ) {}

  /**
   * sha256 of the policy's requirements (every scope) and the bytes of every key they name,
   * so a changed policy or key file gives another fingerprint; read once.
   */
  fingerprint(): Promise<string> {
    this.fingerprinted ??= policyFingerprint(this.policy);
    return this.fingerprinted;
  }
  private fingerprinted: Promise<string> | undefined;

  async verify(
    image: ImageToVerify,
    client: RegistryClient,
    options: { signal?: AbortSignal } = {},
  ): Promise<PolicyVerdict> {
    const { scope, requirements } = requirementsFor(this.policy, 'docker', dockerScopes(image.ref));
    let signatures: Promise<SigstoreSignature[]> | undefined;
    const sigstoreSignatures = () => {
      signatures ??= this.registriesD.useSigstoreAttachments(image.served)
        ? readSigstoreSignatures(client, image.served, image.rootDigest, options)
        : Promise.resolve([]);
      return signatures;
    };
    let simple: Promise<Buffer[]> | undefined;
    const simpleSignatures = () => {
      simple ??= readLookasideSignatures(
        client,
        this.registriesD.lookaside(image.served),
        image.served,
        image.rootDigest,
        options,
      );
      return simple;
    };
    const accepted: string[] = [];
    for (const requirement of requirements) {
      const name = `${describeRequirement(requirement)} in ${scope} of ${this.policy.file}`;
      const reject = (reason: string): never => {
        throw new PolicyRejectedError(referenceInMessage(image.ref), name, reason);
      };
      const why = await this.check(
        requirement,
        image,
        { sigstore: sigstoreSignatures, simple: simpleSignatures },
        reject,
      );
      accepted.push(`${describeRequirement(requirement)}: ${why}`);
    }
    return { scope: `${scope} of ${this.policy.file}`, accepted };
  }

  /**
   * policy.json for an image in a local place, as containers/image checks `oci:`,
   * `oci-archive:` and `docker-archive:` sources: the transport's scopes (the path and
   * its parents; none for docker-archive), else its `""`, else `default`. An `oci:`
   * layout's sigstore signatures are its `sha256-<hex>.sig` attachments (where `copy`
   * puts them), checked against the layout's root; a layout has no docker reference, so
   * only `exactReference`/`exactRepository` identities accept, as in containers/image.
   * Archives hold no signatures, and no place GPG ones, so those requirements refuse.
   */
  async verifyLocal(image: LocalImageToVerify): Promise<PolicyVerdict> {
    const scopes = await localScopes(image.transport, image.path);
    const { scope, requirements } = requirementsFor(this.policy, image.transport, scopes);
    const accepted: string[] = [];
    let root: Promise<{ bytes: Buffer; signatures: SigstoreSignature[] }> | undefined;
    for (const requirement of requirements) {
      const described = describeRequirement(requirement);
      const reject = (reason: string): never => {
        throw new PolicyRejectedError(
          image.description,
          `${described} in ${scope} of ${this.policy.file}`,
          reason,
        );
      };
      if (requirement.type === 'reject') reject('the policy rejects every image here');
      if (requirement.type === 'insecureAcceptAnything') {
        accepted.push(`${described}: accepts anything`);
        continue;
      }
      if (requirement.type !== 'sigstoreSigned' || image.transport !== 'oci') {
        const what = image.transport === 'oci' ? 'no GPG signatures' : 'none';
        reject(`a signature is required, but ${image.transport}: places hold ${what}`);
      }
      root ??= layoutRootSignatures(image.path, image.tag, image.description);
      const { bytes, signatures } = await root.catch((err: Error) => reject(err.message));
      const why = await this.checkSigstore(
        requirement as Extract<PolicyRequirement, { type: 'sigstoreSigned' }>,
        signatures,
        { intended: undefined, rootBytes: bytes },
        reject,
        () => `no sigstore signature (the layout has no ${sigstoreAttachmentTag(digestOf(bytes))})`,
      );
      accepted.push(`${described}: ${why}`);
    }
    return { scope: `${scope} of ${this.policy.file}`, accepted };
  }

  /** One requirement: resolves to why it is met, or calls `reject`. */
  private async check(
    requirement: PolicyRequirement,
    image: ImageToVerify,
    signatures: {
      sigstore: () => Promise<SigstoreSignature[]>;
      simple: () => Promise<Buffer[]>;
    },
    reject: (reason: string) => never,
  ): Promise<string> {
    switch (requirement.type) {
      case 'insecureAcceptAnything':
        return 'accepts anything';
      case 'reject':
        return reject('the policy rejects every image here');
      case 'signedBy': {
        const keys = await loadGpgKeys(requirement).catch((err: Error) => reject(err.message));
        const sigs = await signatures.simple().catch((err: Error) => reject(err.message));
        if (sigs.length === 0) {
          const base = this.registriesD.lookaside(image.served);
          return reject(
            `no simple signature (none at ${lookasideSignatureUrl(base, image.served, image.rootDigest, 0)})`,
          );
        }
        const claimed = { intended: image.ref, rootBytes: image.rootBytes };
        return firstAccepted(
          sigs,
          (sig) => checkSimpleSignature(sig, keys, claimed, requirement.signedIdentity),
          reject,
        );
      }
      case 'sigstoreSigned':
        return this.checkSigstore(
          requirement,
          await signatures.sigstore(),
          { intended: image.ref, rootBytes: image.rootBytes },
          reject,
          () =>
            this.registriesD.useSigstoreAttachments(image.served)
              ? `no sigstore signature (${referenceInMessage(image.served, 'name')} has no tag ${sigstoreAttachmentTag(image.rootDigest)})`
              : `no sigstore signature: registries.d does not set use-sigstore-attachments for ${referenceInMessage(image.served, 'name')}`,
        );
    }
  }

  /** A `sigstoreSigned` requirement over the signatures found: why it is met, or `reject`. */
  private async checkSigstore(
    requirement: Extract<PolicyRequirement, { type: 'sigstoreSigned' }>,
    sigs: SigstoreSignature[],
    claimed: { intended: Reference | undefined; rootBytes: Buffer },
    reject: (reason: string) => never,
    none: () => string,
  ): Promise<string> {
    if (requirement.unsupported) {
      return reject(
        `"${requirement.unsupported}" (certificates, Rekor) is not supported by ocipeek`,
      );
    }
    const keys = await loadSigstoreKeys(requirement).catch((err: Error) => reject(err.message));
    if (sigs.length === 0) return reject(none());
    return firstAccepted(
      sigs,
      async (sig) => checkSigstoreSignature(sig, keys, claimed, requirement.signedIdentity),
      reject,
    );
  }
}

type SignatureCheck = { ok: true; identity: string; key: string } | { ok: false; reason: string };

/**
 * Why the first acceptable signature of `signatures` is accepted (as containers/image, one
 * is enough); else `reject` with every signature's reason.
 */
async function firstAccepted<S>(
  signatures: readonly S[],
  check: (signature: S) => Promise<SignatureCheck>,
  reject: (reason: string) => never,
): Promise<string> {
  const reasons: string[] = [];
  for (const sig of signatures) {
    const result = await check(sig);
    if (result.ok) return `signed by ${result.key} as ${result.identity}`;
    reasons.push(result.reason);
  }
  return reject(reasons.join('; '));
}

async function policyFingerprint(policy: Policy): Promise<string> {
  const byName = <T>([a]: [string, T], [b]: [string, T]) => (a < b ? -1 : a > b ? 1 : 0);
  const scopes = [...policy.transports]
    .sort(byName)
    .map(([transport, map]) => [transport, [...map].sort(byName)] as const);
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ default: policy.default, transports: scopes }));
  const requirements = [policy.default, ...scopes.flatMap(([, map]) => map.map(([, r]) => r))];
  for (const requirement of requirements.flat()) {
    if (requirement.type !== 'sigstoreSigned' && requirement.type !== 'signedBy') continue;
    // A key that cannot be read makes its requirement refuse: its error stands in for it.
    const keys = await readKeyMaterial(requirement).catch((err: Error) => err.message);
    if (typeof keys === 'string') hash.update(`\0${keys}`);
    else for (const { bytes } of keys) hash.update(`\0${bytes.length}\0`).update(bytes);
  }
  return `sha256:${hash.digest('hex')}`;
}

/** The root manifest of the image `tag` names in the layout at `path`, and its attachments. */
async function layoutRootSignatures(
  path: string,
  tag: string | undefined,
  description: string,
): Promise<{ bytes: Buffer; signatures: SigstoreSignature[] }> {
  const layout = await OciLayout.open(path);
  const root = await new LayoutSource(layout, tag, { description }).root();
  const signatures = await readAttachedSignatures(layoutAttachments(layout), root.digest);
  return { bytes: root.bytes, signatures };
}
