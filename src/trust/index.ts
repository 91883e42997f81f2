export { readGpgHomeKey } from './gpg-home.js';
export {
  checkSignaturesFit,
  type ImageSignatures,
  type RegistrySignatures,
  readImageSignatures,
  type SignatureDestination,
  type SignatureSource,
  signatureCount,
  writeImageSignatures,
} from './image-signatures.js';
export { layoutAttachments, withLayoutAttachments } from './layout-attachments.js';
export {
  lookasideSignatureUrl,
  readLookasideSignatures,
  writeLookasideSignature,
} from './lookaside.js';
export {
  acceptsAnything,
  describeRequirement,
  type KeySource,
  type LoadPolicyOptions,
  loadPolicy,
  type Policy,
  type PolicyRequirement,
  parsePolicy,
  requirementsFor,
} from './policy.js';
export { dockerScopes, localScopes } from './policy-scopes.js';
export { PolicyTrust, type PolicyVerdict } from './policy-trust.js';
export { loadRegistriesD, RegistriesD, type SignatureStorage } from './registries-d.js';
export {
  type SignImageOptions,
  type SignImageResult,
  type SignImageWithGpgOptions,
  type SignImageWithGpgResult,
  signImage,
  signImageWithGpg,
} from './sign-image.js';
export {
  makeSigstorePayload,
  makeSimpleSigningPayload,
  parseSigstorePayload,
  parseSimpleSigningPayload,
  SIGSTORE_SIGNATURE_ANNOTATION,
  SIGSTORE_SIGNATURE_MEDIA_TYPE,
  type SigstoreClaims,
} from './signature-payload.js';
export { describeIdentity, identityMatches, type SignedIdentity } from './signed-identity.js';
export {
  type AttachmentRepository,
  attachSignatures,
  readAttachedSignatures,
  readSigstoreSignatures,
  registryAttachments,
  type SigstoreSignature,
  sigstoreAttachmentTag,
  writeSigstoreSignature,
} from './sigstore-attachments.js';
export {
  encryptSigstorePrivateKey,
  generateSigstoreKeyPair,
  publicKeyPem,
  readSigstorePrivateKey,
} from './sigstore-key.js';
export { checkSigstoreSignature, loadSigstoreKeys, type TrustedKey } from './sigstore-verify.js';
export {
  checkSimpleSignature,
  gpgFingerprint,
  loadGpgKeys,
  makeSimpleSignature,
  readGpgPrivateKey,
  type TrustedGpgKey,
} from './simple-signing.js';
