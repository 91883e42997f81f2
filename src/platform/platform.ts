import { InvalidArgumentError } from '../errors/index.js';
import type { Descriptor, Platform } from '../media/index.js';

const ARCH_ALIASES: Record<string, string> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  x64: 'amd64',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
  i386: '386',
  i686: '386',
  ia32: '386',
};

const OS_ALIASES: Record<string, string> = { macos: 'darwin', win32: 'windows' };

/**
 * Normalise a platform the way containerd does: architecture aliases (x86_64 → amd64,
 * aarch64 → arm64), arm64's default variant v8 dropped, arm's default variant v7 filled in.
 */
export function normalizePlatform(p: Platform): Platform {
  const os = (OS_ALIASES[p.os.toLowerCase()] ?? p.os).toLowerCase();
  let architecture = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase();
  if (architecture === 'armhf') variant ??= 'v7';
  if (architecture === 'armel') variant ??= 'v6';
  architecture = ARCH_ALIASES[architecture] ?? architecture;
  if (architecture === 'arm64' && (variant === 'v8' || variant === '8')) variant = undefined;
  if (architecture === 'arm') {
    if (variant === undefined || variant === '') variant = 'v7';
    else if (/^\d$/.test(variant)) variant = `v${variant}`;
  }
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  const out: Platform = { os, architecture };
  if (variant) out.variant = variant;
  if (p['os.version']) out['os.version'] = p['os.version'];
  return out;
}

/** Parse `os/arch[/variant]` (e.g. `linux/arm64`, `linux/arm/v6`), normalised. */
export function parsePlatform(spec: string): Platform {
  const parts = spec.trim().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((x) => x === '')) {
    throw new InvalidArgumentError(`invalid platform "${spec}": expected os/arch[/variant]`);
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return normalizePlatform(variant ? { os, architecture, variant } : { os, architecture });
}

/** `os/arch[/variant]`. */
export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** The platform of the machine running this code, normalised. */
export function hostPlatform(): Platform {
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  const arch = process.arch === 'ia32' ? '386' : process.arch === 'x64' ? 'amd64' : process.arch;
  return normalizePlatform({ os, architecture: arch });
}

/** True when both platforms are the same after normalisation (variant included). */
export function platformEquals(a: Platform, b: Platform): boolean {
  const x = normalizePlatform(a);
  const y = normalizePlatform(b);
  return x.os === y.os && x.architecture === y.architecture && x.variant === y.variant;
}

/** True for index entries that are attestations or other non-runnable `unknown/unknown`. */
export function isAttestationEntry(d: Descriptor): boolean {
  return (
    d.platform?.os === 'unknown' ||
    d.platform?.architecture === 'unknown' ||
    d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest'
  );
}

/** The runnable platforms an index lists, in index order (attestations left out). */
export function listPlatforms(manifests: Descriptor[]): Platform[] {
  return manifests.filter((d) => d.platform && !isAttestationEntry(d)).map((d) => d.platform!);
}

/**
 * Pick the index entry for `wanted`. An exact variant match wins; for arm, a lower
 * variant runs on a higher one (v6 on v7), so the best compatible one is chosen.
 * Attestation entries are never chosen. Returns undefined when nothing fits.
 */
export function choosePlatform(
  manifests: Descriptor[],
  wanted: Platform = hostPlatform(),
): Descriptor | undefined {
  const want = normalizePlatform(wanted);
  let best: Descriptor | undefined;
  let bestScore = -1;
  for (const d of manifests) {
    if (!d.platform || isAttestationEntry(d)) continue;
    const have = normalizePlatform(d.platform);
    if (have.os !== want.os || have.architecture !== want.architecture) continue;
    let score: number;
    if (have.variant === want.variant) score = 100;
    else if (want.variant === undefined) score = 50 - variantRank(have.variant);
    else if (have.variant === undefined) score = 40;
    else if (variantRank(have.variant) <= variantRank(want.variant)) {
      score = 10 + variantRank(have.variant);
    } else continue;
    if (score > bestScore) {
      best = d;
      bestScore = score;
    }
  }
  return best;
}

function variantRank(variant: string | undefined): number {
  const m = variant ? /^v(\d+)/.exec(variant) : null;
  return m ? Number(m[1]) : 0;
}
