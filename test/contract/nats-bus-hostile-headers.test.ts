// test-file-timeout: 60
/**
 * A message whose header block nats.js cannot decode (a name with a space, say) is dropped and
 * reported, never thrown: nats.js decodes headers when `Msg.headers` is first read, the server
 * passes the bytes through, and the read sat outside every `try`, so one such message from
 * anyone who may publish on a subscribed subject ended the process (a helper's review).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcpConnect, type Socket } from 'node:net';
import { NatsBus } from '../../core/bus/nats-bus.ts';
import type { BusMessage, SubscribeOptions } from '../../core/bus/index.ts';
import { natsSkip, natsUrl, uniqueToken } from '../support/nats.ts';

const skip = await natsSkip();
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** A raw NATS client: what nats.js would refuse to send. */
async function rawClient(): Promise<Socket> {
  const [host, port] = natsUrl().replace(/^nats:\/\//, '').split(':');
  const s = tcpConnect({ host: host!, port: Number(port ?? 4222) });
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  s.on('data', () => undefined);
  s.write('CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true}\r\n');
  return s;
}

function hpub(s: Socket, subject: string, headerBlock: string, body: string): void {
  const h = Buffer.from(headerBlock, 'latin1');
  const b = Buffer.from(body);
  s.write(Buffer.concat([Buffer.from(`HPUB ${subject} ${h.length} ${h.length + b.length}\r\n`), h, b, Buffer.from('\r\n')]));
}

const BAD_HEADERS = ['NATS/1.0\r\nBad Key: 1\r\n\r\n', 'NATS/1.0\r\nK\u00e9y: 1\r\n\r\n', 'NATS/1.0\r\nA\u0001: x\r\n\r\n'];

describe('NatsBus: a message whose headers do not decode', { skip }, () => {
  const cases: Array<[string, SubscribeOptions | undefined]> = [
    ['a plain subscription', undefined],
    ['a bounded subscription (command intake)', { maxPending: 10 }],
  ];
  for (const [name, opts] of cases) {
    test(`${name}: is dropped and reported, and the messages after it are delivered`, async () => {
      const t = uniqueToken('hdr');
      const errors: Array<{ err: string; subject: string }> = [];
      const bus = await NatsBus.connect({ servers: natsUrl(), name: 'hostile-headers', onHandlerError: (err, msg) => void errors.push({ err: String(err), subject: msg.subject }) });
      const raw = await rawClient();
      try {
        const seen: string[] = [];
        const sub = await bus.subscribe(`${t}.in`, (m: BusMessage) => void seen.push(`${dec(m.data)}:${m.headers['Good'] ?? ''}`), opts);
        for (const [i, block] of BAD_HEADERS.entries()) hpub(raw, `${t}.in`, block, `bad-${i}`);
        hpub(raw, `${t}.in`, 'NATS/1.0\r\nGood: yes\r\n\r\n', 'good');
        const deadline = Date.now() + 5000;
        while (seen.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.deepEqual(seen, ['good:yes']);
        assert.equal(errors.length, BAD_HEADERS.length);
        for (const e of errors) {
          assert.equal(e.subject, `${t}.in`);
          assert.match(e.err, /headers do not decode/);
        }
        await sub.unsubscribe();
      } finally {
        raw.destroy();
        await bus.close();
      }
    });
  }

  test('a bounded subscription that sheds such a message reports it rather than throwing into nats.js', async () => {
    const t = uniqueToken('hdrshed');
    const errors: string[] = [];
    const shed: string[] = [];
    const bus = await NatsBus.connect({ servers: natsUrl(), name: 'hostile-headers-shed', onHandlerError: (err) => void errors.push(String(err)) });
    const raw = await rawClient();
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    try {
      const seen: string[] = [];
      // The handler holds the first message, so the next one waits and the rest are shed.
      const sub = await bus.subscribe(
        `${t}.in`,
        async (m) => {
          seen.push(dec(m.data));
          if (seen.length === 1) await held;
        },
        { maxPending: 1, onShed: (m) => void shed.push(dec(m.data)) },
      );
      hpub(raw, `${t}.in`, 'NATS/1.0\r\nGood: yes\r\n\r\n', 'first');
      hpub(raw, `${t}.in`, 'NATS/1.0\r\nGood: yes\r\n\r\n', 'second');
      hpub(raw, `${t}.in`, BAD_HEADERS[0]!, 'bad');
      hpub(raw, `${t}.in`, 'NATS/1.0\r\nGood: yes\r\n\r\n', 'third');
      const deadline = Date.now() + 5000;
      while (shed.length + errors.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      release();
      while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(seen, ['first', 'second']);
      assert.deepEqual(shed, ['third']);
      assert.equal(errors.length, 1);
      assert.match(errors[0]!, /headers do not decode/);
      await sub.unsubscribe();
    } finally {
      release();
      raw.destroy();
      await bus.close();
    }
  });
});
