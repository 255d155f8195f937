/** The phone side, for the `sealbell phone …` commands and the demo. */
export { phoneInit, type PhoneInitOptions, type PhoneInitResult } from './init.js';
export { phoneSetup, type PhoneSetupArgs } from './setup.js';
export { phoneEnroll, type PhoneEnrollArgs, type PhoneEnrollResult, type RosterUpdate } from './enroll.js';
export { phoneRevoke, type PhoneRevokeArgs } from './revoke.js';
export { runPhoneSetup, type SetupTransport, type PhoneSetupOutcome } from './setup-client.js';
export { httpSetupTransport } from './http-transport.js';
export { openEscrow, sealEscrow, normalizePassphrase } from './escrow.js';
export { readPhone, unlockAccount, readAuthorityPub, readRoster, listDevices } from './state.js';
export { accountIdFor, endorseDevice, checkEndorsement, uploadEscrow, registerOnRelay, phoneLogin, enrollFromRelay, revokeOnRelay, unlockCurrentAccount, pqUpgradeOnRelay, type RevokeOutcome } from './relay-sync.js';
export { ackedRoster, editBase, confirmUpdates, describeConfirmations, type AckedRoster, type Confirmation } from './roster-sync.js';
export { phoneStatus, describeStatus, type DoorbellStatus } from './status.js';
export { phonePqUpgrade, type PhonePqUpgradeArgs, type PhonePqUpgradeResult } from './pq-upgrade.js';
