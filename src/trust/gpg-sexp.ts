import { createDecipheriv, createHash } from 'node:crypto';
import { InvalidArgumentError } from '../errors/index.js';

/*
 * gpg-agent's secret key files (`private-keys-v1.d/<keygrip>.key`), read without gpg: the
 * product may start no helper process. GnuPG 2.2.13+ writes the "extended" name-value
 * format (`Key: (private-key (ecc ...))`, the key as an advanced S-expression); older
 * files are one canonical S-expression. A protected key is decrypted as gpg-agent does
 * for `openpgp-s2k3-ocb-aes` (the only protection GnuPG has written since 2.2.?; older
 * CBC files are refused with a message): AES-128-OCB, the key from the passphrase by
 * OpenPGP's iterated and salted S2K with SHA-1, the algorithm list around the protected
 * part as associated data.
 */

/** An S-expression: an atom (bytes) or a list. */
export type Sexp = Buffer | Sexp[];

const TOKEN = /[A-Za-z0-9\-./_:*+=]/;

/** Parse one S-expression, canonical (`(3:ecc...)`) or advanced (`(ecc (q #40..#))`). */
export function parseSexp(input: Buffer): Sexp {
  let i = 0;
  const fail = (what: string): never => {
    throw new InvalidArgumentError(`invalid S-expression at byte ${i}: ${what}`);
  };
  const skipSpace = () => {
    while (i < input.length && /\s/.test(String.fromCharCode(input[i]!))) i++;
  };
  const value = (): Sexp => {
    skipSpace();
    const c = String.fromCharCode(input[i] ?? 0);
    if (c === '(') {
      i++;
      const list: Sexp[] = [];
      for (;;) {
        skipSpace();
        if (i >= input.length) fail('unclosed list');
        if (input[i] === 0x29) {
          i++;
          return list;
        }
        list.push(value());
      }
    }
    if (/[0-9]/.test(c)) {
      // A length prefix (`5:curve`) or a token that starts with a digit.
      let j = i;
      while (/[0-9]/.test(String.fromCharCode(input[j] ?? 0))) j++;
      if (input[j] === 0x3a) {
        const n = Number(input.subarray(i, j).toString('latin1'));
        const start = j + 1;
        if (start + n > input.length) fail('atom past the end');
        i = start + n;
        return Buffer.from(input.subarray(start, start + n));
      }
    }
    if (c === '#') {
      const end = input.indexOf(0x23, i + 1);
      if (end < 0) fail('unclosed #hex#');
      const hex = input
        .subarray(i + 1, end)
        .toString('latin1')
        .replace(/\s/g, '');
      i = end + 1;
      return Buffer.from(hex, 'hex');
    }
    if (c === '|') {
      const end = input.indexOf(0x7c, i + 1);
      if (end < 0) fail('unclosed |base64|');
      const b64 = input.subarray(i + 1, end).toString('latin1');
      i = end + 1;
      return Buffer.from(b64, 'base64');
    }
    if (c === '"') return quoted();
    const start = i;
    while (i < input.length && TOKEN.test(String.fromCharCode(input[i]!))) i++;
    if (i === start) fail(`unexpected ${JSON.stringify(c)}`);
    return Buffer.from(input.subarray(start, i));
  };
  /*
   * A quoted string as libgcrypt prints one: raw bytes (0xa1-0xff included, so a random
   * salt or nonce can come out as a string), C escapes for the others, and a
   * backslash-newline that continues the string on the next line.
   */
  const ESCAPES: Record<string, number> = { b: 8, t: 9, v: 11, n: 10, f: 12, r: 13 };
  const quoted = (): Buffer => {
    const out: number[] = [];
    for (i++; i < input.length && input[i] !== 0x22; i++) {
      if (input[i] !== 0x5c) {
        out.push(input[i]!);
        continue;
      }
      const e = String.fromCharCode(input[++i] ?? 0);
      if (e in ESCAPES) out.push(ESCAPES[e]!);
      else if (e === 'x') {
        const hex = input.subarray(i + 1, i + 3).toString('latin1');
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) fail('bad \\x escape');
        out.push(Number.parseInt(hex, 16));
        i += 2;
      } else if (/[0-7]/.test(e)) {
        const oct = input.subarray(i, i + 3).toString('latin1');
        if (!/^[0-7]{3}$/.test(oct)) fail('bad octal escape');
        out.push(Number.parseInt(oct, 8));
        i += 2;
      } else if (e === '\r' || e === '\n') {
        // A line continuation: \<newline>, \<cr>, \<cr><lf> or \<lf><cr>.
        const next = input[i + 1];
        if ((next === 0x0a || next === 0x0d) && next !== input[i]) i++;
      } else out.push(input[i]!); // \" \' \\ and any other character as itself
    }
    if (i >= input.length) fail('unclosed string');
    i++;
    return Buffer.from(out);
  };
  return value();
}

/** The canonical encoding of `sexp`: what gpg-agent hashes and authenticates. */
export function canonicalSexp(sexp: Sexp): Buffer {
  if (Buffer.isBuffer(sexp)) return Buffer.concat([Buffer.from(`${sexp.length}:`), sexp]);
  return Buffer.concat([Buffer.from('('), ...sexp.map(canonicalSexp), Buffer.from(')')]);
}

