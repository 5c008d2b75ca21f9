import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { truncateText as cut } from '../runtime/input-limits.ts';
import { JOB_ID_PATTERN } from '../../schemas/index.ts';

/** A refusal as an HTTP client of the site sees it: the same shape as a refused command reply. */
export const httpRefusal = (reason: string): { ok: false; error: { reason: string } } => ({ ok: false, error: { reason } });

/**
 * Fastify's `frameworkErrors`: a path the router cannot take (bad percent-encoding, a part over
 * its length limit) answered in the site's refusal shape, not Fastify's own body, which echoes
 * the path back.
 */
export function frameworkErrorRefusal(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
  return reply.code(tooLong ? 414 : 400).send(httpRefusal(tooLong ? 'path refused: a part of it is longer than the site reads' : 'path refused: it is not a valid URL (bad percent-encoding)'));
}

/** A not-found handler in the refusal shape, naming what the server does serve. */
export function notFoundRefusal(served: string): (req: FastifyRequest, reply: FastifyReply) => FastifyReply {
  return (req, reply) => reply.code(404).send(httpRefusal(`no such endpoint: ${cut(req.method, 16)} "${cut(req.url.split('?')[0] ?? '', 64)}"; the site serves ${served}`));
}

/** A job id in a path (GET /jobs/:id, the dashboard's explain) that no job can have, refused by name; undefined when it is one. */
export function jobIdParamRefusal(id: string): { ok: false; error: { reason: string } } | undefined {
  return JOB_ID_PATTERN.test(id) ? undefined : httpRefusal(`jobId: ${JSON.stringify(cut(id, 64))} is not a job id (1 to 128 letters, digits, "_", ":" or "-")`);
}
