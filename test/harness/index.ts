/**
 * The integration test harness: real registries, token server, fixtures and a fault proxy
 * on loopback. Import from here in `test/integration/*.test.ts`.
 */
export * from './certs.js';
export * from './fault-proxy.js';
export * from './fixtures.js';
export * from './gnupg.js';
export * from './layers.js';
export * from './oci-layout-writer.js';
export * from './ports.js';
export * from './push-layout.js';
export * from './redirect-mirror.js';
export * from './registry-http.js';
export * from './registry-process.js';
export * from './skopeo.js';
export * from './stop-child.js';
export * from './temp-dir.js';
export * from './token-server.js';
export * from './upstream.js';
