/**
 * A fetched response's body as text (UTF-8, as `Response.text()` decodes it), or undefined, with
 * the rest left unread, once it is longer than `maxBytes`: an endless answer from the other side
 * must not be buffered until the timeout.
 */
export async function readBoundedResponseText(res: Response, maxBytes: number): Promise<string | undefined> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    return declared > maxBytes ? undefined : '';
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}
