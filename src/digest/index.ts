export {
  createDigester,
  type DigestAlgorithm,
  digestOf,
  isDigest,
  type ParsedDigest,
  parseDigest,
} from './digest.js';
export { VerifyingStream, type VerifyOptions } from './verifying-stream.js';
