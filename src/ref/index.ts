export {
  DOCKER_HUB,
  DOCKER_HUB_API_HOST,
  DOCKER_HUB_LEGACY_HOST,
  isDockerHubHost,
  isTag,
  PATH_COMPONENT_PATTERN,
  type ParseReferenceOptions,
  parseReference,
  parseRepository,
  Reference,
  registryApiHost,
} from './reference.js';
export { referenceInMessage } from './reference-in-message.js';
export {
  DOMAIN_COMPONENT_PATTERN,
  DOMAIN_NAME_PATTERN,
  hostKeyedName,
  IPV6_ADDRESS_PATTERN,
  isPortInRange,
  isRegistryHost,
  MAX_PORT,
  namesRegistry,
  PORT_PATTERN,
  registryHostKey,
  registryHostProblem,
  sameRegistryHost,
} from './registry-host.js';
