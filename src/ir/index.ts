export * from './islet-image.js';
export * from './islet-keys.js';
export * from './islet-signature.js';
export * from './islet-target.js';
export * from './islet-trust.js';
