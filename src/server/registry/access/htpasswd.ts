import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import bcrypt from 'bcryptjs';
import { InvalidArgumentError } from '../../../errors/index.js';

/**
 * Users of an Apache htpasswd file, bcrypt entries only (`htpasswd -B`: `$2y$`, `$2a$`,
 * `$2b$`), as distribution accepts. MD5-crypt, SHA1 and plain entries are refused when
 * the file is loaded: they are weak, and a silently ignored line is a locked-out user.
 */
export class Htpasswd {
  private constructor(private readonly hashes: Map<string, string>) {}

  /** Read and check `path`. */
  static async load(path: string): Promise<Htpasswd> {
    const text = await readFile(path, 'utf8').catch((err: unknown) => {
      throw new InvalidArgumentError(
        `cannot read htpasswd file ${path}: ${(err as Error).message}`,
      );
    });
    return Htpasswd.parse(text, path);
  }

  /** Parse htpasswd text (`where` names it in errors). */
  static parse(text: string, where = 'htpasswd'): Htpasswd {
    const hashes = new Map<string, string>();
    for (const [i, raw] of text.split(/\r?\n/).entries()) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const colon = line.indexOf(':');
      const user = line.slice(0, colon);
      const hash = line.slice(colon + 1);
      if (colon <= 0 || !/^\$2[aby]\$\d\d\$.{53}$/.test(hash)) {
        throw new InvalidArgumentError(
          `${where} line ${i + 1}: only bcrypt entries are accepted (make them with htpasswd -B)`,
        );
      }
      hashes.set(user, hash);
    }
    return new Htpasswd(hashes);
  }

  /** True when `password` is `user`'s. Takes bcrypt's time, also for unknown users. */
  async verify(user: string, password: string): Promise<boolean> {
    const hash = this.hashes.get(user);
    // An unknown user costs a comparison too, so timing does not tell who exists.
    const ok = await bcrypt.compare(password, hash ?? (await unknownUserHash()));
    return ok && hash !== undefined;
  }
}

let decoy: Promise<string> | undefined;

/** A hash of a random password, compared for unknown users (made once, on first need). */
function unknownUserHash(): Promise<string> {
  decoy ??= bcrypt.hash(randomBytes(16).toString('hex'), 10);
  return decoy;
}
