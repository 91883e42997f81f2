/**
 * `ocipeek/trust`: the containers configuration users already have. registries.conf
 * (files, drop-ins, prefixes, mirrors, blocked, insecure, short names), policy.json and
 * registries.d, sigstore signatures (reading, verifying, signing) and encrypted sigstore
 * private keys. Give a `RegistryClient` `registries` and `trust` to obey them.
 *
 * @packageDocumentation
 */

export {
  isShortName,
  type LoadRegistriesConfOptions,
  loadRegistriesConf,
  prefixMatchLength,
  RegistriesConf,
  registriesConfSources,
  resolveShortName,
  type ShortNameRationale,
  type ShortNameResolution,
} from '../containers-conf/index.js';
export {
  acceptsAnything,
  checkSigstoreSignature,
  describeIdentity,
  describeRequirement,
  dockerScopes,
  encryptSigstorePrivateKey,
  generateSigstoreKeyPair,
  identityMatches,
  type KeySource,
  type LoadPolicyOptions,
  loadPolicy,
  loadRegistriesD,
  loadSigstoreKeys,
  makeSigstorePayload,
  type Policy,
  type PolicyRequirement,
  PolicyTrust,
  type PolicyVerdict,
  parsePolicy,
  parseSigstorePayload,
  publicKeyPem,
  RegistriesD,
  readSigstorePrivateKey,
  readSigstoreSignatures,
  requirementsFor,
  SIGSTORE_SIGNATURE_ANNOTATION,
  SIGSTORE_SIGNATURE_MEDIA_TYPE,
  type SignatureStorage,
  type SignedIdentity,
  type SignImageOptions,
  type SignImageResult,
  type SigstoreClaims,
  type SigstoreSignature,
  signImage,
  sigstoreAttachmentTag,
  type TrustedKey,
  writeSigstoreSignature,
} from '../trust/index.js';
