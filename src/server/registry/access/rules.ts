import picomatch from 'picomatch';
import { InvalidArgumentError } from '../../../errors/index.js';

/** What a request does to a repository. */
export type Action = 'pull' | 'push' | 'delete';

/** Who is asking: a user name, or nobody. */
export interface Principal {
  /** The authenticated user; undefined for an anonymous request. */
  user?: string;
}

/**
 * One rule of the config file's `access:` list. Names in `pull`, `push` and `delete` are
 * user names, `*` (any authenticated user) or `anonymous` (anyone at all).
 */
export interface AccessRule {
  /** Glob over repository names (`team/**`, `*`, `library/alpine`). */
  repository: string;
  pull?: string[];
  push?: string[];
  delete?: string[];
}

interface CompiledRule extends AccessRule {
  matches: (name: string) => boolean;
}

/**
 * Per-repository access: the first rule whose `repository` glob matches decides; a name
 * no rule matches falls to the default (`defaultAllow`). With no rules at all and no
 * authentication configured, everyone may do everything, as `docker-registry` does.
 */
export class AccessRules {
  private readonly rules: CompiledRule[];

  constructor(
    rules: AccessRule[],
    private readonly fallback: (principal: Principal, action: Action) => boolean,
  ) {
    this.rules = rules.map((rule, i) => {
      if (typeof rule.repository !== 'string' || rule.repository === '') {
        throw new InvalidArgumentError(`access rule ${i + 1} needs a repository pattern`);
      }
      for (const key of ['pull', 'push', 'delete'] as const) {
        const list = rule[key];
        if (
          list !== undefined &&
          (!Array.isArray(list) || list.some((u) => typeof u !== 'string'))
        ) {
          throw new InvalidArgumentError(`access rule ${i + 1}: ${key} must be a list of names`);
        }
      }
      return { ...rule, matches: picomatch(rule.repository, { dot: true }) };
    });
  }

  /** True when `principal` may `action` repository `name`. */
  allows(principal: Principal, name: string, action: Action): boolean {
    const rule = this.rules.find((r) => r.matches(name));
    if (!rule) return this.fallback(principal, action);
    const names = rule[action] ?? [];
    if (names.includes('anonymous')) return true;
    if (principal.user === undefined) return false;
    return names.includes('*') || names.includes(principal.user);
  }

  /** The actions of `wanted` that `principal` may do on `name`. */
  granted(principal: Principal, name: string, wanted: Action[]): Action[] {
    return wanted.filter((a) => this.allows(principal, name, a));
  }
}
