import assert from 'node:assert/strict';
import { readSync, writeSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  closeFd,
  createPipe,
  receivePacket,
  sendPacketWaiting,
  seqpacketPair,
  setPipeSize,
  shutdownSocket,
  socketType,
  trySendPacket,
} from '../../../src/native/socket.js';

describe('packet sockets and pipes through koffi', { skip: process.platform !== 'linux' }, () => {
  it('keeps packet boundaries and reports the full length of a cut packet', async () => {
    const [a, b] = seqpacketPair();
    try {
      assert.equal(socketType(a), 'seqpacket');
      assert.ok(trySendPacket(a, Buffer.from('first'), []));
      assert.ok(trySendPacket(a, Buffer.from('x'.repeat(100)), []));
      const buffer = Buffer.alloc(64);
      assert.equal(await receivePacket(b, buffer), 5);
      assert.equal(buffer.subarray(0, 5).toString(), 'first');
      assert.equal(await receivePacket(b, buffer), 100, 'the real length, past the buffer');
      assert.equal(buffer.toString(), 'x'.repeat(64));
    } finally {
      closeFd(a);
      closeFd(b);
    }
  });

  it('passes a pipe read end with a packet (SCM_RIGHTS), then closes its own copy', async () => {
    const [a, b] = seqpacketPair();
    const pipe = createPipe();
    try {
      assert.ok(trySendPacket(a, Buffer.from('{}'), [pipe.read]));
      closeFd(pipe.read);
      // The receiving side has the fd now: the pipe is still open for the writer.
      writeSync(pipe.write, 'through the pipe');
      assert.equal(await receivePacket(b, Buffer.alloc(16)), 2);
    } finally {
      closeFd(pipe.write);
      closeFd(a);
      closeFd(b);
    }
  });

  it('waits on a worker thread when the socket is full, and wakes a blocked recv on shutdown', async () => {
    const [a, b] = seqpacketPair();
    try {
      const packet = Buffer.alloc(16 * 1024, 1);
      let sent = 0;
      while (trySendPacket(a, packet, [])) sent++;
      assert.ok(sent > 0, 'some packets fit before EAGAIN');
      const waiting = sendPacketWaiting(a, packet, []);
      const buffer = Buffer.alloc(packet.length);
      for (let i = 0; i <= sent; i++) assert.equal(await receivePacket(b, buffer), packet.length);
      await waiting;
      const blocked = receivePacket(b, buffer);
      shutdownSocket(b);
      assert.equal(await blocked, 0, 'end of input');
    } finally {
      closeFd(a);
      closeFd(b);
    }
  });

  it('grows a pipe and refuses what is not a socket with an errno error', () => {
    const pipe = createPipe();
    try {
      // 1 MiB is the default pipe-max-size; the kernel may grant it rounded, or refuse.
      const granted = setPipeSize(pipe.write, 1 << 20) ?? 64 * 1024;
      assert.ok(granted >= 64 * 1024);
      const big = Buffer.alloc(granted, 7);
      assert.equal(writeSync(pipe.write, big), big.length, 'fits without a reader');
      assert.equal(readSync(pipe.read, Buffer.alloc(10)), 10);
      assert.throws(() => socketType(pipe.read), { code: 'ENOTSOCK', syscall: 'getsockopt' });
    } finally {
      closeFd(pipe.read);
      closeFd(pipe.write);
    }
  });
});