const nameOf = (sexp: Sexp | undefined) =>
  Buffer.isBuffer(sexp) ? sexp.toString('latin1') : undefined;

/** The first sublist of `list` named `name` (`(q #..#)` → its items after the name). */
export function field(list: Sexp, name: string): Sexp[] | undefined {
  if (Buffer.isBuffer(list)) return undefined;
  const found = list.find((item) => !Buffer.isBuffer(item) && nameOf(item[0]) === name);
  return found ? (found as Sexp[]).slice(1) : undefined;
}

/** The S-expression of a key file: its `Key:` value (extended format), or the whole file. */
export function keyFileSexp(bytes: Buffer): Sexp {
  if (bytes[0] === 0x28) return parseSexp(bytes);
  // latin1 keeps every byte: a string atom can hold raw bytes that are not UTF-8.
  const lines = bytes.toString('latin1').split('\n');
  const at = lines.findIndex((l) => /^key:/i.test(l));
  if (at < 0) throw new InvalidArgumentError('no Key: field');
  const value = [lines[at]!.slice(4)];
  for (const line of lines.slice(at + 1)) {
    if (!/^\s/.test(line)) break; // continuation lines start with white space
    value.push(line);
  }
  return parseSexp(Buffer.from(value.join('\n'), 'latin1'));
}

/** OpenPGP's iterated and salted S2K with SHA-1, `length` bytes (at most 20). */
function s2kSha1(passphrase: string, salt: Buffer, count: number, length: number): Buffer {
  const data = Buffer.concat([salt, Buffer.from(passphrase, 'utf8')]);
  const hash = createHash('sha1');
  let left = Math.max(count, data.length);
  while (left > 0) {
    const n = Math.min(left, data.length);
    hash.update(n === data.length ? data : data.subarray(0, n));
    left -= n;
  }
  return hash.digest().subarray(0, length);
}

/**
 * The algorithm list (`(ecc (curve Ed25519) (q ..) (d ..))`) of a key file's S-expression
 * with its secret parameters in clear: as it is for `private-key`, decrypted with
 * `passphrase` for `protected-private-key`. Throws an `InvalidArgumentError` for a wrong
 * passphrase, a key held on a card (`shadowed-private-key`), or another protection.
 */
export function unprotectKey(sexp: Sexp, passphrase: string | undefined): Sexp[] {
  if (Buffer.isBuffer(sexp) || sexp[1] === undefined || Buffer.isBuffer(sexp[1])) {
    throw new InvalidArgumentError('not a gpg-agent key');
  }
  const kind = nameOf(sexp[0]);
  const algo = sexp[1] as Sexp[];
  if (kind === 'private-key') return algo;
  if (kind === 'shadowed-private-key') {
    throw new InvalidArgumentError('the secret key is on a smartcard, which ocipeek cannot use');
  }
  if (kind !== 'protected-private-key') throw new InvalidArgumentError(`unknown key type ${kind}`);
  const protectedAt = algo.findIndex(
    (item) => !Buffer.isBuffer(item) && nameOf(item[0]) === 'protected',
  );
  const prot = algo[protectedAt] as Sexp[] | undefined;
  if (!prot || nameOf(prot[1]) !== 'openpgp-s2k3-ocb-aes') {
    throw new InvalidArgumentError(
      `the secret key's protection ${prot ? nameOf(prot[1]) : '(none)'} is not supported (gpg-agent's openpgp-s2k3-ocb-aes is)`,
    );
  }
  if (passphrase === undefined) {
    throw new InvalidArgumentError('the OpenPGP key is protected: give --sign-passphrase-file');
  }
  const [params, encrypted] = [prot[2] as Sexp[], prot[3] as Buffer];
  const [s2k, nonce] = [params[0] as Sexp[], params[1] as Buffer];
  if (nameOf(s2k[0]) !== 'sha1' || nonce.length !== 12 || encrypted.length < 16) {
    throw new InvalidArgumentError('corrupted key protection');
  }
  let count = Number((s2k[2] as Buffer).toString('latin1'));
  if (count < 256) count = (16 + (count & 15)) << ((count >> 4) + 6); // the old encoding
  const key = s2kSha1(passphrase, s2k[1] as Buffer, count, 16);
  // Associated data: the algorithm list as canonical bytes, without its protected part.
  const aad = canonicalSexp(algo.filter((_, i) => i !== protectedAt));
  const decipher = createDecipheriv('aes-128-ocb', key, nonce, { authTagLength: 16 });
  decipher.setAAD(aad);
  decipher.setAuthTag(encrypted.subarray(encrypted.length - 16));
  let clear: Buffer;
  try {
    clear = Buffer.concat([
      decipher.update(encrypted.subarray(0, encrypted.length - 16)),
      decipher.final(),
    ]);
  } catch {
    throw new InvalidArgumentError('wrong passphrase for the OpenPGP key');
  }
  // The clear text holds the list of the secret parameters: `(((d #..#)))`.
  let secret = parseSexp(clear);
  while (
    !Buffer.isBuffer(secret) &&
    secret.length === 1 &&
    !Buffer.isBuffer(secret[0]) &&
    !Buffer.isBuffer(secret[0]![0])
  ) {
    secret = secret[0]!;
  }
  if (Buffer.isBuffer(secret)) throw new InvalidArgumentError('corrupted key protection');
  return [...algo.filter((_, i) => i !== protectedAt), ...secret];
}
