import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../../src/errors/index.js';
import {
  canonicalSexp,
  field,
  keyFileSexp,
  parseSexp,
  unprotectKey,
} from '../../../src/trust/gpg-sexp.js';

describe('gpg-agent key S-expressions', () => {
  it('reads the advanced and the canonical form alike', () => {
    const advanced = parseSexp(
      Buffer.from(
        '(private-key (ecc (curve Ed25519)(flags eddsa)(q #40AB#) (d |AAE=|) (c "a\\"b")))',
      ),
    );
    const canonical = Buffer.from(
      '(11:private-key(3:ecc(5:curve7:Ed25519)(5:flags5:eddsa)(1:q2:\x40\xab)(1:d2:\x00\x01)(1:c3:a"b)))',
      'latin1',
    );
    assert.deepEqual(canonicalSexp(advanced), canonical);
    assert.deepEqual(parseSexp(canonical), advanced);
    const algo = (advanced as Buffer[][])[1]!;
    assert.deepEqual(field(algo, 'q'), [Buffer.from([0x40, 0xab])]);
    assert.equal(field(algo, 'x'), undefined);
  });

  it('reads the Key: field of the extended format across continuation lines', () => {
    const file = Buffer.from(
      'Created: 20261203T144900\nKey: (private-key (ecc (curve Ed25519)(q\n  #40AB#)\n  (d #0102#)))\nDescription: x\n',
    );
    const sexp = keyFileSexp(file);
    const algo = unprotectKey(sexp, undefined);
    assert.deepEqual(field(algo, 'd'), [Buffer.from([1, 2])]);
  });

  it('refuses broken input and keys it cannot unlock, with a message', () => {
    assert.throws(() => parseSexp(Buffer.from('(a (b')), InvalidArgumentError);
    assert.throws(() => parseSexp(Buffer.from('(9:ab)')), /atom past the end/);
    assert.throws(
      () => unprotectKey(parseSexp(Buffer.from('(shadowed-private-key (ecc (q #40#)))')), 'x'),
      /on a smartcard/,
    );
    const cbc =
      '(protected-private-key (rsa (n #01#) (protected openpgp-s2k3-sha1-aes-cbc ((sha1 #0102030405060708# "65536") #00#) #00#)))';
    assert.throws(
      () => unprotectKey(parseSexp(Buffer.from(cbc)), 'x'),
      /protection openpgp-s2k3-sha1-aes-cbc is not supported/,
    );
    const ocb =
      '(protected-private-key (ecc (q #40#) (protected openpgp-s2k3-ocb-aes ((sha1 #0102030405060708# "65536") #000102030405060708090a0b#) #00112233445566778899aabbccddeeff0011#)))';
    assert.throws(
      () => unprotectKey(parseSexp(Buffer.from(ocb)), undefined),
      /give --sign-passphrase-file/,
    );
    assert.throws(() => unprotectKey(parseSexp(Buffer.from(ocb)), 'x'), /wrong passphrase/);
  });

  it('reads strings as libgcrypt prints them: raw high bytes, C escapes, continuations', () => {
    const printed = Buffer.concat([
      Buffer.from('(s "a\\n\\t\\x7f\\101\\"\\\\', 'latin1'),
      Buffer.from([0xa5, 0xed]),
      Buffer.from('b\\\nc")', 'latin1'),
    ]);
    assert.deepEqual(parseSexp(printed), [
      Buffer.from('s'),
      Buffer.from([0x61, 10, 9, 0x7f, 0x41, 0x22, 0x5c, 0xa5, 0xed, 0x62, 0x63]),
    ]);
    assert.throws(() => parseSexp(Buffer.from('"\\xzz"')), /bad \\x escape/);
  });

  it('unlocks a key gpg wrote with its salt printed as a string of raw bytes', () => {
    // GnuPG 2.2.40 made this key (passphrase "pass word"); its S2K salt came out as a
    // quoted string holding bytes above 0xa0, which a UTF-8 reading of the file mangled.
    const file = Buffer.from(
      'Q3JlYXRlZDogMjAyNjEyMDNUMTcyMTE3CktleTogKHByb3RlY3RlZC1wcml2YXRlLWtleSAoZWNjIChj' +
        'dXJ2ZSBFZDI1NTE5KShmbGFncyBlZGRzYSkocQogICM0MDJBOUEyNEI3REYyRkI4MjI3OTYyQ0FGMzhD' +
        'QTgxNzhBOTU2RjlFREM4MjUwRDEzMDIwQjc5RTM5Mzc5MEZFRDYjKQogKHByb3RlY3RlZCBvcGVucGdw' +
        'LXMyazMtb2NiLWFlcyAoKHNoYTEgIn2lXu116zPPIgogICIzNDU2MjQ1NzYiKSMzMDNCMjRDQzc0QzZE' +
        'MjEyNjlFRkU2N0YjKSNGRkNEMjBDOUJCMDc0NTU0Qzc5RUJENDk3MzFBNQogMTU2OTg4NjBEMDBCQUE5' +
        'MkQyM0RFRDYxQTQwQjc3MEIwRDUyOUVBRTYyRTlFQjkxMThBMzY4RTNBNUFBQzhGNzc1RDk5QQogMTcz' +
        'RjFBOTRCNzc5NDlCOTQ5ODY5IykocHJvdGVjdGVkLWF0ICIyMDI2MTIwM1QxNzIxMTciKSkpCg==',
      'base64',
    );
    assert.ok(file.includes(Buffer.from([0xa5])));
    const algo = unprotectKey(keyFileSexp(file), 'pass word');
    assert.equal(field(algo, 'd')?.[0]?.length, 32);
    assert.throws(() => unprotectKey(keyFileSexp(file), 'pass wort'), /wrong passphrase/);
  });
});
