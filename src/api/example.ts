/**
 * `ocipeek/example`: the deterministic built-in example image.
 *
 * @packageDocumentation
 */

export type { ExamplePlatformImage } from '../example/example-image.js';
export {
  EXAMPLE_REPOSITORY,
  EXAMPLE_TAGS,
  type ExampleLayoutResult,
  writeExampleLayout,
} from '../example/index.js';
