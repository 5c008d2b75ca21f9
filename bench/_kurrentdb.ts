/**
 * Where the runtime benchmark gets a KurrentDB from: CACO_KURRENTDB_URL if set, else a
 * container started with testcontainers when a Docker engine runs, else nothing — with the
 * reason, found at once (deploy/local/docker.ts looks at the socket before anything else).
 */
import { dockerAvailable } from '../deploy/local/index.ts';

export type KurrentDbTarget = { readonly url: string; stop(): Promise<void> } | { readonly skip: string };

export async function kurrentDbTarget(): Promise<KurrentDbTarget> {
  const given = process.env['CACO_KURRENTDB_URL'];
  if (given) return { url: given, stop: async () => undefined };
  const probe = await dockerAvailable();
  if (!probe.ok) return { skip: probe.reason.startsWith('no Docker engine') ? 'no Docker engine' : probe.reason };
  const { GenericContainer, Wait } = await import('testcontainers');
  const image = process.env['CACO_KURRENTDB_IMAGE'] || 'kurrentplatform/kurrentdb:latest';
  const c = await new GenericContainer(image)
    .withExposedPorts(2113)
    .withEnvironment({ KURRENTDB_CLUSTER_SIZE: '1', KURRENTDB_INSECURE: 'true', KURRENTDB_RUN_PROJECTIONS: 'None' })
    .withStartupTimeout(180_000)
    .withWaitStrategy(Wait.forHealthCheck())
    .start();
  return {
    url: `kurrentdb://${c.getHost()}:${c.getMappedPort(2113)}?tls=false`,
    stop: async () => {
      await c.stop();
    },
  };
}
