export {
  DOCKER_HUB,
  DOCKER_HUB_API_HOST,
  type ParseReferenceOptions,
  parseReference,
  parseRepository,
  Reference,
  registryApiHost,
} from './reference.js';
