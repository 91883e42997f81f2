import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';

/**
 * A test GnuPG home: `gpg` runs in it in batch mode (passphrases from the command line),
 * `newKey` makes an Ed25519 signing key and returns its fingerprint, `stop` ends the
 * gpg-agent gpg started there (call it in `after`, so the test file ends by itself).
 */
export interface TestGnupgHome {
  home: string;
  gpg(args: string[], passphrase?: string): Promise<Buffer>;
  newKey(uid: string, passphrase?: string): Promise<string>;
  stop(): Promise<void>;
}

export async function testGnupgHome(home: string): Promise<TestGnupgHome> {
  await mkdir(home, { mode: 0o700, recursive: true });
  const env = { ...process.env, GNUPGHOME: home };
  const gpg = (args: string[], passphrase = ''): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      execFile(
        'gpg',
        ['--batch', '--pinentry-mode', 'loopback', '--passphrase', passphrase, ...args],
        { env, encoding: 'buffer', timeout: 120_000 },
        (err, stdout, stderr) =>
          err ? reject(new Error(`gpg ${args.join(' ')}: ${stderr}`)) : resolve(stdout),
      );
    });
  return {
    home,
    gpg,
    async newKey(uid, passphrase = '') {
      await gpg(['--quick-gen-key', uid, 'ed25519', 'sign', 'never'], passphrase);
      const list = (await gpg(['--list-keys', '--with-colons', uid])).toString();
      const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(list)?.[1];
      if (!fpr) throw new Error(`gpg made no key for ${uid}`);
      return fpr;
    },
    stop: () =>
      new Promise<void>((resolve) =>
        execFile('gpgconf', ['--kill', 'all'], { env, timeout: 60_000 }, () => resolve()),
      ),
  };
}
