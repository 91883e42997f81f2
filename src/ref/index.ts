export {
  DOCKER_HUB,
  DOCKER_HUB_API_HOST,
  DOMAIN_COMPONENT_PATTERN,
  isTag,
  PATH_COMPONENT_PATTERN,
  type ParseReferenceOptions,
  parseReference,
  parseRepository,
  Reference,
  registryApiHost,
} from './reference.js';
