export {
  type AuthFileContents,
  type AuthFileEntry,
  type AuthFileLocationOptions,
  authFileSearchPath,
  authFileWritePath,
  entryCredentials,
  findAuthEntry,
  findCredHelper,
  readAuthFile,
} from './auth-file.js';
export {
  Authenticator,
  type AuthenticatorOptions,
  type AuthorizeOptions,
} from './authenticator.js';
export { type AuthChallenge, parseWwwAuthenticate } from './challenge.js';
export { type CredentialHelperOptions, runCredentialHelper } from './credential-helper.js';
export {
  basicAuthorization,
  type Credentials,
  decodeBasicAuth,
  encodeBasicAuth,
  hasCredentials,
} from './credentials.js';
export {
  type CredentialSource,
  Keychain,
  type KeychainOptions,
  type KeychainResolveOptions,
} from './keychain.js';
export { type LoginOptions, type LogoutOptions, login, logout, logoutAll } from './login.js';
export { isSecretHeader, REDACTED, redactHeaders, redactUrl } from './redact.js';
export {
  authKeyCandidates,
  DOCKER_HUB_KEY,
  DOCKER_HUB_SERVER_URL,
  helperServerUrl,
  isDockerHub,
  normalizeAuthKey,
  normalizeRegistry,
} from './registry-key.js';
export { registryScope, repositoryScope, splitScopes } from './scope.js';
export { type CachedAuth, TokenCache } from './token-cache.js';
export {
  type BearerToken,
  type BearerTokenRequest,
  DEFAULT_TOKEN_LIFETIME_S,
  globalFetchTokenFetcher,
  requestBearerToken,
  type TokenFetcher,
  type TokenRequestInit,
  type TokenResponse,
} from './token-request.js';
