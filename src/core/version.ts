/** The version of greenlet-ts (the `version` field of its package.json). */
export const version = '0.1.0';
