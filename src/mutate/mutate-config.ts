import type { ContainerConfig, ImageConfig } from '../media/index.js';

/** Changes to an image's runtime config, as `crane mutate` takes them. */
export interface ConfigChanges {
  /** Labels to set (an empty value keeps the label with an empty value). */
  labels?: Record<string, string>;
  /** `KEY=VALUE` entries: a key already there is replaced, others appended. */
  env?: string[];
  /** Replaces the entrypoint (`[]` clears it). */
  entrypoint?: string[];
  /** Replaces the command (`[]` clears it). */
  cmd?: string[];
  user?: string;
  workingDir?: string;
  /** Ports to expose, `80/tcp` or `53/udp` (a bare number is tcp). */
  exposedPorts?: string[];
}

/**
 * A new config with `changes` applied; everything else, unknown fields included, is kept.
 * The history is not touched: a config change adds no layer.
 */
export function mutateConfig(config: ImageConfig, changes: ConfigChanges): ImageConfig {
  const runtime: ContainerConfig = { ...config.config };
  if (changes.labels) runtime.Labels = { ...runtime.Labels, ...changes.labels };
  if (changes.env) {
    const env = [...(runtime.Env ?? [])];
    for (const entry of changes.env) {
      const key = entry.split('=')[0];
      const at = env.findIndex((e) => e.split('=')[0] === key);
      if (at >= 0) env[at] = entry;
      else env.push(entry);
    }
    runtime.Env = env;
  }
  if (changes.entrypoint)
    runtime.Entrypoint = changes.entrypoint.length ? changes.entrypoint : null;
  if (changes.cmd) runtime.Cmd = changes.cmd.length ? changes.cmd : null;
  if (changes.user !== undefined) runtime.User = changes.user;
  if (changes.workingDir !== undefined) runtime.WorkingDir = changes.workingDir;
  if (changes.exposedPorts) {
    const ports = { ...runtime.ExposedPorts };
    for (const p of changes.exposedPorts) ports[p.includes('/') ? p : `${p}/tcp`] = {};
    runtime.ExposedPorts = ports;
  }
  return { ...config, config: runtime };
}
