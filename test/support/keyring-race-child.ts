/**
 * One of several processes making keys in one key folder at once (file-keyring.test.ts):
 * waits for `<dir>/go`, makes `n` keys of its own and the one every process shares, and
 * prints the shared key's public half as it signs with it.
 */
import { existsSync } from 'node:fs';
import { FileKeyring } from '../../core/ledger/keyring.ts';

const [dir, me, n] = process.argv.slice(2) as [string, string, string];
const deadline = Date.now() + 90_000;
while (!existsSync(`${dir}/go`)) {
  if (Date.now() > deadline) process.exit(3);
  await new Promise((r) => setTimeout(r, 1));
}
const k = new FileKeyring(dir);
for (let i = 0; i < Number(n); i++) k.sign(`${me}-${i}`, new Uint8Array(1));
k.sign('shared', new Uint8Array(1));
process.stdout.write(k.publicKeys()['shared'] ?? '');
