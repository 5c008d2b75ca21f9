import { MemoryBus } from '../../core/bus/memory-bus.ts';
import { NatsBus } from '../../core/bus/nats-bus.ts';
import { busContract } from './bus-contract.ts';
import { natsSkip, natsUrl } from '../support/nats.ts';
import { describe } from 'node:test';

busContract('MemoryBus', async (opts) => new MemoryBus(opts?.onHandlerError ? { onHandlerError: opts.onHandlerError } : {}));

const skip = await natsSkip();
if (skip) describe('Bus contract: NatsBus', { skip }, () => undefined);
else busContract('NatsBus', async (opts) => NatsBus.connect({ servers: natsUrl(), name: 'caco-bus-contract', ...(opts?.onHandlerError ? { onHandlerError: opts.onHandlerError } : {}) }));
