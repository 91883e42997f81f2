export {
  DOCKER_HUB,
  DOCKER_HUB_API_HOST,
  isTag,
  PATH_COMPONENT_PATTERN,
  type ParseReferenceOptions,
  parseReference,
  parseRepository,
  Reference,
  registryApiHost,
} from './reference.js';
export {
  DOMAIN_COMPONENT_PATTERN,
  DOMAIN_NAME_PATTERN,
  IPV6_ADDRESS_PATTERN,
  isPortInRange,
  isRegistryHost,
  MAX_PORT,
  namesRegistry,
  PORT_PATTERN,
  registryHostProblem,
} from './registry-host.js';
