import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/**
 * A small file read whole, refused when it is not a regular file or is larger than any honest
 * one. Keys, credentials, config, key directories and the anchor log are read into one string;
 * a file that comes from someone else (a ledger's keys.json, a key directory) or is swapped for
 * a FIFO, a device or a huge file must get one line naming it, not a hang, an out-of-memory
 * crash or V8's string-length error, which names no file.
 *
 * At most `maxBytes` + 1 bytes are read whatever the file claimed when opened, so one that
 * grows past the bound while it is read is refused too. `refuse` makes the caller's error (its
 * setting name, its exit code) from the reason.
 */
export function readBoundedText(path: string, maxBytes: number, refuse: (reason: string) => Error): string {
  let fd: number;
  try {
    // Non-blocking: opening a FIFO to read waits for a writer, which would hang the process.
    // On a regular file the flag changes nothing; anything else is refused by the fstat below.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw refuse(`cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw refuse('is not a regular file');
    if (st.size > maxBytes) throw refuse(tooLarge(st.size, maxBytes));
    let buf = Buffer.allocUnsafe(Math.min(maxBytes, st.size) + 1);
    let got = 0;
    for (;;) {
      if (got === buf.length) {
        if (got > maxBytes) throw refuse(`grew past ${describeBytes(maxBytes)} while it was read`);
        const more = Buffer.allocUnsafe(Math.min(maxBytes + 1, buf.length * 2));
        buf.copy(more, 0, 0, got);
        buf = more;
      }
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) return buf.toString('utf8', 0, got);
      got += n;
    }
  } finally {
    closeSync(fd);
  }
}

function tooLarge(size: number, maxBytes: number): string {
  return `is ${describeBytes(size)}; at most ${describeBytes(maxBytes)} is read, and no honest file of this kind is near that`;
}

export function describeBytes(n: number): string {
  if (n >= 2 ** 20) return `${Number((n / 2 ** 20).toFixed(1))} MiB`;
  if (n >= 2 ** 10) return `${Number((n / 2 ** 10).toFixed(1))} KiB`;
  return `${n} bytes`;
}
