export {
  createDigester,
  type DigestAlgorithm,
  digestOf,
  hasDigestShape,
  isDigest,
  isDigestReference,
  type ParsedDigest,
  parseDigest,
} from './digest.js';
export { type DigestTag, parseDigestTag } from './digest-tag.js';
export { VerifyingStream, type VerifyOptions } from './verifying-stream.js';
