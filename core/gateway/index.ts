export { SiteGateway, defineQuery, eventIdFor, type GatewayEndpoint, type GatewayOptions, type GatewayQuery } from './gateway.ts';
export { ERROR_CODES, EXT_CATEGORY, EXT_TYPE_PREFIX, GATEWAY_PARTY, GATEWAY_SERVICE, OUTSIDE_FACT_PREFIX, extStreamOf, extTypePrefixOf, gatewaySubjects, refuse, typeFilter, typeMatches, type AnnounceReply, type AppendReply, type GatewayError, type GatewayErrorCode, type GatewayReply } from './protocol.ts';
export { serveAsServices, type DiscoverableService } from './discovery.ts';
export { ledgerKeysQuery } from './keys-query.ts';
