export * from './islet-image.js';
export * from './islet-target.js';
