export * from './bots.js';
export * from './codeowners.js';
export * from './noreply.js';
export * from './owners.js';
export * from './mirror-files.js';
