import { OcipeekError } from './ocipeek-error.js';

/** policy.json refuses an image; the message names the requirement that failed and why. */
export class PolicyRejectedError extends OcipeekError {
  static readonly code = 'ERR_POLICY_REJECTED';
  constructor(
    /** The image as asked for. */
    readonly image: string,
    /** The requirement that failed (`sigstoreSigned (keyPath /k.pub)`), with its scope. */
    readonly requirement: string,
    /** Why it failed. */
    readonly reason: string,
  ) {
    super(PolicyRejectedError.code, `${image} rejected by policy: ${requirement}: ${reason}`);
  }
}
