export {
  EXAMPLE_REPOSITORY,
  EXAMPLE_TAGS,
  type ExampleLayoutResult,
  type ExamplePlatformImage,
  writeExampleLayout,
} from './example-image.js';
