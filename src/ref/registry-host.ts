/**
 * The one rule for a registry host (`host[:port]`) wherever ocipeek checks one: the registry
 * part of a reference, `ocipeek serve --upstream`, registries.conf's
 * `unqualified-search-registries`, and the `host_port` first component of the registry
 * server's repository names. It is distribution/reference's `domainAndPort` grammar:
 *
 * ```
 * domainAndPort       := host (":" port)?
 * host                := domainName | "[" [a-fA-F0-9:]+ "]"
 * domainName          := domainNameComponent ("." domainNameComponent)*
 * domainNameComponent := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
 * port                := [0-9]+
 * ```
 *
 * Case is kept (`A.Example.COM` is valid and stays as written); labels have no length
 * limit here (a reference's whole name is limited to 255 characters elsewhere); an IPv6
 * address has no dots (IPv4-mapped forms and zone identifiers are left out on purpose by
 * the grammar). One deliberate difference: a port above 65535 is refused here, where the
 * grammar takes any digits, because no connection can be made to it and saying so when
 * the name is read beats a connect error later.
 *
 * Callers that must accept something else build their variant from the patterns here and
 * say why where they do (registries.conf's `*.example.com` prefixes, the lowercase
 * `host_port` repository component).
 *
 * **Case.** A host is a DNS name, where `Reg.Example` and `reg.example` are one server. So
 * ocipeek keeps a host as it was written wherever it shows or stores one (a reference's
 * registry, store names, messages, an upstream given as a URL or bare), and compares two
 * hosts by {@link registryHostKey} wherever it asks "is this the same registry": credentials
 * (`auths` keys, `credHelpers`), Docker Hub's hosts ({@link isDockerHubHost}), the
 * pull-through cache's upstreams, registries.conf's prefixes, `insecure` hosts and
 * mirrors, policy.json's `docker` scopes, blob mounts. docker and containers/image compare these strings exactly; the differences
 * that follow (a `Reg.Example/app` pull finds `reg.example`'s credentials and is
 * `blocked` by a `reg.example` prefix, where podman's would not) are deliberate: the same
 * server gets the same credentials and the same rules, and a rule such as `blocked` cannot
 * be stepped round by writing a host in another case. One place keeps docker's exact
 * rule: what a reference's *name* is (`index.docker.io/x` becomes `docker.io/x`, as
 * distribution/reference folds it; `INDEX.DOCKER.IO/x` stays as written), since the name
 * is what docker and signatures show and match (a signature's claimed identity is
 * compared with the image's name exactly, as containers/image compares it).
 */

/** A host name component, unanchored, for expressions built from it. */
export const DOMAIN_COMPONENT_PATTERN = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
/** A host name (`registry.example.com`, `localhost`, `127.0.0.1`), unanchored. */
export const DOMAIN_NAME_PATTERN = `${DOMAIN_COMPONENT_PATTERN}(?:\\.${DOMAIN_COMPONENT_PATTERN})*`;
/** An IPv6 address in brackets (`[::1]`), unanchored. */
export const IPV6_ADDRESS_PATTERN = '\\[[a-fA-F0-9:]+\\]';
/** A port's digits, unanchored; {@link MAX_PORT} is checked apart. */
export const PORT_PATTERN = '[0-9]+';
/** The highest port a registry host may name. */
export const MAX_PORT = 65535;

const DOMAIN_NAME = new RegExp(`^${DOMAIN_NAME_PATTERN}$`);
const IPV6_ADDRESS = new RegExp(`^${IPV6_ADDRESS_PATTERN}$`);
const PORT = new RegExp(`^${PORT_PATTERN}$`);

/** True when `port` (digits) names a port a connection can be made to the host on. */
export function isPortInRange(port: string): boolean {
  return Number(port) <= MAX_PORT;
}

/**
 * Why `host` is not a registry host (`host[:port]`, see above), or `undefined` when it is.
 * The reason names the part at fault, for error messages.
 */
export function registryHostProblem(host: string): string | undefined {
  let name = host;
  let port: string | undefined;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    if (end < 0) return `bad IPv6 registry "${host}"`;
    name = host.slice(0, end + 1);
    const rest = host.slice(end + 1);
    if (rest !== '' && !rest.startsWith(':')) return `bad registry port in "${host}"`;
    if (rest !== '') port = rest.slice(1);
    if (!IPV6_ADDRESS.test(name)) return `bad IPv6 registry "${host}"`;
  } else {
    const colon = host.lastIndexOf(':');
    if (colon >= 0) {
      name = host.slice(0, colon);
      port = host.slice(colon + 1);
    }
    if (!DOMAIN_NAME.test(name)) return `invalid registry host "${name}"`;
  }
  if (port !== undefined && (!PORT.test(port) || !isPortInRange(port))) {
    return `invalid registry port "${port}"`;
  }
  return undefined;
}

/** True when `host` is a registry host: a host name or bracketed IPv6, optional port. */
export function isRegistryHost(host: string): boolean {
  return registryHostProblem(host) === undefined;
}

/**
 * Whether a name's first `/`-separated component is its registry rather than a repository
 * path component: it has a `.` or a `:`, is `localhost`, or has an upper-case letter
 * (distribution's splitDomain). A one-component name has no registry. Whether the component
 * is then a valid host is {@link registryHostProblem}'s question.
 */
export function namesRegistry(component: string): boolean {
  return (
    component.includes('.') ||
    component.includes(':') ||
    component === 'localhost' ||
    component !== component.toLowerCase()
  );
}

/**
 * The form two registry hosts are compared in (see "Case" above): ASCII lower case, port
 * kept. `Reg.Example:5000` and `reg.example:5000` have one key; `reg.example` and
 * `reg.example:443` do not (a port is compared as written, as docker compares it).
 */
export function registryHostKey(host: string): string {
  // ASCII only, so the key is as long as the host: registries.conf matching slices the
  // written reference by the length matched in keys. A valid host is ASCII anyway.
  return host.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
}

/** True when `a` and `b` name one registry host (compared by {@link registryHostKey}). */
export function sameRegistryHost(a: string, b: string): boolean {
  return registryHostKey(a) === registryHostKey(b);
}

/**
 * `name` (`host[:port][/path…]`, a registries.conf prefix or a policy.json scope) with its
 * host part, before the first `/`, in its comparison form ({@link registryHostKey}); the
 * rest as written. As long as `name`.
 */
export function hostKeyedName(name: string): string {
  const slash = name.indexOf('/');
  return slash < 0
    ? registryHostKey(name)
    : registryHostKey(name.slice(0, slash)) + name.slice(slash);
}
