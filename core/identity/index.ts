export { ENTRY_FORMAT, KEY_ID, PARTY, ROLES, checkNewKeyFields, principalOf, signEntry, verifyEntry, type KeyEntry, type Principal, type Role, type SignedKeyEntry } from './key-entry.ts';
export { KeyAdmin, KeyRegistry, KeyRegistryError, type BadEntry, type Lookup, type NewKey } from './key-registry.ts';
export { MemoryKeyRegistryStore, type KeyRegistryStore } from './registry-store.ts';
export { SqliteKeyRegistryStore } from './sqlite-registry-store.ts';
export { KvKeyRegistryStore, keyBucketName } from './kv-registry-store.ts';
export { authenticateCommand, commandSigningBytes, signCommandWith, type AuthRefusal, type AuthResult } from './command-signature.ts';
export { ADMIN_PARTY, SiteIdentity, localRole, type CommandIdentity } from './site-identity.ts';
export { KEY_FILE_FORMAT, newKeyFile, readKeyFile, signWithKey, writeKeyFile, type KeyFile, type LoadedKey } from './key-file.ts';
export { openRegistryStore, openSiteIdentity, type OpenIdentityOptions } from './open.ts';
