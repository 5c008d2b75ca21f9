export { NATS_ROLES, anchorStreamOf, assertUserSpec, inboxPrefixOf, permissionsFor, permits, siteKvBuckets, siteStreams, subjectMatches, type NatsPermissions, type NatsRole, type NatsUserSpec, type SubjectPermission } from './permissions.ts';
export { CACO_ACCOUNT, renderAccountsConf, type NatsUserEntry } from './server-config.ts';
export { describePermissionViolation, formatSeedFile, loadNatsCredentials, parseNatsCredentials, type NatsCredentials } from './credentials.ts';
export { ACCOUNTS_FILE, makeNatsCredentials, type MadeCredentials, type MadeUser, type MakeCredentialsOptions } from './make-credentials.ts';
